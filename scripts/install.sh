#!/usr/bin/env bash
# Installs mptcp-policyd the way a distribution package lays it out.
#
#   scripts/install.sh [--no-build]
#
# Environment (like a packager's make install):
#   DESTDIR=        staging root (default: empty = the real system; needs root)
#   PREFIX=/usr     binaries in $PREFIX/bin, data in $PREFIX/share, units in
#                   $PREFIX/lib/systemd/system; D-Bus and polkit only look in
#                   /usr/share, so keep /usr unless you know why
#   SYSCONFDIR=/etc the administrator's policy: $SYSCONFDIR/mptcp-policyd/
#   BIN_DIR=        where the built binaries and libmptcp_preload.so are
#                   (default: the cargo target dir's release/); --no-build
#                   fails when they are missing
#
# Every installed path is recorded in $PREFIX/share/mptcp-policyd/installed-files
# so scripts/uninstall.sh removes exactly what this put. The default policy
# $SYSCONFDIR/mptcp-policyd/policy.toml is only written when absent and is
# kept by uninstall (unless --purge). The NetworkManager hook and drop-in go
# to $SYSCONFDIR/NetworkManager/{dispatcher.d,conf.d}/ (removed by uninstall).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/usr}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
bindir="$PREFIX/bin"
datadir="$PREFIX/share"
unitdir="$PREFIX/lib/systemd/system"
# The LD_PRELOAD library (mptcp-policyctl run / enable UNIT look here).
pkglibdir="$PREFIX/lib/mptcp-policyd"
sysusersdir="$PREFIX/lib/sysusers.d"
docdir="$datadir/doc/mptcp-policyd"
pkgdatadir="$datadir/mptcp-policyd"
manifest="$pkgdatadir/installed-files"

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: installing into / needs root (or set DESTDIR=)" >&2
  exit 1
fi

# --- binaries -----------------------------------------------------------
if [ -z "${BIN_DIR:-}" ]; then
  BIN_DIR="${CARGO_TARGET_DIR:-$here/target}/release"
fi
if [ ! -x "$BIN_DIR/mptcp-policyd" ] || [ ! -x "$BIN_DIR/mptcp-policyctl" ] ||
  [ ! -x "$BIN_DIR/mptcp-policy-panel" ] || [ ! -f "$BIN_DIR/libmptcp_preload.so" ]; then
  if [ "$build" -eq 0 ]; then
    echo "install.sh: $BIN_DIR/mptcp-policyd, mptcp-policyctl, mptcp-policy-panel or libmptcp_preload.so missing (--no-build)" >&2
    exit 1
  fi
  echo "install.sh: building release binaries"
  (cd "$here" && LOCALEDIR="$datadir/locale" cargo build --release \
    -p mptcp-policyd -p mptcp-policyctl -p mptcp-policy-panel -p mptcp-preload)
fi

# --- helpers --------------------------------------------------------------
installed=()
# put MODE SRC DEST: installs one file and records it.
put() {
  install -D -m "$1" "$2" "$DESTDIR$3"
  installed+=("$3")
  echo "  $3"
}
# put_output MODE DEST CMD...: installs what CMD prints; a warning, not a
# failure, when CMD fails (older mptcp-policyctl without that subcommand).
put_output() {
  local mode="$1" dest="$2" tmp
  shift 2
  tmp="$(mktemp)"
  if "$@" >"$tmp" 2>/dev/null && [ -s "$tmp" ]; then
    put "$mode" "$tmp" "$dest"
  else
    echo "install.sh: warning: '$(basename "$1") ${*:2}' failed; $dest not installed" >&2
  fi
  rm -f "$tmp"
}

echo "installing into ${DESTDIR:-/} (PREFIX=$PREFIX):"
if [ "$PREFIX" = /usr ]; then
  unit_src="$here/systemd/mptcp-policyd.service"
else
  unit_src="$(mktemp)"
  sed "s|^ExecStart=/usr/bin/|ExecStart=$bindir/|" \
    "$here/systemd/mptcp-policyd.service" >"$unit_src"
fi

