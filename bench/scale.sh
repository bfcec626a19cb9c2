#!/usr/bin/env bash
# Benchmark (not a test): throughput with 1 and 2 workers (issue 8, scenario 6:
# "the per-core model holds"). For each worker count W, nginx runs with
# worker_processes W, aegis-flow with `run --concurrency W` (plain HTTP/1.1
# listener, codec auto, routing to the nginx cluster as in bench/run.sh) and
# HAProxy 2.6 with `nbthread W`; each proxy is loaded by `wrk -tW -c(16·W)`
# after a warm-up, and (unless BENCH_SCALE_H2=0) by `h2load -tW -c(8·W) -m16`
# over h2c. The report gives req/s, p50/p99, proxy and nginx CPU, the scaling
# factor req/s(W=2)/req/s(W=1) of each proxy and the aegis-flow/HAProxy ratios.
# Written to bench/results/scale-latest.txt (kept out of git).
#
#   bench/scale.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# Environment:
#   BENCH_SCALE_WORKERS="1 2"   worker counts to measure (the factor needs 1 and 2)
#   BENCH_SCALE_SECONDS=5       measured duration of each wrk / h2load run
#   BENCH_SCALE_WARMUP=2        unmeasured seconds before each measured run
#   BENCH_SCALE_H2=1            0: skip the h2load rows
#   BENCH_QUICK=1               short runs (2 s, 1 s warm-up): about 30 s in all
#   BENCH_NICE                  as in bench/run.sh
#
# No CPU pinning here, for either proxy. The point is to give the proxy W
# cores; on a 2-CPU machine W=2 means both CPUs, which the load generator and
# nginx need too. Pinning the proxy to one CPU for W=1 and to both for W=2
# changes two things at once, and pinning wrk/nginx away from the proxy is
# impossible at W=2. So the scheduler places everything, the same way for
# aegis-flow and HAProxy; what is comparable is aegis-flow's scaling factor
# against HAProxy's in the same run, not the factor against the ideal 2.0
# (which a 2-core machine shared with wrk and nginx cannot reach).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
  SECONDS_RUN=${BENCH_SCALE_SECONDS:-2} WARMUP=${BENCH_SCALE_WARMUP:-1}
else
  SECONDS_RUN=${BENCH_SCALE_SECONDS:-5} WARMUP=${BENCH_SCALE_WARMUP:-2}
fi
WORKERS=${BENCH_SCALE_WORKERS:-1 2}
H2=${BENCH_SCALE_H2:-1}
H2_STREAMS=16

BENCH_LOG_TAG=bench-scale
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

