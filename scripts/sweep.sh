#!/usr/bin/env bash
# Latency and CPU against rate, from 100k orders/s up to saturation: runs
# loadgen at rising rates, writes rate → P50/P99/P99.9 and the cores the
# whole process used (loadgen's thread among them) as CSV, and plots latency
# against rate beside cores used against rate to a PNG.
#
#   scripts/sweep.sh                         # tcp, 3 s per rate
#   scripts/sweep.sh --transport inproc      # the pipeline alone
#   scripts/sweep.sh --duration 10s -- --durability fsync
#
# Saturation: the sweep stops after the first rate at which loadgen could not
# reach 95% of the requested rate or the run failed, or after the second
# rate in a row whose P99 went above 10 ms (past that the system is queueing,
# not serving). One such rate alone does not stop it: on a VM that stalls a
# core for milliseconds a few times a second (see `hiccup`), one stall in a
# short run can put a single P99 there.
#
# Options (defaults in brackets):
#   --transport T      tcp or inproc [tcp]
#   --rates "R ..."    rates to try, ascending [100k 200k 300k 500k 750k 1M 1.25M 1.5M 2M 2.5M 3M 4M 5M 6M 8M]
#   --duration D       measured time per rate [3s]
#   --warmup D         warm-up per rate [1s]
#   --out PREFIX       PREFIX.csv, PREFIX.png, PREFIX.logs/ [target/bench/sweep-<transport>]
#   -- ARGS            passed to every loadgen run
#
# The plot needs python3 with matplotlib (installed into target/bench/venv if
# it is missing and pip can fetch it) or gnuplot; without either the CSV is
# still written and the script says the plot was skipped.
set -euo pipefail

cd "$(dirname "$0")/.."

transport="tcp"
rates="100k 200k 300k 500k 750k 1M 1.25M 1.5M 2M 2.5M 3M 4M 5M 6M 8M"
duration="3s"
warmup="1s"
out=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --transport) transport="$2"; shift 2 ;;
        --rates) rates="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "sweep.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
out=${out:-target/bench/sweep-$transport}
mkdir -p "$(dirname "$out")"

echo "== building release" >&2
cargo build --release -p loadgen >&2
loadgen=target/release/loadgen

raw="$out.raw.csv"
csv="$out.csv"
logs="$out.logs"
rm -f "$raw"
mkdir -p "$logs"
echo "rate,achieved,p50_us,p99_us,p99.9_us,fill_p99_us,event_p99_us,unanswered,result,cores,loadgen_cores,cpu_ns_per_order" > "$csv"
over=0
for rate in $rates; do
    echo "== $transport at $rate/s" >&2
    before=$( [ -f "$raw" ] && wc -l < "$raw" || echo 0 )
    # Each run's full report goes to its log; the sweep prints one line per rate.
    "$loadgen" --transport "$transport" --rate "$rate" --duration "$duration" --warmup "$warmup" \
        --quiet --csv "$raw" "${extra[@]}" > "$logs/$rate.txt" 2>&1 || true
    if [ "$( [ -f "$raw" ] && wc -l < "$raw" || echo 0 )" -le "$before" ]; then
        echo "loadgen did not run at $rate/s; see $logs/$rate.txt" >&2
        tail -n 5 "$logs/$rate.txt" >&2
        break
    fi
    row=$(tail -n 1 "$raw")
    IFS=, read -r _t req ach pct p50 _p90 p99 p999 _p9999 _max _fp50 fp99 _fp999 _ep50 ep99 _ep999 unans result failure cores lcores cpo <<< "$row"
    us() { awk -v v="$1" 'BEGIN { if (v == "") print ""; else printf "%.2f", v / 1000 }'; }
    echo "$req,$ach,$(us "$p50"),$(us "$p99"),$(us "$p999"),$(us "$fp99"),$(us "$ep99"),$unans,$result,$cores,$lcores,$cpo" >> "$csv"
    echo "   achieved $ach/s (${pct}%), P50 $(us "$p50") µs, P99 $(us "$p99") µs, P99.9 $(us "$p999") µs, unanswered $unans, cores ${cores:-?} (loadgen ${lcores:-?}), CPU/order $(us "$cpo") µs, $result (report: $logs/$rate.txt)" >&2
    if [ -n "$failure" ] || awk -v p="$pct" -v q="$p99" 'BEGIN { exit !(p < 95 || q == "") }'; then
        echo "== saturated at $rate/s${failure:+ ($failure)}" >&2
        break
    fi
    if awk -v q="$p99" 'BEGIN { exit !(q > 10000000) }'; then
        over=$((over + 1))
        if [ "$over" -ge 2 ]; then
            echo "== saturated at $rate/s (P99 over 10 ms at two rates in a row)" >&2
            break
        fi
    else
        over=0
    fi
