#!/usr/bin/env bash
# Benchmark (not a test): h2load (HTTP/2 cleartext, prior knowledge) against
# (a) nginx directly over h2c, (b) aegis-flow and (c) HAProxy 2.6 taking h2c
# from the client and forwarding over HTTP/1.1 keep-alive to the same nginx,
# and (d) aegis-flow and (e) HAProxy with HTTP/2 on both sides (h2c to
# nginx: cluster protocol: http2, `server ... proto h2`), one worker each,
# all in one run on this machine.
#
#   bench/h2.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# Environment:
#   BENCH_SECONDS=10         measured duration of each h2load run
#   BENCH_WARMUP_SECONDS=2   h2load --warm-up-time
#   BENCH_CONNECTIONS=8      h2load -c
#   BENCH_STREAMS=16         h2load -m (concurrent streams per connection)
#   BENCH_QUICK=1            short runs (2 s after a 1 s warm-up)
#   BENCH_NICE, BENCH_CPU_PROXY, BENCH_CPU_NGINX, BENCH_CPU_LOAD: as in bench/run.sh
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  SECONDS_RUN=${BENCH_SECONDS:-2} WARMUP=${BENCH_WARMUP_SECONDS:-1}
else
  SECONDS_RUN=${BENCH_SECONDS:-10} WARMUP=${BENCH_WARMUP_SECONDS:-2}
fi
CONNS=${BENCH_CONNECTIONS:-8}
STREAMS=${BENCH_STREAMS:-16}

BENCH_LOG_TAG=bench-h2
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for t in nginx haproxy h2load curl; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow binary not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_SECONDS must be a positive integer"

bench_setup_work aegis-bench-h2

