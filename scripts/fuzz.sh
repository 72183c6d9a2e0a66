#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time, one after the
# other, on the stable toolchain without a sanitizer (`-s none`). See
# docs/verification.md, "Fuzzing".
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGET defaults to every target. Each run
# reads the committed corpus fuzz/corpus/<target>/ and a scratch corpus,
# fuzz/target/corpus/<target>/ (kept between runs, not committed), and writes
# what it finds to the scratch one only, so the committed corpus changes only
# on purpose: with FUZZ_MERGE=1, a small set of scratch inputs that reach
# code edges the committed corpus does not is added to it afterwards
# (libFuzzer's -set_cover_merge=1 -use_counters=0, which is how the committed
# corpus was chosen). A crash stops that target; its input
# is in fuzz/artifacts/<target>/, and the script exits 1.
# Logs: fuzz/target/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(wire_decode engine_vs_naive replay_text)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

echo "== building ${targets[*]} (release, debug assertions, no sanitizer)"
for target in "${targets[@]}"; do
    cargo fuzz build -s none "$target"
done

mkdir -p fuzz/target/logs
passed=0
failed=0
for target in "${targets[@]}"; do
    committed=fuzz/corpus/$target
    scratch=fuzz/target/corpus/$target
    log=fuzz/target/logs/$target.log
    mkdir -p "$committed" "$scratch" "fuzz/artifacts/$target"
    echo "== $target: ${seconds}s from $(find "$committed" -type f | wc -l) corpus inputs"
    # The first corpus directory is where libFuzzer writes new inputs.
    if cargo fuzz run -s none "$target" "$scratch" "$committed" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        passed=$((passed + 1))
        # "Done N runs in S second(s)" and the coverage reached.
        grep -E '^Done [0-9]+ runs' "$log" || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" || true
        grep -E '#[0-9]+.*(DONE|INITED).*cov:' "$log" | tail -n 1 || true
        if [ "${FUZZ_MERGE:-0}" = 1 ]; then
            cargo fuzz run -s none "$target" "$committed" "$scratch" -- \
                -set_cover_merge=1 -use_counters=0 >>"$log" 2>&1
            echo "merged: $(find "$committed" -type f | wc -l) inputs in $committed"
        fi
    else
        failed=$((failed + 1))
        echo "FAILED: $target; the last lines of $log:"
        tail -n 40 "$log"
        echo "crash inputs: fuzz/artifacts/$target/"
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
