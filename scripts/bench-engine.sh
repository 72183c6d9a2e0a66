#!/usr/bin/env bash
# Engine throughput and per-command latency on the realistic stream:
# builds release, generates the seeded stream once, runs `replay --bench`
# several times and prints each JSON line plus the host facts that matter.
#
#   scripts/bench-engine.sh [RUNS] [COMMANDS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
commands=${2:-2000000}
stream=${TMPDIR:-/tmp}/engine-stream-${commands}.txt

cargo build --release -q -p engine-tools --bin replay --bin streamgen
if [ ! -s "$stream" ]; then
    target/release/streamgen --commands "$commands" --resting 10000 --seed 1 > "$stream"
fi
echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stream: $stream ($(wc -l < "$stream") lines; streamgen --commands $commands --resting 10000 --seed 1)"
for _ in $(seq "$runs"); do
    target/release/replay --bench "$stream"
done
