#!/usr/bin/env bash
# Builds the Debian packages into target/debian/:
#   mptcp-policyd_VERSION_ARCH.deb       daemon, mptcp-policyctl, preload library,
#                                        unit, sysusers, bus policy + activation,
#                                        polkit actions, NetworkManager hook and
#                                        drop-in, man pages, shell completions
#   mptcp-policy-panel_VERSION_ARCH.deb  the GTK4 panel, desktop file, AppStream
#                                        metainfo, icon, translations
#
#   scripts/package.sh [--no-build] [--lint]
#
# --no-build  package the binaries already built (target/release/, and the
#             daemon scripts/build-daemon.sh builds: size-optimised, static
#             PIE, its running code side by side)
# --lint      run lintian on the packages afterwards (fails on errors)
#
# Needs cargo-deb (installed with `cargo install --locked cargo-deb` when
# missing), gettext (msgfmt) and, for --lint, lintian. See the README
# ("Debian packages") for why cargo-deb and not dh-cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
build=1
lint=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --lint) lint=1 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "package.sh: installing cargo-deb $CARGO_DEB_VERSION"
  cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi
command -v msgfmt >/dev/null || { echo "package.sh: msgfmt missing (apt-get install gettext)" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$here/target}"
release="$target/release"
if [ "$build" -eq 1 ]; then
  # The panel finds its catalogues where the package puts them.
  LOCALEDIR=/usr/share/locale cargo build --release --locked \
    -p mptcp-policyctl -p mptcp-policy-panel -p mptcp-preload
  # The daemon runs all day on phones and laptops: built for a small footprint.
  daemon="$(scripts/build-daemon.sh --quiet)"
else
  daemon="$(scripts/build-daemon.sh --path)"
fi
for f in "$daemon" "$release/mptcp-policyctl" "$release/mptcp-policy-panel" \
  "$release/libmptcp_preload.so"; do
  [ -e "$f" ] || { echo "package.sh: $f missing (run without --no-build)" >&2; exit 1; }
done

# Generated assets (paths named in service/Cargo.toml and gui/Cargo.toml).
staging="$here/packaging/staging"
rm -rf "$staging"
mkdir -p "$staging/bin" "$staging/man" "$staging/completions" "$staging/panel" "$staging/locale"
# cargo-deb strips only what it finds in target/release/: the daemon is
# stripped here, the way cargo-deb does it.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  -o "$staging/bin/mptcp-policyd" "$daemon"
gz() { gzip -9n >"$1"; } # reproducible: no name, no time stamp
"$daemon" --man | gz "$staging/man/mptcp-policyd.8.gz"
"$release/mptcp-policyctl" man | gz "$staging/man/mptcp-policyctl.1.gz"
"$release/mptcp-policy-panel" --man | gz "$staging/man/mptcp-policy-panel.1.gz"
gz "$staging/man/mptcp-policyd.toml.5.gz" <policy/mptcp-policyd.toml.5
"$release/mptcp-policyctl" completions bash >"$staging/completions/mptcp-policyctl"
"$release/mptcp-policyctl" completions zsh >"$staging/completions/_mptcp-policyctl"
"$release/mptcp-policyctl" completions fish >"$staging/completions/mptcp-policyctl.fish"
msgfmt --desktop --template=gui/data/org.mptcp.PolicyPanel.desktop -d gui/po \
  -o "$staging/panel/org.mptcp.PolicyPanel.desktop"
while read -r lang; do
  [ -n "$lang" ] || continue
  mkdir -p "$staging/locale/$lang/LC_MESSAGES"
  msgfmt --check -o "$staging/locale/$lang/LC_MESSAGES/mptcp-policy-panel.mo" "gui/po/$lang.po"
  grep -q "staging/locale/$lang/LC_MESSAGES/" gui/Cargo.toml ||
    { echo "package.sh: gui/Cargo.toml has no asset for the $lang catalogue (gui/po/LINGUAS)" >&2; exit 1; }
done <gui/po/LINGUAS

out="$target/debian"
mkdir -p "$out"
rm -f "$out"/mptcp-policyd_*.deb "$out"/mptcp-policy-panel_*.deb
cargo deb --no-build --strip -p mptcp-policyd -o "$out" >/dev/null
cargo deb --no-build --strip -p mptcp-policy-panel -o "$out" >/dev/null
ls -1 "$out"/*.deb

if [ "$lint" -eq 1 ]; then
  # No tag is suppressed; the warnings that stay and why: README,
  # "Debian packages" (tests/tests/deb_lintian.rs keeps that list honest).
  lintian --fail-on error --tag-display-limit 0 "$out"/*.deb
fi
