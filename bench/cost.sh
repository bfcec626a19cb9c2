#!/usr/bin/env bash
# Where a proxied request's CPU goes: CPU time, context switches and system
# calls per request, aegis-flow against HAProxy, for the paths of scenarios 1
# and 2 (issue 8). A profiling aid behind the "Where the time goes" section
# of docs/benchmark-methods.md, not a suite of `make bench`.
#
#   bench/cost.sh [build/release/aegis-flow]
#
# Paths (nginx upstream, all pinned as bench/mesh_conf.sh's mesh_cpus does):
#   one-hop   wrk -> aegis-flow | HAProxy 2.6 -> nginx             (plain HTTP/1.1)
#   mesh      wrk -> outbound -> mTLS -> inbound -> nginx           (MLKEM1024 + ML-DSA-65,
#             two aegis-flow sidecars | two HAProxy 3.0 on OpenSSL 3.5 hops)
# For each path and connection count (BENCH_COST_CONNS, default "16 64"):
#   1. wrk -t1 -cN -dS (BENCH_COST_SECONDS, default 5) after a 1 s warm-up:
#      req/s, and the proxy processes' CPU time (utime + stime from /proc) and
#      context switches (voluntary + involuntary, every thread) per request;
#   2. a second, 2 s wrk run under `strace -c -f` on the proxy processes:
#      system calls per request by name (strace slows the proxy down, so its
#      req/s is not used). Skipped when strace is missing or may not attach.
# Numbers move with other work on the machine; compare rows of one run.
# shellcheck disable=SC2153  # NGINX_PORT, IN_PORT, OUT_PORT: set by free_port
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
CONNS_LIST=${BENCH_COST_CONNS:-16 64}
SECONDS_RUN=${BENCH_COST_SECONDS:-5}

BENCH_LOG_TAG="cost"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/mesh_conf.sh
. "$ROOT/bench/mesh_conf.sh"
# shellcheck source=bench/haproxy_mesh.sh
. "$ROOT/bench/haproxy_mesh.sh"
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"

for t in nginx haproxy wrk curl ss taskset; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_COST_SECONDS must be a positive integer"
for c in $CONNS_LIST; do [[ "$c" =~ ^[0-9]+$ && "$c" -gt 0 ]] || die "BENCH_COST_CONNS: '$c' is not a positive integer"; done
if ! HAP3=$(haproxy3_path 2>/dev/null); then HAP3=$(haproxy3_build) || die "bench/haproxy3.sh build failed"; fi
STRACE=1
command -v strace >/dev/null || { STRACE=0; log "strace not found: no system-call counts"; }

bench_setup_work aegis-bench-cost
mesh_cpus
bench_setup_nice
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- servers --------------------------------------------------------------------------------
free_port NGINX_PORT
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"

declare -A ADMIN URL PROCS LABEL
ORDER=(aegis-1hop haproxy-1hop aegis-mesh haproxy3-mesh)
LABEL[aegis-1hop]="aegis-flow, one hop" LABEL[haproxy-1hop]="HAProxy 2.6, one hop"
LABEL[aegis-mesh]="aegis-flow, two-hop mesh" LABEL[haproxy3-mesh]="HAProxy 3.0, two-hop mesh"

free_port P1; free_port "ADMIN[one]"
aegis_conf "$WORK/one.yaml" "$P1" "${ADMIN[one]}" "$NGINX_PORT"
start_aegis one "$CPU_OUT"
URL[aegis-1hop]="http://127.0.0.1:$P1/" PROCS[aegis-1hop]=${PID[one]}

free_port P2
haproxy_conf "$WORK/haproxy" "$P2" "$NGINX_PORT"
start haproxy "$WORK/haproxy/haproxy.log" "$CPU_OUT" haproxy -db -f "$WORK/haproxy/haproxy.cfg"
wait_up haproxy "${PID[haproxy]}" "http://127.0.0.1:$P2/" "$WORK/haproxy/haproxy.log"
URL[haproxy-1hop]="http://127.0.0.1:$P2/" PROCS[haproxy-1hop]=${PID[haproxy]}

haproxy_mesh_certs "$AEGIS_BIN" mldsa65 "$WORK/certs"
SERVER_ID=spiffe://bench.test/ns/b/sa/server
free_port IN_PORT; free_port OUT_PORT; free_port "ADMIN[af-in]"; free_port "ADMIN[af-out]"
mesh_pair_yaml af "$IN_PORT" "$OUT_PORT" "$WORK/certs" MLKEM1024 "$NGINX_PORT"
start_aegis af-in "$CPU_IN"
start_aegis af-out "$CPU_OUT"
URL[aegis-mesh]="http://127.0.0.1:$OUT_PORT/" PROCS[aegis-mesh]="${PID[af-out]} ${PID[af-in]}"

