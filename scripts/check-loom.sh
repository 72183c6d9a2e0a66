#!/usr/bin/env bash
# loom model checks of the seqlock, the durable gate and the doorbell (engine/pipeline/tests/loom.rs),
# run twice: as written (must pass) and with the planted bugs (a Relaxed
# where Release is needed; a doorbell sleeper that looks before it
# listens or arms): loom must find each.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/loom
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3}

echo "== loom: the real orderings (must hold)"
RUSTFLAGS="--cfg loom" cargo test -q -p pipeline --test loom

echo "== loom: planted bugs, Release weakened to Relaxed (loom must catch it)"
RUSTFLAGS="--cfg loom --cfg planted_bug" cargo test -q -p pipeline --test loom -- --skip doorbell

# A lost wake-up is a deadlock; loom reports it, and the process then aborts
# while unwinding (see the tests), so each runs alone and must fail with
# loom's report.
for test in doorbell_never_loses_a_wake_up doorbell_hook_never_loses_a_wake_up \
    doorbell_close_never_leaves_a_sleeper_asleep; do
    echo "== loom: planted bug, $test looks before it sleeps (loom must report a deadlock)"
    if out=$(RUSTFLAGS="--cfg loom --cfg planted_bug" RUST_BACKTRACE=0 \
        cargo test -q -p pipeline --test loom -- --exact "$test" 2>&1); then
        echo "loom did not catch the planted lost wake-up in $test" >&2
        exit 1
    fi
    if ! grep -q "deadlock; threads" <<<"$out"; then
        echo "$test failed, but not with loom's deadlock report:" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "caught: $(grep -m1 -o 'deadlock; threads.*' <<<"$out")"
done