tools=(nginx haproxy wrk curl ss)
[ "$H2" = 0 ] || tools+=(h2load)
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow binary not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_SCALE_SECONDS must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_SCALE_WARMUP must be an integer"
for w in $WORKERS; do [[ "$w" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE_WORKERS: '$w' is not a positive integer"; done

bench_setup_work aegis-bench-scale
bench_setup_nice

# stop NAME: stop one server started with `start` (the cleanup trap skips it then).
stop() {
  local pid=${PID[$1]} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# elapsed T0 T1: seconds between two `date +%s.%N` stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }

# measure_wrk NAME URL W: "req/s p50_us p99_us errors proxy_cpu% nginx_cpu%".
measure_wrk() {
  local name=$1 url=$2 w=$3 out sum p0 p1 n0 n1 t0 t1
  [ "$WARMUP" -eq 0 ] || pin "" wrk -t"$w" -c"$((16 * w))" -d"${WARMUP}s" "$url" >/dev/null
  p0=$(cpu_ticks "${PID[$name]}") n0=$(cpu_ticks "${PID[nginx]}") t0=$(date +%s.%N)
  out=$(pin "" wrk -t"$w" -c"$((16 * w))" -d"${SECONDS_RUN}s" --latency "$url")
  p1=$(cpu_ticks "${PID[$name]}") n1=$(cpu_ticks "${PID[nginx]}") t1=$(date +%s.%N)
  printf '%s\n' "$out" >"$WORK/wrk-$name-w$w.txt"
  sum=$(wrk_summary "$out") || { printf '%s\n' "$out" >&2; die "cannot parse wrk output for $name (W=$w)"; }
  echo "$sum $(cpu_pct "$p0" "$p1" "$(elapsed "$t0" "$t1")") $(cpu_pct "$n0" "$n1" "$(elapsed "$t0" "$t1")")"
}

# measure_h2 NAME URL W: "req/s mean_us errors proxy_cpu% nginx_cpu%" from h2load.
measure_h2() {
  local name=$1 url=$2 w=$3 out p0 p1 n0 n1 t0 t1
  p0=$(cpu_ticks "${PID[$name]}") n0=$(cpu_ticks "${PID[nginx]}") t0=$(date +%s.%N)
  out=$(pin "" h2load -t"$w" -c"$((8 * w))" -m"$H2_STREAMS" -D"$SECONDS_RUN" --warm-up-time="$WARMUP" "$url" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "h2load failed against $name (W=$w)"; }
  p1=$(cpu_ticks "${PID[$name]}") n1=$(cpu_ticks "${PID[nginx]}") t1=$(date +%s.%N)
  printf '%s\n' "$out" >"$WORK/h2load-$name-w$w.txt"
  h2load_summary "$out" "$(cpu_pct "$p0" "$p1" "$(elapsed "$t0" "$t1")")" "$(cpu_pct "$n0" "$n1" "$(elapsed "$t0" "$t1")")" ||
    { printf '%s\n' "$out" >&2; die "cannot parse h2load output for $name (W=$w)"; }
}

declare -A RES ERRS
NGINX_PORT="" AEGIS_PORT="" AEGIS_ADMIN_PORT="" HAPROXY_PORT="" HAPROXY_H2_PORT=""
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for w in $WORKERS; do
  # --- nginx with W workers ------------------------------------------------------
  free_port NGINX_PORT
  log "W=$w: nginx worker_processes $w on 127.0.0.1:$NGINX_PORT"
  start_nginx "$WORK/w$w/nginx" "$NGINX_PORT" "" "$w"
  wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/w$w/nginx/error.log"
  check_body nginx "http://127.0.0.1:$NGINX_PORT/"

  # --- aegis-flow --concurrency W (codec auto: HTTP/1.1 and h2c on one listener) ---
  free_port AEGIS_PORT
  free_port AEGIS_ADMIN_PORT
  # h2load keeps c × m streams in flight, each needing an upstream HTTP/1.1
  # connection: a pool larger than the default 64 idle avoids churn (as bench/h2.sh).
  aegis_conf "$WORK/w$w/aegis/aegis-flow.yaml" "$AEGIS_PORT" "$AEGIS_ADMIN_PORT" "$NGINX_PORT" "    max_idle_connections: 1024
"
  if ! vout=$("$AEGIS_BIN" validate -c "$WORK/w$w/aegis/aegis-flow.yaml" 2>&1); then
    printf '%s\n' "$vout" >&2
    die "aegis-flow rejected the generated config (errors above)"
  fi
  start aegis "$WORK/w$w/aegis/aegis.log" "" "$AEGIS_BIN" run -c "$WORK/w$w/aegis/aegis-flow.yaml" --concurrency "$w"
  wait_up aegis-flow "${PID[aegis]}" "http://127.0.0.1:$AEGIS_ADMIN_PORT/ready" "$WORK/w$w/aegis/aegis.log"
  check_body aegis-flow "http://127.0.0.1:$AEGIS_PORT/"

  # --- HAProxy 2.6 nbthread W: HTTP/1.1, and a second frontend for h2c ---------------
  free_port HAPROXY_PORT
  haproxy_conf "$WORK/w$w/haproxy" "$HAPROXY_PORT" "$NGINX_PORT" "" "" "$w"
  start haproxy "$WORK/w$w/haproxy/haproxy.log" "" haproxy -db -f "$WORK/w$w/haproxy/haproxy.cfg"
  wait_up haproxy "${PID[haproxy]}" "http://127.0.0.1:$HAPROXY_PORT/" "$WORK/w$w/haproxy/haproxy.log"
  check_body haproxy "http://127.0.0.1:$HAPROXY_PORT/"
  if [ "$H2" != 0 ]; then
    free_port HAPROXY_H2_PORT
    haproxy_conf "$WORK/w$w/haproxy-h2" "$HAPROXY_H2_PORT" "$NGINX_PORT" "proto h2" "" "$w"
    start haproxy_h2 "$WORK/w$w/haproxy-h2/haproxy.log" "" haproxy -db -f "$WORK/w$w/haproxy-h2/haproxy.cfg"
    wait_port haproxy_h2 "$HAPROXY_H2_PORT" "$WORK/w$w/haproxy-h2/haproxy.log"
  fi

  # --- load ---------------------------------------------------------------------------
  log "W=$w: aegis-flow: wrk -t$w -c$((16 * w)) -d${SECONDS_RUN}s (after ${WARMUP}s warm-up)"
  RES[aegis,$w]=$(measure_wrk aegis "http://127.0.0.1:$AEGIS_PORT/" "$w")
  log "W=$w: haproxy: wrk -t$w -c$((16 * w)) -d${SECONDS_RUN}s (after ${WARMUP}s warm-up)"
  RES[haproxy,$w]=$(measure_wrk haproxy "http://127.0.0.1:$HAPROXY_PORT/" "$w")
  ERRS[aegis,$w]=$(cut -d' ' -f4 <<<"${RES[aegis,$w]}")
  ERRS[haproxy,$w]=$(cut -d' ' -f4 <<<"${RES[haproxy,$w]}")
  if [ "$H2" != 0 ]; then
    log "W=$w: aegis-flow h2c: h2load -t$w -c$((8 * w)) -m$H2_STREAMS -D$SECONDS_RUN"
    RES[aegis_h2,$w]=$(measure_h2 aegis "http://127.0.0.1:$AEGIS_PORT/" "$w")
    log "W=$w: haproxy h2c: h2load -t$w -c$((8 * w)) -m$H2_STREAMS -D$SECONDS_RUN"
    RES[haproxy_h2,$w]=$(measure_h2 haproxy_h2 "http://127.0.0.1:$HAPROXY_H2_PORT/" "$w")
    ERRS[aegis_h2,$w]=$(cut -d' ' -f3 <<<"${RES[aegis_h2,$w]}")
    ERRS[haproxy_h2,$w]=$(cut -d' ' -f3 <<<"${RES[haproxy_h2,$w]}")
  fi

  stop aegis; stop haproxy; [ "$H2" = 0 ] || stop haproxy_h2; stop nginx
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------------
declare -A LABEL=([aegis]="aegis-flow h1" [haproxy]="haproxy h1" [aegis_h2]="aegis-flow h2c" [haproxy_h2]="haproxy h2c")
ROWS=(aegis haproxy)
[ "$H2" = 0 ] || ROWS+=(aegis_h2 haproxy_h2)
rps_of() { cut -d' ' -f1 <<<"${RES[$1,$2]:-}"; }
has() { [ -n "${RES[$1,$2]:-}" ]; }

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/scale-latest.txt
{
  report_machine "Aegis-Flow scaling benchmark, 1 and 2 workers (bench/scale.sh)" "$LOAD_BEFORE"
  echo "load avg: $LOAD_AFTER (after the run)"
  echo "pinning:  none, for both proxies (the proxy, nginx and the load generator share all CPUs)${BENCH_NICE:+, at nice $BENCH_NICE}"
  echo "workers:  W in: $WORKERS; aegis-flow run --concurrency W, haproxy nbthread W, nginx worker_processes W"
  echo "wrk:      -tW -c(16·W) -d${SECONDS_RUN}s --latency after a ${WARMUP}s warm-up"
  [ "$H2" = 0 ] || echo "h2load:   -tW -c(8·W) -m$H2_STREAMS -D${SECONDS_RUN}s --warm-up-time=${WARMUP}s, h2c prior knowledge (aegis-flow: the same listener, codec auto; haproxy: bind ... proto h2); HTTP/1.1 to nginx"
  printf '%s\n' "upstream: nginx return 200 \"hello\\n\" (6-byte body), keep-alive, access_log off"
  echo "versions: $(nginx -v 2>&1 | head -1); $(haproxy -v 2>&1 | head -1); $(wrk -v 2>&1 | head -1)"
  "$AEGIS_BIN" version 2>&1 | head -n 1 | sed 's/^/          /' || true
  commit_line "$ROOT"
  echo
  printf '%-16s %2s %10s %9s %9s %7s %10s %10s\n' target W req/s p50_us p99_us errors proxy_cpu% nginx_cpu%
  for t in "${ROWS[@]}"; do
    for w in $WORKERS; do
      has "$t" "$w" || continue
      if [[ "$t" == *_h2 ]]; then
        read -r rps mean errs cpu ncpu <<<"${RES[$t,$w]}"
        printf '%-16s %2s %10.0f %9s %9s %7d %10s %10s   (h2load: mean %.1f us)\n' "${LABEL[$t]}" "$w" "$rps" - - "$errs" "$cpu" "$ncpu" "$mean"
      else
        read -r rps p50 p99 errs cpu ncpu <<<"${RES[$t,$w]}"
        printf '%-16s %2s %10.0f %9.1f %9.1f %7d %10s %10s\n' "${LABEL[$t]}" "$w" "$rps" "$p50" "$p99" "$errs" "$cpu" "$ncpu"
      fi
    done
  done
  echo
  if [[ " $WORKERS " == *" 1 "* && " $WORKERS " == *" 2 "* ]]; then
    echo "scaling factor req/s(W=2) / req/s(W=1) (2.00 = linear; compare aegis-flow with haproxy, not with 2.00):"
    for t in "${ROWS[@]}"; do
      if ! has "$t" 1 || ! has "$t" 2; then continue; fi
      printf '  %-16s %s\n' "${LABEL[$t]}" "$(ratio "$(rps_of "$t" 2)" "$(rps_of "$t" 1)")"
    done
  fi
  echo "aegis-flow / haproxy req/s:"
  for w in $WORKERS; do
    line="  W=$w: h1 $(ratio "$(rps_of aegis "$w")" "$(rps_of haproxy "$w")")"
    if has aegis_h2 "$w" && has haproxy_h2 "$w"; then line+="  h2c $(ratio "$(rps_of aegis_h2 "$w")" "$(rps_of haproxy_h2 "$w")")"; fi
    echo "$line"
  done
  echo "cpu%: CPU used by that process (nginx: master and workers) during the measured run, 100 = one core; p50/p99 in microseconds"
  echo "note: $(nproc) CPUs shared by the proxy, nginx and the load generator: W=2 cannot double req/s here"
} >"$REPORT"
finish_report "$REPORT" "request(s)"
