#!/usr/bin/env bash
# Regenerates service/hot-functions.txt: the daemon's functions that run
# when it starts, idles and works, in the order the linker should place them
# (service/build.rs turns the list into a linker script and an ordering file
# when MPTCP_POLICYD_HOT_FUNCTIONS names it, as scripts/build-daemon.sh does).
#
#   scripts/hot-functions.sh
#
# Why: the kernel maps a program's code into its RSS 64 KiB at a time
# (fault-around; a whole page-cache folio, which can be larger), so
# functions that run are better side by side: the daemon's resident code
# after start dropped from 4.5 MB, nearly all of its text, to 2.5 MB
# (README, "Footprint"). A stale file costs only memory, never correctness;
# tests/tests/packaged_daemon.rs fails when a tenth of it is gone. Rust
# names are kept without their hash (the hash changes with the compiler,
# the build flags and the dependencies' versions; the linker script matches
# any), C names as they are.
#
# How: the size-optimised daemon (as packaged) runs under valgrind's
# callgrind through the footprint benchmark (start: --no-dbus first, then
# on a bus, then with a budget; idle; connections; again with IPv6) and
# then the handover, health, fade and event benchmarks (one run each; their
# figures under valgrind mean nothing, only which code ran). Functions are
# ranked by the first benchmark that ran them — start-up code first — then
# by name. Needs root, valgrind and what the benchmarks need; 6–7 min.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
command -v valgrind >/dev/null || { echo "hot-functions.sh: valgrind missing (apt-get install valgrind)" >&2; exit 1; }

daemon="$(scripts/build-daemon.sh)"
cargo build --release -q -p mptcp-policy-tests
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/daemon" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --dump-instr=no --compress-strings=no \\
  --compress-pos=no --demangle=no --callgrind-out-file="\$CG_DIR/%p.out" "$daemon" "\$@"
EOF
chmod +x "$work/daemon"

bench() { # STEP BENCH ARGS...: one benchmark, its callgrind files in $work/STEP/
  local step="$1" bin="$2"
  shift 2
  mkdir -p "$work/$step"
  echo "hot-functions.sh: $bin $*" >&2
  CG_DIR="$work/$step" timeout 1200 "target/release/$bin" --daemon "$work/daemon" "$@" \
    >"$work/$step.log" 2>&1 || { echo "hot-functions.sh: $bin failed:" >&2; tail -20 "$work/$step.log" >&2; exit 1; }
}
bench 1-footprint footprint-bench --runs 1 --idle-secs 2 --connections 300 --no-mptcpd
bench 1-footprint-ipv6 footprint-bench --runs 1 --idle-secs 2 --connections 0 --no-mptcpd --ipv6
bench 2-handover handover-bench --runs 1 --scenario daemon --scenario userspace
bench 3-health health-bench --runs 1 --scenario daemon --quick --no-extras
bench 4-fade fade-bench --runs 1 --no-false
bench 5-fade-userspace fade-bench --runs 1 --no-false --userspace --only loss-ramp
bench 6-events event-bench --connections 1000

# Rank: step, then the daemon process within the step (start order), then name.
nm --defined-only "$daemon" | awk '{print $NF}' >"$work/symbols"
python3 - "$work" >"$work/list" <<'EOF'
import os, re, sys
work = sys.argv[1]
rank = {}


def without_hash(name):
    """The name a linker-script pattern can match in any build."""
    if name.startswith("_ZN"):  # legacy mangling: ...17h<16 hex digits>E
        return re.sub(r"17h[0-9a-f]{16}E$", "17h", name)
    if name.startswith("_R"):  # v0 mangling (the standard library): crate hashes
        return re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
    return name


for step in sorted(d for d in os.listdir(work) if os.path.isdir(os.path.join(work, d))):
    files = sorted((os.path.join(work, step, f) for f in os.listdir(os.path.join(work, step))),
                   key=os.path.getmtime)
    for i, path in enumerate(files):
        for line in open(path, errors="replace"):
            if line.startswith("fn="):
                name = re.sub(r"'\d+$", "", line[3:].strip())
                # Addresses are functions without a symbol; "(below main)" is valgrind's.
                if not name.startswith(("0x", "(")):
                    rank.setdefault(without_hash(name), (step, i))
# glibc picks a string function's variant by CPU (IFUNC): valgrind's CPU gets
# the AVX2 ones, most machines today the EVEX/AVX-512 ones; both go in.
variant = re.compile(r"^(__[a-z0-9]+)_(avx2|avx_)")
symbols = [s.strip() for s in open(os.path.join(work, "symbols"))]
for name, r in list(rank.items()):
    m = variant.match(name)
    if m:
        for s in symbols:
            if s.startswith(m.group(1) + "_") and ("_evex" in s or "_avx512" in s):
                rank.setdefault(s, r)
for name in sorted(rank, key=lambda n: (rank[n], n)):
    print(name)
EOF
mv "$work/list" service/hot-functions.txt
echo "hot-functions.sh: $(wc -l <service/hot-functions.txt) functions in service/hot-functions.txt" >&2
