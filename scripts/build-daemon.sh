#!/usr/bin/env bash
# Builds the daemon as packaged and benchmarked and prints its path:
#   - the size-optimised `dist` profile (Cargo.toml);
#   - a static PIE (glibc, libbpf, libelf and zlib linked in; still
#     position-independent, so ASLR stays), relative relocations packed: no
#     shared libraries to map and relocate at every start — RSS 7.8 → 6.6 MB
#     (README, "Footprint");
#   - its start-up and working code side by side (service/hot-functions.txt,
#     scripts/hot-functions.sh): 6.6 → 4.7 MB. The linker script and ordering
#     file need LLD, rustc's default linker on x86_64 Linux since 1.90.
# Used by scripts/package.sh and bench/footprint. Needs libc6-dev, libelf-dev
# and zlib1g-dev (their static libraries).
#
#   scripts/build-daemon.sh [--quiet | --path]
#
# --path  only print where the binary is (or would be)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# An explicit --target keeps the flags off build scripts and proc macros.
triple="$(rustc -vV | sed -n 's/^host: //p')"
binary="${CARGO_TARGET_DIR:-$here/target}/$triple/dist/mptcp-policyd"
quiet=()
case "${1:-}" in
  --path) echo "$binary"; exit 0 ;;
  --quiet) quiet=(-q) ;;
  "") ;;
  *) echo "build-daemon.sh: unknown argument: $1" >&2; exit 2 ;;
esac
multiarch="$(gcc -print-multiarch 2>/dev/null || echo "${triple%%-*}-linux-gnu")"
MPTCP_POLICYD_HOT_FUNCTIONS="$here/service/hot-functions.txt" \
  LIBBPF_SYS_LIBRARY_PATH="/usr/lib/$multiarch" \
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs" \
  cargo build "${quiet[@]}" --profile dist --locked --target "$triple" \
  -p mptcp-policyd --features static >&2
echo "$binary"
