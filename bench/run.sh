#!/usr/bin/env bash
# Benchmark (not a test): wrk against (a) nginx directly, (b) aegis-flow and
# (c) HAProxy 2.6, both proxies in front of that same nginx, one worker each,
# all in one run on this machine. Prints a report and writes it to
# bench/results/latest.txt (kept out of git); its rows go to make bench's
# results (bench/lib.sh emit_row, bench/report.py).
#
#   bench/run.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# Environment:
#   BENCH_SECONDS=10         measured duration of each wrk run
#   BENCH_WARMUP_SECONDS=2   unmeasured wrk run before each measured one
#   BENCH_CONNECTIONS=16     wrk -c (wrk always runs with -t1)
#   BENCH_ROUNDS=1           rounds of (a,b,c); with >1 each metric is the median
#   BENCH_TARGETS="nginx aegis haproxy"   subset to run (the ratios need aegis and haproxy)
#   BENCH_CPU_PROXY, BENCH_CPU_NGINX, BENCH_CPU_LOAD   override the pinning (taskset -c lists)
#   BENCH_QUICK=1            short runs (2 s after a 1 s warm-up), for make bench QUICK=1
#   BENCH_NICE=-10           run servers and wrk at this nice level, and set this session's
#                            sched autogroup to it too (negative needs root): softens, but
#                            does not remove, interference from other work on a shared
#                            machine; recorded in the report
#
# CPU pinning. The number we care about is b/c: each proxy must run under the
# same conditions, and the load generator must not steal the proxy's core.
#   >= 3 CPUs: proxy on cpu A, nginx on cpu B, wrk on cpu C (all separate).
#   2 CPUs:    proxy and nginx on cpu0, wrk alone on cpu1. wrk (-t1) needs a
#              whole core to generate ~100k+ req/s; sharing it with the proxy
#              would measure wrk as much as the proxy. nginx's share of cpu0 is
#              the same per request for (b) and (c), so the comparison stays fair;
#              for (a) nginx has cpu0 to itself, which is the "no proxy" ceiling.
#              (This is also the layout behind the issue's reference figures, about
#              130k req/s direct and 60k through HAProxy. The other layout, proxy
#              alone on cpu0 with nginx and wrk on cpu1, makes wrk+nginx the limit
#              for a fast proxy and lowers (a); try it with BENCH_CPU_*.)
#   1 CPU:     no pinning (numbers are then only roughly comparable).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  SECONDS_RUN=${BENCH_SECONDS:-2} WARMUP=${BENCH_WARMUP_SECONDS:-1}
else
  SECONDS_RUN=${BENCH_SECONDS:-10} WARMUP=${BENCH_WARMUP_SECONDS:-2}
fi
CONNS=${BENCH_CONNECTIONS:-16}
ROUNDS=${BENCH_ROUNDS:-1}
TARGETS=${BENCH_TARGETS:-nginx aegis haproxy}

BENCH_LOG_TAG=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

want() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- tools -------------------------------------------------------------------
for t in nginx haproxy wrk curl ss; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
if want aegis; then
  [ -x "$AEGIS_BIN" ] || die "aegis-flow binary not found at $AEGIS_BIN (build it with: make build)"
  AEGIS_BIN=$(cd "$(dirname "$AEGIS_BIN")" && pwd)/$(basename "$AEGIS_BIN")
fi
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_SECONDS must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP_SECONDS must be an integer"
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -gt 0 ]] || die "BENCH_ROUNDS must be a positive integer"

# --- processes and cleanup ---------------------------------------------------
bench_setup_work aegis-bench

# --- CPU pinning ---------------------------------------------------------------
if ! command -v taskset >/dev/null; then
  CPU_PROXY="" CPU_NGINX="" CPU_LOAD=""; PIN_NOTE="none (taskset not found)"
