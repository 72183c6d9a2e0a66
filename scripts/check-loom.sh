#!/usr/bin/env bash
# loom model checks of the seqlock and the durable gate (engine/pipeline/tests/loom.rs),
# run twice: as written (must pass) and with the planted bug (a Relaxed
# where Release is needed; the tests then expect loom to find it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/loom
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3}

echo "== loom: the real orderings (must hold)"
RUSTFLAGS="--cfg loom" cargo test -q -p pipeline --test loom

echo "== loom: planted bug, Release weakened to Relaxed (loom must catch it)"
RUSTFLAGS="--cfg loom --cfg planted_bug" cargo test -q -p pipeline --test loom