free_port H_IN; free_port H_OUT
haproxy_mesh_conf "$HAP3" MLKEM1024 "$WORK/certs" "$WORK/hmesh" "$H_OUT" "$H_IN" "$NGINX_PORT"
haproxy_mesh_start "$HAP3" "$WORK/hmesh" hmesh "$CPU_OUT" "$CPU_IN"
URL[haproxy3-mesh]="http://127.0.0.1:$H_OUT/" PROCS[haproxy3-mesh]="${PID[hmesh-out]} ${PID[hmesh-in]}"

for t in "${ORDER[@]}"; do check_body "${LABEL[$t]}" "${URL[$t]}"; done

# --- measuring ---------------------------------------------------------------------------------
# ctx_switches PID...: voluntary + involuntary context switches of every thread so far.
ctx_switches() {
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done \
    | awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {n += $2} END {print n + 0}'
}
# requests WRK_OUTPUT: the number of requests wrk completed.
requests() { awk '/requests in/ {print $1; exit}' <<<"$1"; }

SYSCALLS="sendto recvfrom write read writev readv epoll_wait epoll_ctl clock_gettime"
printf -v HEAD '%-26s %5s %8s %9s %8s' path conns req/s cpu_us/req cs/req
for s in $SYSCALLS; do HEAD+=$(printf ' %9s' "$s"); done
ROWS=()
for t in "${ORDER[@]}"; do
  read -ra pids <<<"${PROCS[$t]}"
  for c in $CONNS_LIST; do
    log "${LABEL[$t]}: wrk -t1 -c$c -d${SECONDS_RUN}s"
    pin "$CPU_LOAD" wrk -t1 -c"$c" -d1s "${URL[$t]}" >/dev/null
    t0=$(cpu_ticks "${pids[@]}") s0=$(ctx_switches "${pids[@]}")
    out=$(pin "$CPU_LOAD" wrk -t1 -c"$c" -d"${SECONDS_RUN}s" "${URL[$t]}")
    t1=$(cpu_ticks "${pids[@]}") s1=$(ctx_switches "${pids[@]}")
    n=$(requests "$out") secs=$SECONDS_RUN
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then printf '%s\n' "$out" >&2; die "wrk completed no request through ${LABEL[$t]}"; fi
    row=$(awk -v n="$n" -v s="$secs" -v a="$t0" -v b="$t1" -v x="$s0" -v y="$s1" -v hz="$(getconf CLK_TCK)" -v l="${LABEL[$t]}" -v c="$c" \
      'BEGIN {printf "%-26s %5d %8.0f %9.1f %8.2f", l, c, n / s, (b - a) / hz * 1e6 / n, (y - x) / n}')
    if [ "$STRACE" = 1 ]; then
      sargs=(); for p in "${pids[@]}"; do sargs+=(-p "$p"); done
      strace -c -f -o "$WORK/strace-$t-$c.txt" "${sargs[@]}" 2>/dev/null &
      spid=$!
      sleep 0.5
      sout=$(pin "$CPU_LOAD" wrk -t1 -c"$c" -d2s "${URL[$t]}")
      kill -INT "$spid" 2>/dev/null || true
      wait "$spid" 2>/dev/null || true
      sn=$(requests "$sout")
      for s in $SYSCALLS; do
        row+=$(awk -v s="$s" -v n="${sn:-0}" '$NF == s {calls = ($4 ~ /^[0-9]+$/) ? $4 : 0} END {if (n > 0) printf " %9.2f", calls / n; else printf " %9s", "?"}' \
          "$WORK/strace-$t-$c.txt" 2>/dev/null || printf ' %9s' '?')
      done
    fi
    ROWS+=("$row")
  done
done

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/cost-latest.txt
{
  report_machine "Per-request cost (bench/cost.sh)" "$LOAD_BEFORE"
  echo "pinning:  nginx cpu${CPU_NGINX:-any}, proxy hops cpu${CPU_OUT:-any}/${CPU_IN:-any}, wrk cpu${CPU_LOAD:-any}"
  echo "load:     wrk -t1 -cN -d${SECONDS_RUN}s after a 1 s warm-up; system calls from a separate 2 s run under strace -c -f"
  echo "mesh:     MLKEM1024 + ML-DSA-65 mTLS between the hops, HTTP/1.1, upstream connections pooled"
  commit_line "$ROOT"
  echo
  echo "$HEAD"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "cpu_us/req: CPU time of the proxy processes (both hops for a mesh) per request; cs/req: their context switches"
  echo "per request; the other columns: system calls of that name per request (all hops), '?' if strace could not count"
} >"$REPORT"
echo
cat "$REPORT"