elif [ ${#CPUS[@]} -ge 3 ]; then
  CPU_PROXY=${CPUS[0]} CPU_NGINX=${CPUS[1]} CPU_LOAD=${CPUS[2]}
  PIN_NOTE="proxy cpu$CPU_PROXY, nginx cpu$CPU_NGINX, wrk cpu$CPU_LOAD"
elif [ ${#CPUS[@]} -eq 2 ]; then
  CPU_PROXY=${CPUS[0]} CPU_NGINX=${CPUS[0]} CPU_LOAD=${CPUS[1]}
  PIN_NOTE="proxy+nginx cpu$CPU_PROXY, wrk cpu$CPU_LOAD"
else
  CPU_PROXY="" CPU_NGINX="" CPU_LOAD=""; PIN_NOTE="none (1 CPU)"
fi
if [ -n "${BENCH_CPU_PROXY:-}${BENCH_CPU_NGINX:-}${BENCH_CPU_LOAD:-}" ]; then
  CPU_PROXY=${BENCH_CPU_PROXY:-$CPU_PROXY} CPU_NGINX=${BENCH_CPU_NGINX:-$CPU_NGINX}
  CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
  PIN_NOTE="proxy cpu${CPU_PROXY:-any}, nginx cpu${CPU_NGINX:-any}, wrk cpu${CPU_LOAD:-any} (from BENCH_CPU_*)"
fi
bench_setup_nice

# --- nginx (the upstream) ----------------------------------------------------
free_port NGINX_PORT
log "starting nginx on 127.0.0.1:$NGINX_PORT"
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
check_body nginx "http://127.0.0.1:$NGINX_PORT/"

# --- HAProxy -------------------------------------------------------------------
if want haproxy; then
  free_port HAPROXY_PORT
  haproxy_conf "$WORK/haproxy" "$HAPROXY_PORT" "$NGINX_PORT"
  log "starting haproxy on 127.0.0.1:$HAPROXY_PORT"
  start haproxy "$WORK/haproxy/haproxy.log" "$CPU_PROXY" haproxy -db -f "$WORK/haproxy/haproxy.cfg"
  wait_up haproxy "${PID[haproxy]}" "http://127.0.0.1:$HAPROXY_PORT/" "$WORK/haproxy/haproxy.log"
  check_body haproxy "http://127.0.0.1:$HAPROXY_PORT/"
fi

# --- aegis-flow ----------------------------------------------------------------
if want aegis; then
  free_port AEGIS_PORT
  free_port AEGIS_ADMIN_PORT
  aegis_conf "$WORK/aegis/aegis-flow.yaml" "$AEGIS_PORT" "$AEGIS_ADMIN_PORT" "$NGINX_PORT"
  if ! vout=$("$AEGIS_BIN" validate -c "$WORK/aegis/aegis-flow.yaml" 2>&1); then
    printf '%s\n' "$vout" >&2
    die "aegis-flow rejected the generated config (errors above; the schema may have changed: update bench/run.sh)"
  fi
  log "starting aegis-flow on 127.0.0.1:$AEGIS_PORT (admin $AEGIS_ADMIN_PORT)"
  start aegis "$WORK/aegis/aegis.log" "$CPU_PROXY" "$AEGIS_BIN" run -c "$WORK/aegis/aegis-flow.yaml" --concurrency 1
  wait_up aegis-flow "${PID[aegis]}" "http://127.0.0.1:$AEGIS_ADMIN_PORT/ready" "$WORK/aegis/aegis.log"
  wait_up aegis-flow "${PID[aegis]}" "http://127.0.0.1:$AEGIS_PORT/" "$WORK/aegis/aegis.log"
  check_body aegis-flow "http://127.0.0.1:$AEGIS_PORT/"
fi

# --- wrk -------------------------------------------------------------------------
# measure NAME URL ROUND: warm up, run wrk, print
# "rps p50_us p99_us errors proxy_cpu% nginx_cpu%" and keep the raw output.
measure() {
  local name=$1 url=$2 round=$3 out sum rps p50 p99 errs proxy_pid="" p0 p1 n0 n1 t0 t1
  [ "$name" = nginx ] || proxy_pid=${PID[$name]}
  if [ "$WARMUP" -gt 0 ]; then
    pin "$CPU_LOAD" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null
  fi
  p0=$(cpu_ticks "$proxy_pid") n0=$(cpu_ticks "${PID[nginx]}") t0=$(date +%s.%N)
  out=$(pin "$CPU_LOAD" wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "$url")
  p1=$(cpu_ticks "$proxy_pid") n1=$(cpu_ticks "${PID[nginx]}") t1=$(date +%s.%N)
  printf '%s\n' "$out" >"$WORK/wrk-$name-$round.txt"
  sum=$(wrk_summary "$out") || { printf '%s\n' "$out" >&2; die "cannot parse wrk output for $name"; }
  read -r rps p50 p99 errs <<<"$sum"
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  echo "$rps $p50 $p99 $errs $(cpu_pct "$p0" "$p1" "$secs") $(cpu_pct "$n0" "$n1" "$secs")"
}

declare -A URL LABEL RPS P50 P99 ERRS PCPU NCPU
URL[nginx]="http://127.0.0.1:$NGINX_PORT/";          LABEL[nginx]="(a) nginx direct"
URL[aegis]="http://127.0.0.1:${AEGIS_PORT:-0}/";     LABEL[aegis]="(b) aegis-flow"
URL[haproxy]="http://127.0.0.1:${HAPROXY_PORT:-0}/"; LABEL[haproxy]="(c) haproxy"
ORDER=()
for t in nginx aegis haproxy; do want "$t" && ORDER+=("$t"); done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${ORDER[@]}"; do
    log "round $r/$ROUNDS: ${LABEL[$t]}: wrk -t1 -c$CONNS -d${SECONDS_RUN}s --latency (after ${WARMUP}s warm-up)"
    res=$(measure "$t" "${URL[$t]}" "$r")
    read -r rps p50 p99 errs pcpu ncpu <<<"$res"
    RPS[$t]+="$rps " P50[$t]+="$p50 " P99[$t]+="$p99 " ERRS[$t]=$((${ERRS[$t]:-0} + errs))
    PCPU[$t]+="$pcpu " NCPU[$t]+="$ncpu "
  done
done

# --- report ----------------------------------------------------------------------
upstream_conns() {
  curl -fsS --max-time 2 "http://127.0.0.1:$AEGIS_ADMIN_PORT/stats/prometheus" 2>/dev/null \
    | awk '/^aegis_upstream_connections_total[{ ]/ {n += $NF; found = 1} END {if (found) print n; else print "?"}'
}
ver() { "$@" 2>&1 | head -n "${VER_LINES:-1}" || true; }

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/latest.txt
{
  report_machine "Aegis-Flow benchmark (bench/run.sh)" "$LOAD_BEFORE"
  echo "pinning:  $PIN_NOTE${BENCH_NICE:+, servers and wrk at nice $BENCH_NICE}${AUTOGROUP_NICE_BEFORE:+ (and their autogroup)}"
  echo "wrk:      -t1 -c$CONNS -d${SECONDS_RUN}s --latency, ${WARMUP}s warm-up per target, $ROUNDS round(s)$([ "$ROUNDS" -gt 1 ] && echo ', medians shown')"
  echo "upstream: $NGINX_DESC"
  echo "versions: $(ver nginx -v)"
  echo "          $(ver haproxy -v)"
  if want aegis; then VER_LINES=2 ver "$AEGIS_BIN" version | sed 's/^/          /'; fi
  echo "          $(ver wrk -v)"
  commit_line "$ROOT"
  echo
  printf '%-18s %10s %9s %9s %7s %10s %10s\n' target req/s p50_us p99_us errors proxy_cpu% nginx_cpu%
  for t in "${ORDER[@]}"; do
    RPS[$t]=$(median <<<"${RPS[$t]% }") P50[$t]=$(median <<<"${P50[$t]% }") P99[$t]=$(median <<<"${P99[$t]% }")
    PCPU[$t]=$(median <<<"${PCPU[$t]% }") NCPU[$t]=$(median <<<"${NCPU[$t]% }")
    pc=$(printf '%.0f' "${PCPU[$t]}"); [ "$t" != nginx ] || pc="-"
    printf '%-18s %10.0f %9.1f %9.1f %7d %10s %10.0f\n' "${LABEL[$t]}" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "${ERRS[$t]}" "$pc" "${NCPU[$t]}"
    emit_row http target="$t" rps="${RPS[$t]}" p50_us="${P50[$t]}" p99_us="${P99[$t]}" errors="${ERRS[$t]}" \
      proxy_cpu_pct="$([ "$t" = nginx ] || echo "${PCPU[$t]}")" nginx_cpu_pct="${NCPU[$t]}" \
      connections="$CONNS" seconds="$SECONDS_RUN" rounds="$ROUNDS"
  done
  echo
  if want aegis && want haproxy; then
    echo "b/c (aegis-flow / haproxy): req/s $(ratio "${RPS[aegis]}" "${RPS[haproxy]}")  p50 $(ratio "${P50[aegis]}" "${P50[haproxy]}")  p99 $(ratio "${P99[aegis]}" "${P99[haproxy]}")"
    echo "   (req/s: higher is better for aegis-flow, target >= 1.00; p50/p99: lower is better)"
  fi
  want aegis && echo "b/a (aegis-flow / direct):  req/s $(ratio "${RPS[aegis]}" "${RPS[nginx]}")"
  want haproxy && echo "c/a (haproxy / direct):     req/s $(ratio "${RPS[haproxy]}" "${RPS[nginx]}")"
  if want aegis; then
    echo "aegis-flow opened $(upstream_conns) upstream connection(s) in total (keep-alive reuse check)"
  fi
  echo "cpu%: CPU used by that process during the measured run (100 = one full core); p50/p99 in microseconds"
} >"$REPORT"

echo
cat "$REPORT"
echo
total_errs=0
for t in "${ORDER[@]}"; do total_errs=$((total_errs + ERRS[$t])); done
if [ "$total_errs" -gt 0 ]; then
  log "some requests failed (errors column above): these numbers are not valid; raw wrk output was in $WORK"
  for t in "${ORDER[@]}"; do [ "${ERRS[$t]}" -eq 0 ] || cat "$WORK/wrk-$t-1.txt" >&2; done
  exit 1
fi
log "report written to ${REPORT#"$ROOT"/}${BENCH_JSONL:+; rows in $BENCH_JSONL (make bench: bench/report.py)}"
