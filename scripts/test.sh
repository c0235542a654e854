#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need, checks
# formatting and lints, then runs every test (unit, real-kernel namespace
# tests, end-to-end daemon tests). Must run as root (namespaces, netlink).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root (tests create network namespaces)" >&2
  exit 1
fi
bash scripts/install-test-deps.sh
export RUST_BACKTRACE=0
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins
# The Debian packages the booted-system tests install (target/debian/).
bash scripts/package.sh
cargo test --workspace -- --test-threads=2
