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
# shellcheck source=bench/cost_paths.sh
. "$ROOT/bench/cost_paths.sh"

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
cost_paths_start "$AEGIS_BIN" "$HAP3" "$AEGIS_BIN" haproxy "$HAP3"

# --- measuring ---------------------------------------------------------------------------------
# ctx_switches PID...: voluntary + involuntary context switches of every thread so far.
ctx_switches() {
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done \
    | awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {n += $2} END {print n + 0}'
}

SYSCALLS="sendto recvfrom write read writev readv epoll_wait epoll_ctl clock_gettime"
printf -v HEAD '%-26s %5s %8s %9s %8s' path conns req/s cpu_us/req cs/req
for s in $SYSCALLS; do HEAD+=$(printf ' %9s' "$s"); done
ROWS=()
for t in "${ORDER[@]}"; do
  pids=(); for n in ${PROCS[$t]}; do pids+=("${PID[$n]}"); done
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
