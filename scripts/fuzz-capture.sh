#!/usr/bin/env bash
# Records real kernel netlink datagrams as fuzz seeds, in two throwaway
# network namespaces (client fzc-$$ with two veth paths to server fzs-$$):
# link/address dumps, mptcp_pm replies and events, the inet_diag dump of an
# open MPTCP connection. Never touches the host's interfaces or endpoints.
# Needs root. Usage: scripts/fuzz-capture.sh [OUTDIR] (default: a temp dir;
# copy the few files worth keeping into fuzz/corpus/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/fuzz-capture.XXXXXX)}
c=fzc-$$ s=fzs-$$
cleanup() { ip netns del "$c" 2>/dev/null || true; ip netns del "$s" 2>/dev/null || true; }
trap cleanup EXIT
cargo build -q -p mptcp-policy-netlink --example fuzz_capture
ip netns add "$c"
ip netns add "$s"
for i in 1 2; do
    ip -n "$c" link add "v$i" type veth peer name "p$i" netns "$s"
    ip -n "$c" addr add "10.0.$i.1/24" dev "v$i"
    ip -n "$s" addr add "10.0.$i.2/24" dev "p$i"
    ip -n "$c" link set "v$i" up
    ip -n "$s" link set "p$i" up
done
ip -n "$c" -6 addr add fd00::1/64 dev v1 nodad
ip -n "$c" link set lo up
ip -n "$s" link set lo up
ip -n "$c" mptcp limits set subflows 2 add_addr_accepted 2
ip -n "$s" mptcp limits set subflows 2 add_addr_accepted 2
ip -n "$c" mptcp endpoint add 10.0.2.1 dev v2 subflow backup
ip -n "$s" mptcp endpoint add 10.0.2.2 dev p2 signal
ip netns exec "$s" python3 -c '
import socket, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 5000)); l.listen()
c, _ = l.accept()
while c.recv(65536): pass
time.sleep(0.5)' &
server=$!
sleep 0.5
client='python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.connect((\"10.0.1.2\", 5000)); s.sendall(b\"x\" * 200000); time.sleep(1.5); s.close()"'
ip netns exec "$c" target/debug/examples/fuzz_capture "$out" "$client"
wait "$server" || true
find "$out" -type f -printf '%s\t%p\n' | sort -k2
