#!/usr/bin/env bash
# Padded vs unpadded price levels: runs the criterion book benches twice,
# once per layout (`--features unpadded-levels`), and prints the two side by side.
#
#   scripts/bench-padding.sh [CRITERION_FILTER]     (default: all book benches)
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-}
out=${TMPDIR:-/tmp}/bench-padding
mkdir -p "$out"
cargo bench -q -p matching --bench book -- ${filter:+"$filter"} 2>&1 | tee "$out/padded.txt"
cargo bench -q -p matching --bench book --features unpadded-levels -- ${filter:+"$filter"} 2>&1 | tee "$out/unpadded.txt"
echo
echo "== side by side (median time per operation)"
for layout in padded unpadded; do
    grep -E "^[a-z_]+/$layout/|time:" "$out/$layout.txt" | paste - - | awk '{print $1, $5, $6}'
done
