#!/usr/bin/env bash
# Regenerates po/mptcp-policy-panel.pot from the files in po/POTFILES
# (Rust sources through xgettext's C parser with the gettext/ngettext
# keywords, .ui templates and the .desktop file natively), then merges it
# into every po/<lang>.po. Run from anywhere; needs gettext (xgettext, msgmerge).
set -euo pipefail
cd "$(dirname "$0")/../.."
po=gui/po
out="${1:-$po/mptcp-policy-panel.pot}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mapfile -t files <"$po/POTFILES"
rs=() ui=() desktop=()
for f in "${files[@]}"; do
  case "$f" in
    *.rs) rs+=("$f") ;;
    *.ui) ui+=("$f") ;;
    *.desktop) desktop+=("$f") ;;
  esac
done
common=(--from-code=UTF-8 --package-name=mptcp-policy-panel --msgid-bugs-address=mptcp-policyd-developers --no-wrap)
xgettext "${common[@]}" --language=C 2> >(grep -v "unterminated character constant" >&2) --keyword=gettext --keyword=ngettext:1,2 -o "$tmp/rs.pot" "${rs[@]}"
xgettext "${common[@]}" --language=Glade -o "$tmp/ui.pot" "${ui[@]}"
xgettext "${common[@]}" --language=Desktop --keyword=Name --keyword=GenericName --keyword=Comment --keyword=Keywords -o "$tmp/desktop.pot" "${desktop[@]}"
msgcat --no-wrap --use-first --sort-by-file "$tmp"/*.pot -o "$out"
if [ "$#" -eq 0 ]; then
  while read -r lang; do
    [ -n "$lang" ] && msgmerge --quiet --no-wrap --update --backup=none "$po/$lang.po" "$out"
  done <"$po/LINGUAS"
fi
