#!/usr/bin/env bash
# Instructions per proxied request, aegis-flow against HAProxy, counted by
# valgrind's callgrind: unlike CPU time, the count is repeatable on a noisy
# machine (the same binary and load give the same total whatever else runs).
# A profiling aid behind the "Where the time goes" section of
# docs/benchmark-methods.md, not a suite of `make bench`.
#
#   bench/callgrind.sh [build/release/aegis-flow]
#
# Paths (nginx upstream, natively; every proxy process under callgrind):
#   one-hop   wrk -> aegis-flow | HAProxy 2.6 -> nginx              (plain HTTP/1.1)
#   mesh      wrk -> outbound -> mTLS -> inbound -> nginx            (MLKEM1024 + ML-DSA-65,
#             two aegis-flow sidecars | two HAProxy 3.0 on OpenSSL 3.5 hops)
# For each path: a warm-up at the largest connection count (BENCH_CG_WARMUP
# seconds, default 30: the mesh's 64 handshakes run about 50x slower under
# callgrind and must be over before counting), then for each connection count
# (BENCH_CG_CONNS, default "16 64"; largest first): zero the counters, wrk -t1 -cN for
# BENCH_CG_SECONDS (default 6), dump, and divide the instructions of the proxy
# processes by the requests wrk completed. BENCH_CG_CACHE=1 adds callgrind's
# cache simulation (I1/D1 and last-level misses per request; 2-3x slower
# again); BENCH_CG_VALGRIND_OPTS adds valgrind options, e.g. "--LL=524288,8,64"
# for a last-level cache of one core's 512 KiB L2 (valgrind otherwise takes the
# host's last level, which a VM may report as hundreds of MiB).
#
# Prints one row per path and connection count, then each process's top
# functions (self cost) at the largest connection count; writes the same to
# bench/results/callgrind-latest.txt. The callgrind files stay in the work
# directory when BENCH_KEEP_WORK=1 (its path is printed).
# About 3 minutes (8 with BENCH_CG_CACHE=1).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_REAL=${1:-$ROOT/build/release/aegis-flow}
CONNS_LIST=${BENCH_CG_CONNS:-16 64}
SECONDS_RUN=${BENCH_CG_SECONDS:-6}
WARMUP=${BENCH_CG_WARMUP:-30}
CACHE=${BENCH_CG_CACHE:-0}

BENCH_LOG_TAG="callgrind"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/mesh_conf.sh
. "$ROOT/bench/mesh_conf.sh"
# shellcheck source=bench/haproxy_mesh.sh
. "$ROOT/bench/haproxy_mesh.sh"
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"
# shellcheck source=bench/cost_paths.sh
. "$ROOT/bench/cost_paths.sh"

for t in nginx haproxy wrk curl ss taskset valgrind callgrind_control callgrind_annotate; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_REAL" ] || die "aegis-flow not found at $AEGIS_REAL (build it with: make build)"
AEGIS_REAL=$(abspath "$AEGIS_REAL")
for v in "$SECONDS_RUN" "$WARMUP"; do [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]] || die "BENCH_CG_SECONDS and BENCH_CG_WARMUP must be positive integers"; done
for c in $CONNS_LIST; do [[ "$c" =~ ^[0-9]+$ && "$c" -gt 0 ]] || die "BENCH_CG_CONNS: '$c' is not a positive integer"; done
[[ "$CACHE" =~ ^[01]$ ]] || die "BENCH_CG_CACHE must be 0 or 1"
if ! HAP3=$(haproxy3_path 2>/dev/null); then HAP3=$(haproxy3_build) || die "bench/haproxy3.sh build failed"; fi
MAX_CONNS=$(tr ' ' '\n' <<<"$CONNS_LIST" | sort -n | tail -1)

bench_setup_work aegis-bench-callgrind
mesh_cpus
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$WORK/cg"
VG_OPTS=(--tool=callgrind --dump-instr=no "--callgrind-out-file=$WORK/cg/%p.out")
[ "$CACHE" = 0 ] || VG_OPTS+=(--cache-sim=yes)
read -ra EXTRA_OPTS <<<"${BENCH_CG_VALGRIND_OPTS:-}"
VG_OPTS+=("${EXTRA_OPTS[@]}")

# under_callgrind NAME BINARY: $WORK/NAME, a wrapper that runs BINARY under
# callgrind in its own process (exec), so the PID that start() records is the
# one callgrind_control talks to.
under_callgrind() {
  printf '#!/bin/sh\nexec valgrind %s %s "$@"\n' "${VG_OPTS[*]}" "$2" >"$WORK/$1"
  chmod +x "$WORK/$1"
  echo "$WORK/$1"
}

# --- servers --------------------------------------------------------------------------------
# A handshake under callgrind can take longer than the default 1 s connect
# timeout (which covers TLS): the outbound would then give up and retry for ever.
COST_OUT_CLUSTER_EXTRA="    connect_timeout: 60s" COST_START_SECONDS=120
cost_paths_start "$AEGIS_REAL" "$HAP3" "$(under_callgrind aegis-cg "$AEGIS_REAL")" \
  "$(under_callgrind haproxy26-cg "$(command -v haproxy)")" "$(under_callgrind haproxy3-cg "$HAP3")"

# --- counting -----------------------------------------------------------------------------------
# totals FILE: the "summary:"/"totals:" line's numbers (Ir, then the cache events if simulated).
totals() { awk '/^(summary|totals):/ {$1 = ""; print; exit}' "$1"; }
# handshakes: the aegis-flow inbound's completed and failed handshakes so far.
handshakes() {
  curl -fsS "http://127.0.0.1:${ADMIN[af-in]}/stats/prometheus" | awk '/^aegis_tls_handshake_seconds_count/ {n += $2} END {print n + 0}'
}