put 0755 "$BIN_DIR/mptcp-policyd" "$bindir/mptcp-policyd"
put 0755 "$BIN_DIR/mptcp-policyctl" "$bindir/mptcp-policyctl"
put 0755 "$BIN_DIR/mptcp-policy-panel" "$bindir/mptcp-policy-panel"
put 0644 "$BIN_DIR/libmptcp_preload.so" "$pkglibdir/libmptcp_preload.so"
put 0644 "$unit_src" "$unitdir/mptcp-policyd.service"
put 0644 "$here/systemd/mptcp-policyd.sysusers" "$sysusersdir/mptcp-policyd.conf"
put 0644 "$here/dbus/org.mptcp.Policy1.conf" "$datadir/dbus-1/system.d/org.mptcp.Policy1.conf"
put 0644 "$here/dbus/org.mptcp.Policy1.service" "$datadir/dbus-1/system-services/org.mptcp.Policy1.service"
put 0644 "$here/dbus/org.mptcp.Policy1.xml" "$datadir/dbus-1/interfaces/org.mptcp.Policy1.xml"
put 0644 "$here/polkit/org.mptcp.policy.policy" "$datadir/polkit-1/actions/org.mptcp.policy.policy"
put 0644 "$here/polkit/50-mptcp-policy.rules.example" "$docdir/50-mptcp-policy.rules.example"
# NetworkManager: the dispatcher hook (hands events to the daemon) and the
# drop-in that turns NetworkManager's own MPTCP endpoints off.
put 0755 "$here/networkmanager/dispatcher.d/90-mptcp-policyd" \
  "$SYSCONFDIR/NetworkManager/dispatcher.d/90-mptcp-policyd"
put 0644 "$here/networkmanager/conf.d/90-mptcp-policyd.conf" \
  "$SYSCONFDIR/NetworkManager/conf.d/90-mptcp-policyd.conf"
[ "$PREFIX" = /usr ] || rm -f "$unit_src"

# The panel: desktop entry (with its translations merged in when msgfmt is
# there), AppStream metainfo, icon, message catalogues.
app=org.mptcp.PolicyPanel
podir="$here/gui/po"
desktop_src="$here/gui/data/$app.desktop"
if command -v msgfmt >/dev/null; then
  tmp="$(mktemp)"
  msgfmt --desktop --template="$desktop_src" -d "$podir" -o "$tmp"
  put 0644 "$tmp" "$datadir/applications/$app.desktop"
  rm -f "$tmp"
  while read -r lang; do
    [ -n "$lang" ] || continue
    tmp="$(mktemp)"
    msgfmt --check -o "$tmp" "$podir/$lang.po"
    put 0644 "$tmp" "$datadir/locale/$lang/LC_MESSAGES/mptcp-policy-panel.mo"
    rm -f "$tmp"
  done <"$podir/LINGUAS"
else
  echo "install.sh: warning: msgfmt (gettext) missing; the panel is installed untranslated" >&2
  put 0644 "$desktop_src" "$datadir/applications/$app.desktop"
fi
put 0644 "$here/gui/data/$app.metainfo.xml" "$datadir/metainfo/$app.metainfo.xml"
put 0644 "$here/gui/data/$app.svg" "$datadir/icons/hicolor/scalable/apps/$app.svg"

ctl="$BIN_DIR/mptcp-policyctl"
put_output 0644 "$datadir/man/man1/mptcp-policyctl.1" "$ctl" man
put_output 0644 "$datadir/man/man8/mptcp-policyd.8" "$BIN_DIR/mptcp-policyd" --man
put_output 0644 "$datadir/man/man1/mptcp-policy-panel.1" "$BIN_DIR/mptcp-policy-panel" --man
put 0644 "$here/policy/mptcp-policyd.toml.5" "$datadir/man/man5/mptcp-policyd.toml.5"
put_output 0644 "$datadir/bash-completion/completions/mptcp-policyctl" "$ctl" completions bash
put_output 0644 "$datadir/zsh/vendor-completions/_mptcp-policyctl" "$ctl" completions zsh
put_output 0644 "$datadir/fish/vendor_completions.d/mptcp-policyctl.fish" "$ctl" completions fish

# The administrator's policy: the example from DESIGN.md, never overwritten.
policy="$SYSCONFDIR/mptcp-policyd/policy.toml"
if [ -e "$DESTDIR$policy" ]; then
  echo "  $policy exists, kept"
else
  install -d -m 0755 "$DESTDIR$SYSCONFDIR/mptcp-policyd"
  install -m 0644 "$here/policy/policy.example.toml" "$DESTDIR$policy"
  echo "  $policy"
fi

# The manifest lists itself last, so uninstall removes it too.
install -d -m 0755 "$DESTDIR$pkgdatadir"
{
  printf '%s\n' "${installed[@]}"
  printf '%s\n' "$manifest"
} >"$DESTDIR$manifest"
chmod 0644 "$DESTDIR$manifest"
echo "  $manifest"

# --- activate on a live system -------------------------------------------
if [ -z "$DESTDIR" ]; then
  if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$sysusersdir/mptcp-policyd.conf"
  elif ! getent passwd mptcp-policyd >/dev/null; then
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin \
      --user-group mptcp-policyd
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "start it with: systemctl enable --now mptcp-policyd"
  fi
  # dbus-daemon and polkitd watch their directories; nothing to reload.
  if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$datadir/icons/hicolor" || true
  fi
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$datadir/applications" || true
  fi
  if command -v nmcli >/dev/null && nmcli -t -f RUNNING general 2>/dev/null | grep -q running; then
    nmcli general reload conf && echo "NetworkManager reloaded its configuration (reconnect to apply the drop-in)"
  fi
fi
