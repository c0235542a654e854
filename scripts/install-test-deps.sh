#!/usr/bin/env bash
# Installs the Debian 12 packages the tests and the demo need (idempotent).
set -euo pipefail
need=(iproute2 nftables iptables iputils-ping procps pkg-config dbus polkitd util-linux passwd systemd
  # the GTK panel: build (GTK 4.8, libadwaita 1.2), run under Xvfb, screenshots,
  # translations, desktop-file and AppStream checks
  libgtk-4-dev libadwaita-1-dev xvfb xauth imagemagick gettext desktop-file-utils appstream)
# The daemon's BPF object (clang -target bpf, libbpf's headers) and the
# libbpf that libbpf-sys builds from source (make, libelf and zlib headers);
# the packaged daemon is a static PIE (scripts/build-daemon.sh: libc6-dev,
# libelf-dev and zlib1g-dev ship the static libraries).
need+=(clang libbpf-dev linux-libc-dev libc6-dev libelf-dev zlib1g-dev make)
# Budgets count days in local time: the zone files (localtime tests).
need+=(tzdata)
# The unmodified client/server of the preload tests (/usr/bin/python3).
need+=(python3)
# NetworkManager tests: real NetworkManager in a test namespace, dnsmasq for DHCP.
need+=(network-manager dnsmasq-base)
# The Debian packages (scripts/package.sh: man pages are gzipped, lintian
# checks them) and the booted-system tests: a Debian 12 root made by
# mmdebstrap, booted by systemd-nspawn.
need+=(lintian mmdebstrap systemd-container man-db groff-base)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# network-manager's postinst runs `addgroup --system netdev`, which fails when
# a plain (non-system) netdev group exists — the polkit tests' `groupadd -f
# netdev` makes one. Give such a group a free system gid first.
netdev_gid=$(getent group netdev | cut -d: -f3 || true)
if [ -n "$netdev_gid" ] && [ "$netdev_gid" -ge 1000 ]; then
  for g in $(seq 999 -1 100); do
    if ! getent group "$g" >/dev/null; then groupmod -g "$g" netdev; break; fi
  done
fi
if dpkg-query -W -f='${Status}' network-manager 2>/dev/null | grep -q "half-configured\|unpacked"; then
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The tests run NetworkManager only inside their own namespaces: on a host
  # with systemd, keep the freshly installed service from starting and
  # taking over the host's interfaces (policy-rc.d 101 = "not now").
  guard=""
  if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" || { [ -z "$guard" ] || rm -f "$guard"; exit 1; }
  [ -z "$guard" ] || rm -f "$guard"
fi
