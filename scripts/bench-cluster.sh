#!/usr/bin/env bash
# A three-node cluster against a single node, on this machine
# (docs/replication.md, "Measurements"):
#
#   scripts/bench-cluster.sh                      # 100k/s, 5 s, 3 runs each, alternating
#   scripts/bench-cluster.sh --rate 500k --runs 2
#   scripts/bench-cluster.sh --failover 3         # kill the leader mid-run, 3 times
#
# Latency mode: starts a single gateway and a three-node cluster (release
# builds, --insecure-no-auth, --durability on every node), then runs
# `loadgen --target` against the single node and the cluster's leader in
# turn (single, cluster, single, cluster, ...) at the same rate, and prints
# each run's order→ack P50/P99, achieved rate, unanswered orders, and the
# CPU every gateway process used per order (utime+stime from /proc, so the
# followers' work counts too). Loadgen's own CPU is left out.
#
# Failover mode: loadgen drives all three client addresses at --rate; a
# second in, the leader is killed with SIGKILL; loadgen reports the gap
# (connection lost → first order acknowledged by the new leader). The
# killed node is restarted between runs.
#
# Everything runs on this machine: all three nodes and loadgen share its
# cores, so the cluster's figures are a lower bound on three machines'.
#
# Options (defaults in brackets):
#   --rate R        orders/s [100k]
#   --duration D    measured time per run [5s]
#   --runs N        runs of each (latency mode) [3]
#   --failover N    failover mode, N kills [off]
#   --durability D  every node's own copy: os or fsync (the gateway's
#                   default) [os]
#   --out DIR       logs and JSON reports [target/bench/cluster]
set -euo pipefail

cd "$(dirname "$0")/.."

rate="100k"
duration="5s"
runs=3
failover=0
durability="os"
out="target/bench/cluster"
while [ $# -gt 0 ]; do
    case "$1" in
        --rate) rate="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --failover) failover="$2"; shift 2 ;;
        --durability) durability="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h | --help)
            sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "bench-cluster: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
done

cargo build --release -q -p gateway -p loadgen
gateway=target/release/gateway
loadgen=target/release/loadgen
rm -rf "$out"
mkdir -p "$out"

# Ports: a base the kernel is unlikely to hand out to other sockets meanwhile.
base=$((20000 + RANDOM % 20000))
single_port=$((base + 9))
clients=()
{
    echo "election_timeout_ms = 500"
    echo "heartbeat_ms = 50"
    for n in 1 2 3; do
        echo "[[node]]"
        echo "id = $n"
        echo "raft = \"127.0.0.1:$((base + n))\""
        echo "client = \"127.0.0.1:$((base + 3 + n))\""
        clients+=("127.0.0.1:$((base + 3 + n))")
    done
} >"$out/cluster.toml"
all_clients=$(IFS=,; echo "${clients[*]}")

pids=()
node_pid=("" "" "" "")
cleanup() {
    for p in "${pids[@]}" "${node_pid[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

start_node() {
    RUST_LOG=info,raft=warn "$gateway" --cluster "$out/cluster.toml" --node "$1" \
        --journal "$out/journal-$1" --durability "$durability" --insecure-no-auth \
        >>"$out/node-$1.log" 2>&1 &
    node_pid[$1]=$!
}

# The leader: the node whose log last says it leads (and is still running).
leader() {
    local deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        local best="" best_line=""
        for n in 1 2 3; do
            [ -n "${node_pid[$n]}" ] || continue
            local line
            line=$(grep -h " leads (term" "$out/node-$n.log" 2>/dev/null | tail -n 1 || true)
            local lost
            lost=$(grep -c "lost the lead" "$out/node-$n.log" 2>/dev/null || true)
            local led
            led=$(grep -c " leads (term" "$out/node-$n.log" 2>/dev/null || true)
            if [ -n "$line" ] && [ "$led" -gt "$lost" ] && [[ "$line" > "$best_line" ]]; then
                best=$n
                best_line=$line
            fi
        done
        if [ -n "$best" ]; then
            echo "$best"
            return
        fi
        sleep 0.1
    done
    echo "bench-cluster: no leader within 30 s; see $out/node-*.log" >&2
    exit 1
}

# Sum of utime+stime (clock ticks) of the given pids.
ticks() {
    local sum=0
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        # Fields 14 and 15, after the command name in parentheses.
        local rest
        rest=$(sed 's/^.*) //' "/proc/$p/stat")
        set -- $rest
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}

report() { # json label ticks
    python3 - "$1" "$2" "$3" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
path, label, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = json.load(open(path))
orders = r["counts"]["sent"]
ack = r["ack"]
cpu_us = ticks / hz * 1e6 / max(orders, 1)
extra = ""
fo = r.get("failover") or r.get("failovers")
if fo:
    extra = f"  failover {json.dumps(fo)}"
print(f"{label:8} rate {r['achieved_rate']/1e3:7.1f}k/s  P50 {ack['p50_ns']/1e3:8.1f} us  "
      f"P99 {ack['p99_ns']/1e3:9.1f} us  unanswered {r['unanswered']:6}  "
      f"gateways' CPU {cpu_us:5.2f} us/order{extra}")
EOF
}

for n in 1 2 3; do start_node "$n"; done

if [ "$failover" -gt 0 ]; then
    for i in $(seq 1 "$failover"); do
        l=$(leader)
        echo "run $i: leader is node $l; killing it 1 s into the run"
        # 1 s of warm-up, then 1 s into the measured time.
        ( sleep 2; kill -9 "${node_pid[$l]}" ) &
        "$loadgen" --target "$all_clients" --rate "$rate" --duration "$duration" --warmup 1s \
            --json "$out/failover-$i.json" >"$out/failover-$i.txt" 2>&1 || true
        wait "${node_pid[$l]}" 2>/dev/null || true
        node_pid[$l]=""
        report "$out/failover-$i.json" "failover" 0
        grep -i "failover" "$out/failover-$i.txt" || true
        start_node "$l"
        sleep 3
    done
    exit 0
fi

RUST_LOG=warn "$gateway" --listen "127.0.0.1:$single_port" --journal "$out/single-journal" \
    --durability "$durability" --insecure-no-auth >>"$out/single.log" 2>&1 &
single_pid=$!
pids+=("$single_pid")
l=$(leader)
echo "cluster leader: node $l (${clients[$((l - 1))]}); single node on 127.0.0.1:$single_port"
echo "rate $rate, $duration per run, $runs runs each, alternating; $(date -u +%FT%TZ), $(nproc) cores"
for i in $(seq 1 "$runs"); do
    before=$(ticks "$single_pid")
    "$loadgen" --target "127.0.0.1:$single_port" --rate "$rate" --duration "$duration" \
        --json "$out/single-$i.json" >"$out/single-$i.txt" 2>&1 || true
    report "$out/single-$i.json" "single" $(($(ticks "$single_pid") - before))
    before=$(ticks "${node_pid[1]}" "${node_pid[2]}" "${node_pid[3]}")
    "$loadgen" --target "${clients[$((l - 1))]}" --rate "$rate" --duration "$duration" \
        --json "$out/cluster-$i.json" >"$out/cluster-$i.txt" 2>&1 || true
    report "$out/cluster-$i.json" "cluster" \
        $(($(ticks "${node_pid[1]}" "${node_pid[2]}" "${node_pid[3]}") - before))
done
