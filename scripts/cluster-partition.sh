#!/usr/bin/env bash
# A real network partition of a 3-node gateway cluster, in Linux network
# namespaces: the leader is cut off from both followers (but not from its
# clients), must release no report it cannot commit, steps down; the other
# two elect a new leader; the link heals, the old leader rejoins, and every
# journal ends identical (gateway/tests/cluster_partition.rs, an #[ignore]d
# test that only this script runs).
#
#   scripts/cluster-partition.sh            build (debug profile) and run the test
#   scripts/cluster-partition.sh --release  the same with `cargo test --release`
#
# Must run as root (namespaces, links). On a fresh machine as a user with
# rustup: sudo -E env "PATH=$PATH" scripts/cluster-partition.sh (target/
# then gets root-owned files; set CARGO_TARGET_DIR to keep them apart).
# Installs iproute2 with apt-get when `ip` is missing; needs nothing else
# (no iptables, nft or tc).
#
# The network: two bridges, so that the raft traffic and the client traffic
# take different links and one can be cut without the other.
#
#   root ns:   cp<PID>-c 10.77.0.254 ──── up0 ─┐    hub ns: the two bridges
#   node i ns: client0   10.77.0.i   ──── ci ──┴─ brc  client bridge (orders)
#              raft0     10.77.1.i   ──── ri ──── brr  raft bridge (replication)
#
# Node i serves clients on 10.77.0.i:7000 and replicates on 10.77.1.i:7100.
# The cut is `ip -n HUB link set rL down` for the leader L: its port on the
# raft bridge goes down, so its raft0 loses carrier and every packet between
# it and the followers is dropped silently (no reset, as with a pulled
# cable), while its client link, and so the test's client, stays up. The
# heal is `link set rL up`. The bridges live in a namespace of their own
# (not the root's) so that br_netfilter and the root namespace's firewall
# (as Docker's FORWARD policy DROP) cannot touch the bridged traffic.
#
# Names are unique to this run (cp<PID>-hub, cp<PID>-n1..3, cp<PID>-c in the
# root ns). Namespaces, links and any process left in them are removed on
# exit, whether the test passed, failed or the script was interrupted.
# The test's environment: CLUSTER_PARTITION_NETNS, _CLIENT_IPS, _RAFT_IPS
# (comma-separated, node 1 first), _HUB and _RAFT_PORTS (the hub's raft
# bridge ports the test sets down and up). It starts each node with
# `ip netns exec NS gateway --cluster ...`; the test's client runs in the
# root namespace. CLUSTER_PARTITION_TIMEOUT bounds the test (seconds,
# default 600; it takes about 15); CLUSTER_PARTITION_KEEP=1 keeps the
# journals and the nodes' logs (kept anyway when it fails).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT

readonly TEST_TIMEOUT="${CLUSTER_PARTITION_TIMEOUT:-600}"
profile=()
case "${1:-}" in
    "") ;;
    --release) profile=(--release) ;;
    -h | --help)
        sed -n '2,43p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "cluster-partition: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

die() {
    echo "cluster-partition: error: $*" >&2
    exit 1
}

if [[ "$(id -u)" != 0 ]]; then
    echo "cluster-partition: must run as root: it creates network namespaces, veth links" \
        "and bridges. Try: sudo -E env \"PATH=\$PATH\" $0" >&2
    exit 2
fi

if ! command -v ip >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "\`ip\` not found and no apt-get: install iproute2, then rerun"
    echo "cluster-partition: ip not found; installing iproute2" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    command -v ip >/dev/null 2>&1 || die "ip still not found after installing iproute2"
fi
command -v cargo >/dev/null 2>&1 ||
    die "cargo not found on root's PATH (with rustup as a user: sudo -E env \"PATH=\$PATH\" $0)"

if ip -4 -o addr show | grep -qE ' inet 10\.77\.[01]\.'; then
    die "10.77.0.0/24 or 10.77.1.0/24 is already in use on this machine (another run?):" \
        "$(ip -4 -o addr show | grep -E ' inet 10\.77\.[01]\.' | awk '{print $2, $4}' | paste -sd' ')"
fi

# Build first (debug: the profile `cargo test` uses, and so the gateway binary
# the test starts), so a long build holds no namespace.
echo "cluster-partition: building the gateway and the test (${profile[*]:-debug} profile)"
(cd "$ROOT" && cargo test "${profile[@]}" -p gateway --test cluster_partition --no-run)

readonly PREFIX="cp$$"
test_pid=
readonly HUB="$PREFIX-hub"
readonly ROOT_LINK="$PREFIX-c"
NS=("$PREFIX-n1" "$PREFIX-n2" "$PREFIX-n3")
readonly NS

