#!/usr/bin/env bash
# The live demo: installs what the testbed needs (apt), builds the daemon and
# the demo, then runs it. mptcp-policyd steers an MPTCP stream (upload by default) in a throwaway
# network namespace: WiFi drops, LTE takes over, WiFi returns. Must run as
# root (network namespaces); the host's own network is never touched.
# Options are passed to mptcp-demo (--phase-secs N, --no-color, --daemon PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/demo.sh: run as root (the demo creates network namespaces)" >&2
  exit 1
fi
bash scripts/install-test-deps.sh
cargo build --release -p mptcp-policyd -p mptcp-policy-tests
exec target/release/mptcp-demo "$@"
