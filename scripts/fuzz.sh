#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each with
# libFuzzer (cargo-fuzz), starting from the seeds in fuzz/corpus/<target>/.
# New inputs go to a scratch corpus (FUZZ_WORK, default /tmp/mptcp-fuzz),
# not into the repository; add one to fuzz/corpus/ when it is worth
# keeping (every crash fixed: its input, as a regression test).
# Prints executions and coverage per target; exits non-zero after the run
# if any target crashed, naming the target and the crashing input.
#
# Usage: scripts/fuzz.sh SECONDS [TARGET...]
# Needs cargo-fuzz (`cargo install --locked cargo-fuzz`); this toolchain is
# stable, so the sanitizer flags are allowed with RUSTC_BOOTSTRAP=1.
# Long runs are a benchmark, not CI; CI runs the corpora as `cargo test`.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=($(ls fuzz_targets | sed 's/\.rs$//'))
fi
work=${FUZZ_WORK:-/tmp/mptcp-fuzz}
export RUSTC_BOOTSTRAP=1
mkdir -p "$work"
if ! cargo fuzz build -O >"$work/build.log" 2>&1; then
    tail -20 "$work/build.log" >&2
    echo "fuzz build failed (log: $work/build.log)" >&2
    exit 2
fi
crashed=()
printf '%-10s %12s %8s %8s %7s  %s\n' target executions exec/s cov ft corpus
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$work/artifacts/$t"
    log="$work/$t.log"
    nice -n 10 cargo fuzz run -O "$t" "$work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts/$t/" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' <<<"$last" | cut -d' ' -f2)
    printf '%-10s %12s %8s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
    if [ $rc -ne 0 ]; then
        input=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | cut -d' ' -f5)
        echo "CRASH in target $t: input ${input:-(none written, see $log)}" >&2
        grep -m1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' -A4 "$log" >&2
        crashed+=("$t")
    fi
done
if [ ${#crashed[@]} -ne 0 ]; then
    echo "crashed: ${crashed[*]} (logs in $work)" >&2
    exit 1
fi
