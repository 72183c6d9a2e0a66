#!/usr/bin/env bash
# Benchmark the whole path with loadgen: builds release, prints the host
# facts every figure depends on, measures the machine's own stalls (the
# `hiccup` binary: the floor under every percentile below), runs loadgen at
# a few rates over TCP (to a gateway it starts in-process) and over the
# in-process pipeline, and writes a markdown results table to stdout and to
# a file.
#
#   scripts/bench.sh                                  # 100k 500k 1M, 5 s each
#   scripts/bench.sh --rates "1M 2M" --duration 30s   # longer, other rates
#   scripts/bench.sh --transports tcp -- --durability fsync --sessions 8
#
# Options (defaults in brackets):
#   --rates "R ..."        rates to run [100k 500k 1M]
#   --duration D           measured time per run [5s]
#   --warmup D             warm-up per run [1s]
#   --transports "T ..."   tcp and/or inproc [tcp inproc]
#   --out FILE             markdown table [target/bench/loadgen.md]
#   --hiccup D             how long to measure the machine's stalls first [10s]
#   -- ARGS                passed to every loadgen run
#
# Every run's JSON report is kept next to the table (target/bench/*.json).
set -euo pipefail

cd "$(dirname "$0")/.."

rates="100k 500k 1M"
duration="5s"
warmup="1s"
transports="tcp inproc"
out="target/bench/loadgen.md"
hiccup="10s"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rates) rates="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --transports) transports="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --hiccup) hiccup="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

echo "== building release" >&2
cargo build --release -p loadgen >&2
loadgen=target/release/loadgen
dir=$(dirname "$out")
mkdir -p "$dir"

# The machine's own stalls, measured before anything else runs: a latency
# percentile below these floors is not possible on this host.
echo "== hiccup --duration $hiccup (one spinning thread per core)" >&2
stalls=$(target/release/hiccup --duration "$hiccup" --json "$dir/hiccup.json")

# Host facts: the figures mean nothing without them.
host_facts() {
    local cores model governor isol smt kernel
    cores=$(nproc)
    model=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
    kernel=$(uname -r)
    governor=$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || echo "n/a (no cpufreq: VM or fixed clock)")
    isol=$(tr ' ' '\n' < /proc/cmdline | grep -E '^(isolcpus|nohz_full|rcu_nocbs)=' | tr '\n' ' ' || true)
    smt=$(cat /sys/devices/system/cpu/smt/control 2>/dev/null || echo "n/a")
    echo "- cores: ${cores} (${model:-unknown CPU})"
    echo "- kernel: ${kernel}"
    echo "- governor: ${governor}"
    echo "- isolcpus/nohz_full: ${isol:-none}"
    echo "- SMT: ${smt}"
    echo "- loadgen: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)'), duration ${duration}, warm-up ${warmup}${extra[*]:+, args: ${extra[*]}}"
}

csv="$dir/loadgen-bench.csv"
rm -f "$csv"
status=0
for transport in $transports; do
    for rate in $rates; do
        echo "== loadgen --transport $transport --rate $rate --duration $duration" >&2
        json="$dir/loadgen-$transport-$rate.json"
        # A FAIL or a failed run is a result to report, not a reason to stop.
        if ! "$loadgen" --transport "$transport" --rate "$rate" --duration "$duration" \
            --warmup "$warmup" --quiet --json "$json" --csv "$csv" "${extra[@]}" >&2; then
            status=1
        fi
    done
done

ns() { # ns -> µs with one decimal, or "-" when empty
    awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.1f", v / 1000 }'
}

{
    echo "# loadgen results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    host_facts
    echo
    echo "The machine's own stalls (\`hiccup --duration $hiccup\`, nothing else running; floor: the"
    echo "wait those stalls alone give work arriving at random moments):"
    echo
    echo '```'
    echo "$stalls" | sed -n '/^core/,$p'
    echo '```'
    echo
    echo "| transport | rate | achieved | ack P50 µs | ack P99 µs | ack P99.9 µs | ack max µs | fill P99 µs | cmd→event P99 µs | unanswered | cores (loadgen) | CPU/order µs | result |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    if [ -f "$csv" ]; then
        # (loadgen writes a failure's commas as semicolons, so columns hold.)
        tail -n +2 "$csv" | while IFS=, read -r transport req ach pct p50 p90 p99 p999 p9999 max fp50 fp99 fp999 ep50 ep99 ep999 unans result failure cores lcores cpo; do
            note=""
            [ -n "$failure" ] && note=" ($failure)"
            echo "| $transport | $req | $ach (${pct}%) | $(ns "$p50") | $(ns "$p99") | $(ns "$p999") | $(ns "$max") | $(ns "$fp99") | $(ns "$ep99") | $unans | ${cores:--} (${lcores:--}) | $(ns "$cpo") | $result$note |"
        done
    fi
    echo
    echo "Targets and their reasons: docs/targets.md. JSON reports: $dir/loadgen-*.json."
} | tee "$out"
echo "wrote $out" >&2
exit $status