if [ "$CACHE" = 1 ]; then
  printf -v HEAD '%-26s %5s %8s %12s %20s %10s %10s %10s' path conns requests instr/req "per hop (out, in)" I1miss/req D1miss/req LLmiss/req
else
  printf -v HEAD '%-26s %5s %8s %12s %20s' path conns requests instr/req "per hop (out, in)"
fi
ROWS=() TOPS=()
for t in "${ORDER[@]}"; do
  read -ra names <<<"${PROCS[$t]}"  # names in PID
  log "${LABEL[$t]}: warm-up, wrk -t1 -c$MAX_CONNS -d${WARMUP}s"
  pin "$CPU_LOAD" wrk -t1 -c"$MAX_CONNS" -d"${WARMUP}s" "${URL[$t]}" >/dev/null
  first=1
  # Largest count first, right after the warm-up: a smaller count then needs no
  # new connection (HAProxy closes idle server connections after a few seconds,
  # so a larger count after a smaller one would count its handshakes).
  for c in $(tr ' ' '\n' <<<"$CONNS_LIST" | sort -rn); do
    log "${LABEL[$t]}: wrk -t1 -c$c -d${SECONDS_RUN}s, counted"
    [ "$t" != aegis-mesh ] || h0=$(handshakes)
    for n in "${names[@]}"; do callgrind_control -z "${PID[$n]}" >/dev/null; done
    out=$(pin "$CPU_LOAD" wrk -t1 -c"$c" -d"${SECONDS_RUN}s" "${URL[$t]}")
    files=()
    for n in "${names[@]}"; do
      callgrind_control -d "$t-c$c" "${PID[$n]}" >/dev/null
      # shellcheck disable=SC2012  # callgrind names its dumps PID.out.N: no odd characters
      files+=("$(ls -t "$WORK/cg/${PID[$n]}.out".* | head -1)")
    done
    req=$(requests "$out")
    if [ -z "$req" ] || [ "$req" -eq 0 ]; then printf '%s\n' "$out" >&2; die "wrk completed no request through ${LABEL[$t]}"; fi
    if [ "$t" = aegis-mesh ] && [ "$(handshakes)" != "$h0" ]; then
      die "the aegis-flow mesh made TLS handshakes while counting: raise BENCH_CG_WARMUP (now ${WARMUP}s)"
    fi
    per_hop="" sum=(0 0 0 0 0 0 0 0 0)
    for f in "${files[@]}"; do
      read -ra v <<<"$(totals "$f")"
      for i in "${!v[@]}"; do sum[i]=$((sum[i] + v[i])); done
      per_hop+="${per_hop:+, }$((v[0] / req))"
    done
    # cache events (callgrind's order): Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    if [ "$CACHE" = 1 ]; then
      row=$(printf '%-26s %5d %8d %12d %20s %10d %10d %10d' "${LABEL[$t]}" "$c" "$req" $((sum[0] / req)) "$per_hop" \
        $((sum[3] / req)) $(((sum[4] + sum[5]) / req)) $(((sum[6] + sum[7] + sum[8]) / req)))
    else
      row=$(printf '%-26s %5d %8d %12d %20s' "${LABEL[$t]}" "$c" "$req" $((sum[0] / req)) "$per_hop")
    fi
    ROWS+=("$row")
    if [ "$first" = 1 ]; then
      for i in "${!files[@]}"; do
        TOPS+=("" "${LABEL[$t]}, ${names[$i]}, $c connections: top functions by own instructions (% of the process)")
        while IFS= read -r line; do TOPS+=("$line"); done < <(callgrind_annotate --show=Ir --sort=Ir --threshold=100 "${files[$i]}" 2>/dev/null \
          | awk '/ file:function$/ {go = 1; next}
                 # lines above 50% are the call stack active at the dump (callgrind charges them the whole window)
                 go && NF && match($0, /\( *[0-9.]+%\)/) {pct = substr($0, RSTART + 1, RLENGTH - 3) + 0; if (pct < 50) print}' | head -n 15 \
          | sed -E 's|\(anonymous namespace\)|(anon)|g; s|\[/[^]]*/([^/]*)\]$|[\1]|' | cut -c1-160)
      done
      first=0
    fi
  done
done

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/callgrind-latest.txt
{
  report_machine "Instructions per request (bench/callgrind.sh)" "$LOAD_BEFORE"
  echo "load:     wrk -t1 -cN -d${SECONDS_RUN}s after a ${WARMUP}s warm-up at -c$MAX_CONNS; every proxy process under valgrind ${VG_OPTS[*]:0:2}$([ "$CACHE" = 0 ] || echo ' --cache-sim=yes')${BENCH_CG_VALGRIND_OPTS:+ $BENCH_CG_VALGRIND_OPTS}"
  echo "mesh:     MLKEM1024 + ML-DSA-65 mTLS between the hops, HTTP/1.1, upstream connections pooled"
  commit_line "$ROOT"
  echo
  echo "$HEAD"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "instr/req: instructions executed in user space by the proxy processes (both hops for a mesh) per request,"
  echo "the kernel's work not included; per hop: outbound first"
  printf '%s\n' "${TOPS[@]}"
} >"$REPORT"
[ -z "${BENCH_KEEP_WORK:-}" ] || log "callgrind files kept in $WORK/cg"
echo
cat "$REPORT"