done
echo "wrote $csv" >&2

# The plot. Never fails the script: the CSV is the result, the PNG a view of it.
plot_py() {
    "$1" - "$csv" "$out.png" "$transport" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
path, png, transport = sys.argv[1:4]
rows = [r for r in csv.DictReader(open(path)) if r["p99_us"]]
rate = [int(r["rate"]) for r in rows]
fig, (ax, cx) = plt.subplots(1, 2, figsize=(14, 5))
for key, label in [("p50_us", "P50"), ("p99_us", "P99"), ("p99.9_us", "P99.9")]:
    ax.plot(rate, [float(r[key]) for r in rows], marker="o", label=label)
ax.set_xscale("log"); ax.set_yscale("log")
ax.set_xlabel("requested rate (orders/s)"); ax.set_ylabel("order→ack latency (µs)")
ax.set_title(f"loadgen {transport}: latency against rate")
ax.grid(True, which="both", alpha=0.3); ax.legend()
# Cores used: the whole process (loadgen and what it drives in process) and
# loadgen's own thread; empty where the run had no CPU figures.
cpu = [r for r in rows if r.get("cores")]
for key, label in [("cores", "whole process"), ("loadgen_cores", "loadgen's thread")]:
    cx.plot([int(r["rate"]) for r in cpu], [float(r[key]) for r in cpu], marker="o", label=label)
cx.set_xscale("log"); cx.set_ylim(bottom=0)
cx.set_xlabel("requested rate (orders/s)"); cx.set_ylabel("cores used (CPU time / wall time)")
cx.set_title(f"loadgen {transport}: cores used against rate")
cx.grid(True, which="both", alpha=0.3); cx.legend()
fig.savefig(png, dpi=120, bbox_inches="tight")
PY
}
python=""
if command -v python3 >/dev/null && python3 -c 'import matplotlib' 2>/dev/null; then
    python=python3
elif [ -x target/bench/venv/bin/python ] && target/bench/venv/bin/python -c 'import matplotlib' 2>/dev/null; then
    python=target/bench/venv/bin/python
elif command -v python3 >/dev/null; then
    echo "== matplotlib is missing; installing it into target/bench/venv" >&2
    if python3 -m venv target/bench/venv >&2 && target/bench/venv/bin/pip install --quiet matplotlib >&2; then
        python=target/bench/venv/bin/python
    fi
fi
if [ -n "$python" ] && plot_py "$python"; then
    echo "wrote $out.png" >&2
elif command -v gnuplot >/dev/null; then
    gnuplot <<GP && echo "wrote $out.png" >&2 || echo "plot skipped: gnuplot failed" >&2
set terminal png size 1600,600
set output "$out.png"
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2
set logscale xy
set xlabel "requested rate (orders/s)"
set ylabel "order→ack latency (µs)"
set title "loadgen $transport: latency against rate"
plot "$csv" using 1:3 with linespoints title "P50", "" using 1:4 with linespoints title "P99", "" using 1:5 with linespoints title "P99.9"
unset logscale y
set yrange [0:*]
set ylabel "cores used (CPU time / wall time)"
set title "loadgen $transport: cores used against rate"
plot "$csv" using 1:10 with linespoints title "whole process", "" using 1:11 with linespoints title "loadgen's thread"
unset multiplot
GP
else
    echo "plot skipped: neither python3 with matplotlib (pip could not install it) nor gnuplot is available; the CSV is $csv" >&2
fi