ns_exists() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$1"
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    # The test (interrupted): its process group, led by its `timeout`.
    if [[ -n "$test_pid" ]] && kill -0 "$test_pid" 2>/dev/null; then
        echo "cluster-partition: stopping the test (process group $test_pid)" >&2
        kill -TERM -- "-$test_pid" 2>/dev/null
        sleep 1
        kill -KILL -- "-$test_pid" 2>/dev/null
    fi
    # Whatever still runs in the namespaces (a gateway the test could not
    # stop): these are this run's processes, killed by their ids.
    for ns in "${NS[@]}" "$HUB"; do
        ns_exists "$ns" || continue
        local pids
        pids="$(ip netns pids "$ns" 2>/dev/null | paste -sd' ')"
        if [[ -n "$pids" ]]; then
            echo "cluster-partition: killing processes left in $ns: $pids" >&2
            # shellcheck disable=SC2086 # a list of pids
            kill -9 $pids 2>/dev/null
        fi
    done
    for _ in $(seq 50); do
        local left=""
        for ns in "${NS[@]}"; do
            ns_exists "$ns" && left+="$(ip netns pids "$ns" 2>/dev/null)"
        done
        [[ -z "$left" ]] && break
        sleep 0.1
    done
    for ns in "${NS[@]}" "$HUB"; do
        ns_exists "$ns" && ip netns del "$ns"
    done
    ip link show "$ROOT_LINK" >/dev/null 2>&1 && ip link del "$ROOT_LINK"
    echo "cluster-partition: removed namespaces $HUB ${NS[*]} and link $ROOT_LINK" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "cluster-partition: network: hub $HUB, nodes ${NS[*]}, root link $ROOT_LINK"
ip netns add "$HUB" || die "cannot create a network namespace (does the kernel support them? are we in a container without CAP_SYS_ADMIN?)"
ip -n "$HUB" link set lo up
for br in brc brr; do
    # No STP: a port that comes up (the heal) forwards at once.
    ip -n "$HUB" link add "$br" type bridge stp_state 0 forward_delay 0
    ip -n "$HUB" link set "$br" up
done

# The root namespace's way onto the client bridge.
ip link add "$ROOT_LINK" type veth peer name up0 netns "$HUB"
ip -n "$HUB" link set up0 master brc up
ip addr add 10.77.0.254/24 dev "$ROOT_LINK"
ip link set "$ROOT_LINK" up

client_ips=()
raft_ips=()
raft_ports=()
for i in 1 2 3; do
    ns="${NS[$((i - 1))]}"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$HUB" link add "c$i" type veth peer name client0 netns "$ns"
    ip -n "$HUB" link add "r$i" type veth peer name raft0 netns "$ns"
    ip -n "$HUB" link set "c$i" master brc up
    ip -n "$HUB" link set "r$i" master brr up
    ip -n "$ns" addr add "10.77.0.$i/24" dev client0
    ip -n "$ns" addr add "10.77.1.$i/24" dev raft0
    ip -n "$ns" link set client0 up
    ip -n "$ns" link set raft0 up
    client_ips+=("10.77.0.$i")
    raft_ips+=("10.77.1.$i")
    raft_ports+=("r$i")
done

join() {
    local IFS=,
    echo "$*"
}

# The test runs in the background, in a process group of its own (timeout's),
# so that a signal to this script stops it at once (see cleanup).
echo "cluster-partition: running the test (at most ${TEST_TIMEOUT}s)"
(
    cd "$ROOT"
    exec env CLUSTER_PARTITION_NETNS="$(join "${NS[@]}")" \
        CLUSTER_PARTITION_CLIENT_IPS="$(join "${client_ips[@]}")" \
        CLUSTER_PARTITION_RAFT_IPS="$(join "${raft_ips[@]}")" \
        CLUSTER_PARTITION_HUB="$HUB" \
        CLUSTER_PARTITION_RAFT_PORTS="$(join "${raft_ports[@]}")" \
        timeout --kill-after=10 "$TEST_TIMEOUT" \
        cargo test "${profile[@]}" -p gateway --test cluster_partition -- --ignored --nocapture
) &
test_pid=$!
test_rc=0
wait "$test_pid" || test_rc=$?
test_pid=
case "$test_rc" in
    0) echo "cluster-partition: PASS" ;;
    124) die "the partition test did not finish within ${TEST_TIMEOUT}s (CLUSTER_PARTITION_TIMEOUT);" \
        "the nodes' logs are in the directory it printed first (cluster: ...)" ;;
    *) die "the partition test failed, exit $test_rc (its output above has the nodes' logs)" ;;
esac
