#!/usr/bin/env bash
# Removes what scripts/install.sh installed.
#
#   scripts/uninstall.sh [--purge]
#
# Same environment as install.sh (DESTDIR=, PREFIX=/usr, SYSCONFDIR=/etc).
# Removes exactly the files listed in $PREFIX/share/mptcp-policyd/installed-files.
# The administrator's policy ($SYSCONFDIR/mptcp-policyd/) and the daemon's
# state (/var/lib/mptcp-policyd: ownership, usage, the D-Bus policy layer)
# are kept unless --purge is given. The system user stays (as distributions
# do: files owned by its uid may remain).
set -euo pipefail

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/usr}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
datadir="$PREFIX/share"
pkgdatadir="$datadir/mptcp-policyd"
manifest="$pkgdatadir/installed-files"

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: removing from / needs root (or set DESTDIR=)" >&2
  exit 1
fi
if [ ! -f "$DESTDIR$manifest" ] && [ "$purge" -eq 0 ]; then
  echo "uninstall.sh: $DESTDIR$manifest not found: nothing installed with PREFIX=$PREFIX" >&2
  exit 1
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now mptcp-policyd.service 2>/dev/null || true
fi

# Services put on MPTCP with "mptcp-policyctl enable UNIT" name the preload
# library; their drop-ins are the administrator's to remove (ld.so only
# warns about a missing preload library, the services keep working).
for f in "$DESTDIR$SYSCONFDIR"/systemd/system/*.d/50-mptcp.conf; do
  [ -f "$f" ] && head -n1 "$f" | grep -q '^# Written by mptcp-policyctl enable' || continue
  unit="$(basename "$(dirname "$f")" .d)"
  echo "uninstall.sh: note: $unit still loads the preload library ($f);" \
    "'mptcp-policyctl disable $unit' removes it" >&2
done

echo "removing from ${DESTDIR:-/} (PREFIX=$PREFIX):"
files=()
[ -f "$DESTDIR$manifest" ] && mapfile -t files <"$DESTDIR$manifest"
for f in "${files[@]}"; do
  case "$f" in
    /*) ;;
    *) echo "uninstall.sh: skipping odd manifest entry: $f" >&2; continue ;;
  esac
  if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then
    rm -f -- "$DESTDIR$f"
    echo "  $f"
  fi
done
# Directories only this package uses, when empty.
for d in "$pkgdatadir" "$datadir/doc/mptcp-policyd" "$PREFIX/lib/mptcp-policyd"; do
  rmdir --ignore-fail-on-non-empty "$DESTDIR$d" 2>/dev/null || true
done

if [ -z "$DESTDIR" ]; then
  if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$datadir/icons/hicolor" 2>/dev/null || true
  fi
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$datadir/applications" 2>/dev/null || true
  fi
fi

if [ "$purge" -eq 1 ]; then
  rm -rf -- "$DESTDIR$SYSCONFDIR/mptcp-policyd" "$DESTDIR/var/lib/mptcp-policyd"
  echo "  $SYSCONFDIR/mptcp-policyd/ (purged)"
  echo "  /var/lib/mptcp-policyd/ (purged)"
else
  echo "kept: $SYSCONFDIR/mptcp-policyd/ and /var/lib/mptcp-policyd/ (use --purge to remove)"
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
