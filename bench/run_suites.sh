#!/usr/bin/env bash
# `make bench`: run benchmark suites one after the other, collect the rows they
# emit (bench/lib.sh's emit_row) in a JSON-lines file of this run, then let
# bench/report.py merge them into bench/results/YYYY-MM-DD.json and regenerate
# docs/benchmarks.md and its charts. A suite that fails does not stop the
# others and the report is still written, but the exit status is 1 if any
# suite failed (2 for an unknown suite name).
#
#   bench/run_suites.sh path/to/aegis-flow SUITE...
#
# SUITE: http tls mesh h2 grpc attest memory mesh-rates scale (the Makefile's
# BENCH_SUITES). BENCH_QUICK=1 (make bench QUICK=1) selects every suite's short
# mode; the rows and the report say so.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: bench/run_suites.sh path/to/aegis-flow SUITE..." >&2; exit 2; }
AEGIS_BIN=$1
shift
BENCH_LOG_TAG=bench-suites
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"   # haproxy3_path: the version line of the report

declare -A SCRIPT=([http]=run.sh [tls]=tls.sh [mesh]=mesh.sh [h2]=h2.sh [grpc]=grpc.sh [attest]=attest.sh
  [memory]=memory.sh [mesh-rates]=mesh_rates.sh [scale]=scale.sh)
for s in "$@"; do
  [ -n "${SCRIPT[$s]:-}" ] || {
    echo "unknown BENCH_SUITES entry '$s' (http, tls, mesh, h2, grpc, attest, memory, mesh-rates, scale)" >&2
    exit 2
  }
done

BENCH_JSONL=$(mktemp "${TMPDIR:-/tmp}/aegis-bench-rows.XXXXXX")
export BENCH_JSONL
trap 'rm -f "$BENCH_JSONL"' EXIT
QUICK=false
[ "${BENCH_QUICK:-0}" = 0 ] || QUICK=true
# The settings a suite reads from the environment, as part of its exact command line.
settings() {
  env | grep -E '^(BENCH_[A-Z0-9_]*|HAPROXY(3|26)_BIN|AEGIS_GRPC_PYTHON)=' | grep -Ev '^BENCH_(JSONL|BIN|SUITES)=' | sort |
    sed "s/=\(.*[^A-Za-z0-9_./,:-].*\)$/='\1'/" | tr '\n' ' '
}

FAILED=()
for s in "$@"; do
  cmd="$(settings)bench/${SCRIPT[$s]} $AEGIS_BIN"
  log "=== $s: $cmd"
  load=$(cut -d' ' -f1-3 /proc/loadavg) started=$(date -u '+%Y-%m-%dT%H:%M:%SZ') t0=$(date +%s)
  "$ROOT/bench/${SCRIPT[$s]}" "$AEGIS_BIN"
  rc=$?
  emit_row "$s" row=run command="$cmd" exit="$rc" started="$started" seconds="$(($(date +%s) - t0))" \
    load_before="$load" quick="$QUICK"
  if [ "$rc" != 0 ]; then
    FAILED+=("$s")
    log "=== $s failed (exit $rc); going on with the other suites"
  fi
done

hap3=$(haproxy3_path 2>/dev/null || true)
/usr/bin/python3 "$ROOT/bench/report.py" --jsonl "$BENCH_JSONL" --aegis-bin "$AEGIS_BIN" \
  ${hap3:+--haproxy3-bin "$hap3"} || { log "bench/report.py failed"; exit 1; }
if [ ${#FAILED[@]} -gt 0 ]; then
  log "failed suites: ${FAILED[*]} (their rows, if any, are marked as from a failed run)"
  exit 1
fi
