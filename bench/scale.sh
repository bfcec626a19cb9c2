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
#   BENCH_SCALE_ROUNDS=3        rounds of every (W, target), interleaved; medians reported
#   BENCH_SCALE_H2=1            0: skip the h2load rows
#   BENCH_QUICK=1               short runs (one round, 2 s, 1 s warm-up, no h2load rows): about 20 s
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
  SECONDS_RUN=${BENCH_SCALE_SECONDS:-2} WARMUP=${BENCH_SCALE_WARMUP:-1} ROUNDS=${BENCH_SCALE_ROUNDS:-1}
  H2=${BENCH_SCALE_H2:-0}
else
  SECONDS_RUN=${BENCH_SCALE_SECONDS:-5} WARMUP=${BENCH_SCALE_WARMUP:-2} ROUNDS=${BENCH_SCALE_ROUNDS:-3}
  H2=${BENCH_SCALE_H2:-1}
fi
WORKERS=${BENCH_SCALE_WORKERS:-1 2}
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
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -gt 0 ]] || die "BENCH_SCALE_ROUNDS must be a positive integer"
for w in $WORKERS; do [[ "$w" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE_WORKERS: '$w' is not a positive integer"; done

bench_setup_work aegis-bench-scale
bench_setup_nice

# elapsed T0 T1: seconds between two `date +%s.%N` stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
# busy_ticks: clock ticks all CPUs spent not idle (steal included: lost to us).
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# child_ticks PID: CPU of that shell's finished (waited-for) children, i.e. the
# load generator (PID: the measuring subshell's $BASHPID, not $(...)'s).
child_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $14 + $15}'; }
# load_others SECONDS P0 P1 N0 N1 L0 L1 M0 M1: "load_cpu% others_cpu%", others =
# the machine's busy CPU minus proxy, nginx and load generator (other work, the kernel).
load_others() {
  echo "$(cpu_pct "$6" "$7" "$1") $(cpu_pct 0 "$(($9 - $8 - ($3 - $2) - ($5 - $4) - ($7 - $6)))" "$1")"
}

# measure_wrk NAME NGINX URL W: "req/s p50_us p99_us errors proxy_cpu% nginx_cpu%".
measure_wrk() {
  local name=$1 ngx=$2 url=$3 w=$4 out sum p0 p1 n0 n1 l0 l1 m0 m1 t0 t1 secs me=$BASHPID
  [ "$WARMUP" -eq 0 ] || pin "" wrk -t"$w" -c"$((16 * w))" -d"${WARMUP}s" "$url" >/dev/null
  p0=$(cpu_ticks "${PID[$name]}") n0=$(cpu_ticks "${PID[$ngx]}") l0=$(child_ticks "$me") m0=$(busy_ticks) t0=$(date +%s.%N)
  out=$(pin "" wrk -t"$w" -c"$((16 * w))" -d"${SECONDS_RUN}s" --latency "$url")
  p1=$(cpu_ticks "${PID[$name]}") n1=$(cpu_ticks "${PID[$ngx]}") l1=$(child_ticks "$me") m1=$(busy_ticks) t1=$(date +%s.%N)
  printf '%s\n' "$out" >>"$WORK/wrk-$name.txt"
  sum=$(wrk_summary "$out") || { printf '%s\n' "$out" >&2; die "cannot parse wrk output for $name"; }
  secs=$(elapsed "$t0" "$t1")
  echo "$sum $(cpu_pct "$p0" "$p1" "$secs") $(cpu_pct "$n0" "$n1" "$secs") $(load_others "$secs" "$p0" "$p1" "$n0" "$n1" "$l0" "$l1" "$m0" "$m1")"
}

# measure_h2 NAME NGINX URL W: "req/s mean_us errors proxy_cpu% nginx_cpu%" from h2load.
measure_h2() {
  local name=$1 ngx=$2 url=$3 w=$4 out sum p0 p1 n0 n1 l0 l1 m0 m1 t0 t1 secs me=$BASHPID
  p0=$(cpu_ticks "${PID[$name]}") n0=$(cpu_ticks "${PID[$ngx]}") l0=$(child_ticks "$me") m0=$(busy_ticks) t0=$(date +%s.%N)
  out=$(pin "" h2load -t"$w" -c"$((8 * w))" -m"$H2_STREAMS" -D"$SECONDS_RUN" --warm-up-time="$WARMUP" "$url" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "h2load failed against $name"; }
  p1=$(cpu_ticks "${PID[$name]}") n1=$(cpu_ticks "${PID[$ngx]}") l1=$(child_ticks "$me") m1=$(busy_ticks) t1=$(date +%s.%N)
  printf '%s\n' "$out" >>"$WORK/h2load-$name.txt"
  secs=$(elapsed "$t0" "$t1")
  # (the warm-up is inside the h2load run here: its CPU counts in load% and the seconds)
  sum=$(h2load_summary "$out" "$(cpu_pct "$p0" "$p1" "$secs")" "$(cpu_pct "$n0" "$n1" "$secs")") ||
    { printf '%s\n' "$out" >&2; die "cannot parse h2load output for $name"; }
  echo "$sum $(load_others "$secs" "$p0" "$p1" "$n0" "$n1" "$l0" "$l1" "$m0" "$m1")"
}

# --- servers: one set per worker count, all up at once ------------------------------
# Every W has its own nginx (worker_processes W), aegis-flow (--concurrency W,
# codec auto: HTTP/1.1 and h2c on one listener) and HAProxy (nbthread W; a
# second instance with `bind ... proto h2` for h2c). Idle servers cost no CPU,
# and having all of them up lets every round measure every target back to
# back, so a burst of other work on the machine hits both proxies and both
# worker counts alike instead of one of them.
declare -A URL NGX
port=""
for w in $WORKERS; do
  d=$WORK/w$w
  free_port port; nginx_port=$port
  log "W=$w: nginx worker_processes $w on 127.0.0.1:$nginx_port"
  nginx_conf "$d/nginx" "$nginx_port" "$w"
  start "nginx$w" "$d/nginx/stderr.log" "" nginx -e "$d/nginx/error.log" -p "$d/nginx" -c "$d/nginx/nginx.conf"
  wait_up nginx "${PID[nginx$w]}" "http://127.0.0.1:$nginx_port/" "$d/nginx/error.log"
  check_body nginx "http://127.0.0.1:$nginx_port/"

  free_port port; aegis_port=$port
  free_port port; admin_port=$port
  # h2load keeps c × m streams in flight, each needing an upstream HTTP/1.1
  # connection: a pool larger than the default 64 idle avoids churn (as bench/h2.sh).
  aegis_conf "$d/aegis/aegis-flow.yaml" "$aegis_port" "$admin_port" "$nginx_port" "    max_idle_connections: 1024
"
  if ! vout=$("$AEGIS_BIN" validate -c "$d/aegis/aegis-flow.yaml" 2>&1); then
    printf '%s\n' "$vout" >&2
    die "aegis-flow rejected the generated config (errors above)"
  fi
  log "W=$w: aegis-flow --concurrency $w on 127.0.0.1:$aegis_port"
  start "aegis$w" "$d/aegis/aegis.log" "" "$AEGIS_BIN" run -c "$d/aegis/aegis-flow.yaml" --concurrency "$w"
  wait_up aegis-flow "${PID[aegis$w]}" "http://127.0.0.1:$admin_port/ready" "$d/aegis/aegis.log"
  check_body aegis-flow "http://127.0.0.1:$aegis_port/"
  URL[aegis$w]="http://127.0.0.1:$aegis_port/" URL[aegis_h2$w]="http://127.0.0.1:$aegis_port/"
  PID[aegis_h2$w]=${PID[aegis$w]}

  free_port port; haproxy_port=$port
  haproxy_conf "$d/haproxy" "$haproxy_port" "$nginx_port" "" "" "$w"
  log "W=$w: haproxy nbthread $w on 127.0.0.1:$haproxy_port"
  start "haproxy$w" "$d/haproxy/haproxy.log" "" haproxy -db -f "$d/haproxy/haproxy.cfg"
  wait_up haproxy "${PID[haproxy$w]}" "http://127.0.0.1:$haproxy_port/" "$d/haproxy/haproxy.log"
  check_body haproxy "http://127.0.0.1:$haproxy_port/"
  URL[haproxy$w]="http://127.0.0.1:$haproxy_port/"
  if [ "$H2" != 0 ]; then
    free_port port; haproxy_h2_port=$port
    haproxy_conf "$d/haproxy-h2" "$haproxy_h2_port" "$nginx_port" "proto h2" "" "$w"
    start "haproxy_h2$w" "$d/haproxy-h2/haproxy.log" "" haproxy -db -f "$d/haproxy-h2/haproxy.cfg"
    wait_port "haproxy_h2$w" "$haproxy_h2_port" "$d/haproxy-h2/haproxy.log"
    URL[haproxy_h2$w]="http://127.0.0.1:$haproxy_h2_port/"
  fi
  for t in aegis haproxy aegis_h2 haproxy_h2; do NGX[$t$w]=nginx$w; done
done

# --- load: ROUNDS rounds of every (W, target), proxies alternating first -----------------
ROWS=(aegis haproxy)
[ "$H2" = 0 ] || ROWS+=(aegis_h2 haproxy_h2)
declare -A RPS P50 P99 PCPU NCPU LCPU OCPU EFF ERRS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
  order=("${ROWS[@]}")
  if ((r % 2 == 0)); then order=(haproxy aegis); [ "$H2" = 0 ] || order+=(haproxy_h2 aegis_h2); fi
  for w in $WORKERS; do
    for t in "${order[@]}"; do
      k=$t$w
      if [[ "$t" == *_h2 ]]; then
        log "round $r/$ROUNDS W=$w $t: h2load -t$w -c$((8 * w)) -m$H2_STREAMS -D$SECONDS_RUN (${WARMUP}s warm-up)"
        read -r rps p50 errs pcpu ncpu lcpu ocpu <<<"$(measure_h2 "$k" "${NGX[$k]}" "${URL[$k]}" "$w")"
        p99=0  # h2load gives no percentiles: p50 holds its mean
      else
        log "round $r/$ROUNDS W=$w $t: wrk -t$w -c$((16 * w)) -d${SECONDS_RUN}s (${WARMUP}s warm-up)"
        read -r rps p50 p99 errs pcpu ncpu lcpu ocpu <<<"$(measure_wrk "$k" "${NGX[$k]}" "${URL[$k]}" "$w")"
      fi
      RPS[$k]+="$rps " P50[$k]+="$p50 " P99[$k]+="$p99 " PCPU[$k]+="$pcpu " NCPU[$k]+="$ncpu " LCPU[$k]+="$lcpu " OCPU[$k]+="$ocpu "
      ERRS[$k]=$((${ERRS[$k]:-0} + errs))
      EFF[$k]+="$(awk -v r="$rps" -v c="$pcpu" 'BEGIN { if (c > 0) printf "%.0f", 100 * r / c; else print 0 }') "
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------------
declare -A LABEL=([aegis]="aegis-flow h1" [haproxy]="haproxy h1" [aegis_h2]="aegis-flow h2c" [haproxy_h2]="haproxy h2c")
has() { [ -n "${RPS[$1$2]:-}" ]; }
rps_of() { median <<<"${RPS[$1$2]% }"; }
spread() { tr ' ' '\n' | awk 'NF' | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}'; }

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/scale-latest.txt
{
  report_machine "Aegis-Flow scaling benchmark, 1 and 2 workers (bench/scale.sh)" "$LOAD_BEFORE"
  echo "load avg: $LOAD_AFTER (after the run)"
  echo "pinning:  none, for both proxies (the proxy, nginx and the load generator share all CPUs)${BENCH_NICE:+, at nice $BENCH_NICE}"
  echo "workers:  W in: $WORKERS; aegis-flow run --concurrency W, haproxy nbthread W, nginx worker_processes W"
  echo "rounds:   $ROUNDS, each measuring every (W, target) back to back, the proxies alternating first; medians shown"
  echo "wrk:      -tW -c(16·W) -d${SECONDS_RUN}s --latency after a ${WARMUP}s warm-up"
  [ "$H2" = 0 ] || echo "h2load:   -tW -c(8·W) -m$H2_STREAMS -D${SECONDS_RUN}s --warm-up-time=${WARMUP}s, h2c prior knowledge (aegis-flow: the same listener, codec auto; haproxy: bind ... proto h2); HTTP/1.1 to nginx; h2load gives a mean, not percentiles"
  printf '%s\n' "upstream: nginx return 200 \"hello\\n\" (6-byte body), keep-alive, access_log off"
  echo "versions: $(nginx -v 2>&1 | head -1); $(haproxy -v 2>&1 | head -1); $(wrk -v 2>&1 | head -1)"
  "$AEGIS_BIN" version 2>&1 | head -n 1 | sed 's/^/          /' || true
  commit_line "$ROOT"
  echo
  printf '%-16s %2s %8s %10s %9s %6s %6s %6s %6s %6s %9s  %s\n' target W req/s p50_us p99_us errors proxy% nginx% load% other% req/core "req/s min-max"
  for t in "${ROWS[@]}"; do
    for w in $WORKERS; do
      k=$t$w
      rps=$(rps_of "$t" "$w") p50=$(median <<<"${P50[$k]% }") p99=$(median <<<"${P99[$k]% }")
      cpu=$(median <<<"${PCPU[$k]% }") ncpu=$(median <<<"${NCPU[$k]% }")
      lcpu=$(median <<<"${LCPU[$k]% }") ocpu=$(median <<<"${OCPU[$k]% }")
      if [[ "$t" == *_h2 ]]; then p50=$(printf 'mean %.0f' "$p50") p99=-; else p50=$(printf '%.1f' "$p50") p99=$(printf '%.1f' "$p99"); fi
      printf '%-16s %2s %8.0f %10s %9s %6d %6.0f %6.0f %6.0f %6.0f %9.0f  %s\n' "${LABEL[$t]}" "$w" "$rps" "$p50" "$p99" "${ERRS[$k]}" "$cpu" "$ncpu" "$lcpu" "$ocpu" "$(median <<<"${EFF[$k]% }")" "$(spread <<<"${RPS[$k]}")"
      emit_row scale target="$t" workers="$w" rps="$rps" p50_us="$([[ "$t" == *_h2 ]] || echo "$p50")" \
        p99_us="$([[ "$t" == *_h2 ]] || echo "$p99")" mean_us="$([[ "$t" != *_h2 ]] || median <<<"${P50[$k]% }")" \
        errors="${ERRS[$k]}" proxy_cpu_pct="$cpu" nginx_cpu_pct="$ncpu" load_cpu_pct="$lcpu" other_cpu_pct="$ocpu" \
        req_per_core="$(median <<<"${EFF[$k]% }")" rps_min="$(spread <<<"${RPS[$k]}" | cut -d- -f1)" \
        rps_max="$(spread <<<"${RPS[$k]}" | cut -d- -f2)" seconds="$SECONDS_RUN" rounds="$ROUNDS"
    done
  done
  echo
  if [[ " $WORKERS " == *" 1 "* && " $WORKERS " == *" 2 "* ]]; then
    echo "scaling factor req/s(W=2) / req/s(W=1) (2.00 = linear; compare aegis-flow with haproxy, not with 2.00):"
    for t in "${ROWS[@]}"; do
      if ! has "$t" 1 || ! has "$t" 2; then continue; fi
      printf '  %-16s %s\n' "${LABEL[$t]}" "$(ratio "$(rps_of "$t" 2)" "$(rps_of "$t" 1)")"
    done
    echo "req/s per proxy core, W=2 / W=1 (1.00 = each worker as efficient as one alone, the per-core model; less sensitive to other work than req/s, but a less busy proxy batches less per wake-up):"
    for t in "${ROWS[@]}"; do
      if ! has "$t" 1 || ! has "$t" 2; then continue; fi
      printf '  %-16s %s\n' "${LABEL[$t]}" "$(ratio "$(median <<<"${EFF[${t}2]% }")" "$(median <<<"${EFF[${t}1]% }")")"
    done
  fi
  echo "aegis-flow / haproxy req/s:"
  for w in $WORKERS; do
    line="  W=$w: h1 $(ratio "$(rps_of aegis "$w")" "$(rps_of haproxy "$w")")"
    if has aegis_h2 "$w" && has haproxy_h2 "$w"; then line+="  h2c $(ratio "$(rps_of aegis_h2 "$w")" "$(rps_of haproxy_h2 "$w")")"; fi
    echo "$line"
  done
  echo "cpu: % of one core during the measured run (medians): proxy; nginx (master and workers); load = wrk/h2load;"
  echo "     other = everything else busy on the machine (other work, kernel threads, steal), of $(($(nproc) * 100)) in all; ±3 is tick rounding"
  echo "req/core: req/s divided by the proxy's cores used (req/s × 100 / proxy%), median of the rounds"
  echo "p50/p99 in microseconds (h2c rows: h2load's mean instead)"
  echo "note: $(nproc) CPUs shared by the proxy, nginx and the load generator: W=2 cannot double req/s here"
} >"$REPORT"
finish_report "$REPORT" "request(s)"