# Pinning as bench/run.sh: with 2 CPUs, proxy + nginx on cpu0, h2load alone on cpu1.
CPU_PROXY="" CPU_NGINX="" CPU_LOAD=""
if command -v taskset >/dev/null && [ ${#CPUS[@]} -ge 3 ]; then
  CPU_PROXY=${CPUS[0]} CPU_NGINX=${CPUS[1]} CPU_LOAD=${CPUS[2]}
elif command -v taskset >/dev/null && [ ${#CPUS[@]} -eq 2 ]; then
  CPU_PROXY=${CPUS[0]} CPU_NGINX=${CPUS[0]} CPU_LOAD=${CPUS[1]}
fi
CPU_PROXY=${BENCH_CPU_PROXY:-$CPU_PROXY} CPU_NGINX=${BENCH_CPU_NGINX:-$CPU_NGINX} CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
PIN_NOTE="proxy cpu${CPU_PROXY:-any}, nginx cpu${CPU_NGINX:-any}, h2load cpu${CPU_LOAD:-any}"
bench_setup_nice

# --- nginx: the HTTP/1.1 upstream, and the same server over h2c for (a) ---------
free_port NGINX_PORT
free_port NGINX_H2_PORT
nginx_conf "$WORK/nginx" "$NGINX_PORT"
# The direct target: the same server block also listening with http2 (h2c).
sed -i "s|    listen 127.0.0.1:$NGINX_PORT backlog=4096;|&\n    listen 127.0.0.1:$NGINX_H2_PORT http2;|" "$WORK/nginx/nginx.conf"
grep -q "listen 127.0.0.1:$NGINX_H2_PORT http2;" "$WORK/nginx/nginx.conf" || die "could not add the h2c listener to nginx.conf"
start nginx "$WORK/nginx/stderr.log" "$CPU_NGINX" nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
wait_port nginx "$NGINX_H2_PORT" "$WORK/nginx/error.log"

# --- HAProxy 2.6: h2c in, HTTP/1.1 keep-alive out --------------------------------
free_port HAPROXY_PORT
haproxy_conf "$WORK/haproxy" "$HAPROXY_PORT" "$NGINX_PORT" "proto h2"
start haproxy "$WORK/haproxy/haproxy.log" "$CPU_PROXY" haproxy -db -f "$WORK/haproxy/haproxy.cfg"
wait_port haproxy "$HAPROXY_PORT" "$WORK/haproxy/haproxy.log"

# --- HAProxy 2.6 again, h2c on both sides -------------------------------------------
free_port HAPROXY_H2_PORT
haproxy_conf "$WORK/haproxy-h2" "$HAPROXY_H2_PORT" "$NGINX_H2_PORT" "proto h2" "proto h2"
start haproxy_h2 "$WORK/haproxy-h2/haproxy.log" "$CPU_PROXY" haproxy -db -f "$WORK/haproxy-h2/haproxy.cfg"
wait_port haproxy "$HAPROXY_H2_PORT" "$WORK/haproxy-h2/haproxy.log"

# --- aegis-flow: codec auto (h2c detected), HTTP/1.1 keep-alive out -------------
free_port AEGIS_PORT
free_port AEGIS_ADMIN_PORT
# c × m streams in flight need that many upstream HTTP/1.1 connections; the
# default pool (64 idle per endpoint per worker) would churn them.
aegis_conf "$WORK/aegis/aegis-flow.yaml" "$AEGIS_PORT" "$AEGIS_ADMIN_PORT" "$NGINX_PORT" "    max_idle_connections: 1024
"
"$AEGIS_BIN" validate -c "$WORK/aegis/aegis-flow.yaml" >/dev/null || die "aegis-flow rejected the generated config"
start aegis "$WORK/aegis/aegis.log" "$CPU_PROXY" "$AEGIS_BIN" run -c "$WORK/aegis/aegis-flow.yaml" --concurrency 1
wait_up aegis-flow "${PID[aegis]}" "http://127.0.0.1:$AEGIS_ADMIN_PORT/ready" "$WORK/aegis/aegis.log"

# --- aegis-flow again, HTTP/2 to nginx (cluster protocol: http2) ------------------
free_port AEGIS_H2_PORT
free_port AEGIS_H2_ADMIN_PORT
aegis_conf "$WORK/aegis-h2/aegis-flow.yaml" "$AEGIS_H2_PORT" "$AEGIS_H2_ADMIN_PORT" "$NGINX_H2_PORT" "    protocol: http2
"
"$AEGIS_BIN" validate -c "$WORK/aegis-h2/aegis-flow.yaml" >/dev/null || die "aegis-flow rejected the generated config"
start aegis_h2 "$WORK/aegis-h2/aegis.log" "$CPU_PROXY" "$AEGIS_BIN" run -c "$WORK/aegis-h2/aegis-flow.yaml" --concurrency 1
wait_up aegis-flow "${PID[aegis_h2]}" "http://127.0.0.1:$AEGIS_H2_ADMIN_PORT/ready" "$WORK/aegis-h2/aegis.log"

# --- h2load ------------------------------------------------------------------------
# measure NAME PORT: "req/s mean_us errors proxy_cpu% nginx_cpu%" from one h2load run.
measure() {
  local name=$1 port=$2 out proxy_pid="" p0 p1 n0 n1 t0 t1 secs
  [ "$name" = nginx ] || proxy_pid=${PID[$name]}
  p0=$(cpu_ticks "$proxy_pid") n0=$(cpu_ticks "${PID[nginx]}") t0=$(date +%s.%N)
  out=$(pin "$CPU_LOAD" h2load -c"$CONNS" -m"$STREAMS" -D"$SECONDS_RUN" --warm-up-time="$WARMUP" \
    "http://127.0.0.1:$port/" 2>&1) || { printf '%s\n' "$out" >&2; die "h2load failed against $name"; }
  p1=$(cpu_ticks "$proxy_pid") n1=$(cpu_ticks "${PID[nginx]}") t1=$(date +%s.%N)
  printf '%s\n' "$out" >"$WORK/h2load-$name.txt"
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  h2load_summary "$out" "$(cpu_pct "$p0" "$p1" "$secs")" "$(cpu_pct "$n0" "$n1" "$secs")" ||
    { printf '%s\n' "$out" >&2; die "cannot parse h2load output for $name"; }
}

declare -A PORT LABEL RES ERRS
PORT[nginx]=$NGINX_H2_PORT; LABEL[nginx]="(a) nginx h2c direct"
PORT[aegis]=$AEGIS_PORT;    LABEL[aegis]="(b) aegis-flow h2c→h1"
PORT[haproxy]=$HAPROXY_PORT; LABEL[haproxy]="(c) haproxy h2c→h1"
PORT[aegis_h2]=$AEGIS_H2_PORT; LABEL[aegis_h2]="(d) aegis-flow h2c→h2c"
PORT[haproxy_h2]=$HAPROXY_H2_PORT; LABEL[haproxy_h2]="(e) haproxy h2c→h2c"
TARGETS=(nginx aegis haproxy aegis_h2 haproxy_h2)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for t in "${TARGETS[@]}"; do
  log "${LABEL[$t]}: h2load -c$CONNS -m$STREAMS -D$SECONDS_RUN (warm-up ${WARMUP}s)"
  RES[$t]=$(measure "$t" "${PORT[$t]}")
  ERRS[$t]=$(cut -d' ' -f3 <<<"${RES[$t]}")
done

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/h2-latest.txt
{
  report_machine "Aegis-Flow HTTP/2 benchmark (bench/h2.sh)" "$LOAD_BEFORE"
  echo "pinning:  $PIN_NOTE${BENCH_NICE:+, at nice $BENCH_NICE}"
  echo "h2load:   -c$CONNS -m$STREAMS -D${SECONDS_RUN}s --warm-up-time=${WARMUP}s, h2c prior knowledge"
  echo "upstream: $NGINX_DESC (HTTP/1.1 for b and c, h2c for a, d and e)"
  echo "versions: $(nginx -v 2>&1 | head -1); $(haproxy -v 2>&1 | head -1); $(h2load --version 2>&1 | head -1)"
  commit_line "$ROOT"
  echo
  printf '%-24s %10s %12s %7s %10s %10s\n' target req/s mean_us errors proxy_cpu% nginx_cpu%
  for t in "${TARGETS[@]}"; do
    read -r rps mean errs cpu ncpu <<<"${RES[$t]}"
    [ "$t" != nginx ] || cpu="-"
    printf '%-24s %10.0f %12.1f %7d %10s %10s\n' "${LABEL[$t]}" "$rps" "$mean" "$errs" "$cpu" "$ncpu"
    emit_row h2 target="$t" rps="$rps" mean_us="$mean" errors="$errs" proxy_cpu_pct="${cpu#-}" nginx_cpu_pct="$ncpu" \
      connections="$CONNS" streams="$STREAMS" seconds="$SECONDS_RUN"
  done
  echo
  read -r ra ma _ <<<"${RES[aegis]}"; read -r rh mh _ <<<"${RES[haproxy]}"; read -r rn _ <<<"${RES[nginx]}"
  echo "b/c (aegis-flow / haproxy): req/s $(ratio "$ra" "$rh")  mean latency $(ratio "$ma" "$mh")"
  echo "b/a (aegis-flow / direct):  req/s $(ratio "$ra" "$rn")"
  read -r rd md _ <<<"${RES[aegis_h2]}"; read -r re me _ <<<"${RES[haproxy_h2]}"
  echo "d/e (aegis-flow / haproxy, h2 both sides): req/s $(ratio "$rd" "$re")  mean latency $(ratio "$md" "$me")"
  echo "d/a (aegis-flow h2 both sides / direct):   req/s $(ratio "$rd" "$rn")"
  upstream_conns() {
    curl -fsS --max-time 2 "http://127.0.0.1:$1/stats/prometheus" |
      awk '/^aegis_upstream_connections_total[{ ]/ {n += $NF} END {print n + 0}'
  }
  echo "aegis-flow opened $(upstream_conns "$AEGIS_ADMIN_PORT") HTTP/1.1 and $(upstream_conns "$AEGIS_H2_ADMIN_PORT") HTTP/2 upstream connection(s) (pool reuse check)"
  echo "not measured yet: gRPC unary through the mesh"
} >"$REPORT"
finish_report "$REPORT" "request(s)"
