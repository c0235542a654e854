#!/usr/bin/env bash
# Installs the Debian 12 packages the tests and the demo need (idempotent).
set -euo pipefail
need=(iproute2 nftables iptables iputils-ping procps pkg-config dbus polkitd util-linux passwd systemd
  # the GTK panel: build (GTK 4.8, libadwaita 1.2), run under Xvfb, screenshots,
  # translations, desktop-file and AppStream checks
  libgtk-4-dev libadwaita-1-dev xvfb xauth imagemagick gettext desktop-file-utils appstream)
# The daemon's BPF object (clang -target bpf, libbpf's headers) and the
# libbpf that libbpf-sys builds from source (make, libelf and zlib headers).
need+=(clang libbpf-dev linux-libc-dev libelf-dev zlib1g-dev make)
# The unmodified client/server of the preload tests (/usr/bin/python3).
need+=(python3)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
