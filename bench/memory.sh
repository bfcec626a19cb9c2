#!/usr/bin/env bash
# Benchmark (not a test): memory of one proxy worker, idle and per idle
# keep-alive connection, for aegis-flow vs HAProxy 2.6 (Debian) and HAProxy
# 3.0 on OpenSSL 3.5 (if bench/haproxy3.sh has a cached build), each in
# front of the same nginx, one worker/thread each, one target at a time.
# Prints a report and writes it to bench/results/memory-latest.txt (kept out
# of git); its rows go to make bench's results (bench/lib.sh emit_row).
#
#   bench/memory.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# For each target: start it, 100 warm-up requests on one connection, read
# RSS and PSS from /proc/PID/smaps_rollup ("idle"); open N keep-alive
# connections with bench/idle_conns.py (each sends one GET and reads the whole
# 200 response, then stays idle), read RSS/PSS again with all N open (and
# count them from the server's side with ss), close them, read once more
# ("after close"), stop the target. Per connection = (RSS_N - RSS_idle) / N.
#
# Environment:
#   BENCH_MEM_CONNS=10000     N idle connections per target
#   BENCH_MEM_BATCH=100       connections opened concurrently (listen backlog)
#   BENCH_MEM_SETTLE=2        seconds to wait before each reading (with N open: the
#                             proxy's CPU use over that wait is reported too)
#   BENCH_MEM_TIMEOUT=30      client: seconds per connect (+ TLS handshake) and per request
#   BENCH_MEM_TLS=1           also the TLS variants (0 = plain HTTP only)
#   BENCH_MEM_TARGETS="aegis haproxy haproxy3 aegis-tls haproxy-tls haproxy3-tls"
#   BENCH_BUILD_HAPROXY3=1    build HAProxy 3 (bench/haproxy3.sh build) if not cached
#   BENCH_NICE=-10            as in bench/run.sh
#   BENCH_QUICK=1             short run: N = 1000, 1 s settle, aegis and haproxy (plain) only
#
# Targets from the issue (informative; the script never fails on a number,
# only when a server does not start or a request or connection fails):
# idle RSS <= 20 MiB, <= 10 KiB per idle connection (RSS).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  CONNS=${BENCH_MEM_CONNS:-1000} SETTLE=${BENCH_MEM_SETTLE:-1} TARGETS=${BENCH_MEM_TARGETS:-aegis haproxy}
else
  CONNS=${BENCH_MEM_CONNS:-10000} SETTLE=${BENCH_MEM_SETTLE:-2}
  TARGETS=${BENCH_MEM_TARGETS:-aegis haproxy haproxy3 aegis-tls haproxy-tls haproxy3-tls}
fi
BATCH=${BENCH_MEM_BATCH:-100}
TIMEOUT=${BENCH_MEM_TIMEOUT:-30}
TLS=${BENCH_MEM_TLS:-1}
GOAL_IDLE_MIB=20
GOAL_CONN_KIB=10
PY=/usr/bin/python3

BENCH_LOG_TAG=bench-mem
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/haproxy_mesh.sh
. "$ROOT/bench/haproxy_mesh.sh"   # haproxy_mesh_certs: the TLS certificates
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"       # haproxy3_path, haproxy3_build

want() { [[ " $TARGETS " == *" $1 "* ]] && { [ "$TLS" = 1 ] || [[ "$1" != *-tls ]]; }; }

# --- tools and parameters ------------------------------------------------------
for t in nginx haproxy curl ss "$PY"; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow binary not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$CONNS" =~ ^[0-9]+$ && "$CONNS" -gt 0 ]] || die "BENCH_MEM_CONNS must be a positive integer"
[[ "$BATCH" =~ ^[0-9]+$ && "$BATCH" -gt 0 ]] || die "BENCH_MEM_BATCH must be a positive integer"
[[ "$SETTLE" =~ ^[0-9]+$ ]] || die "BENCH_MEM_SETTLE must be an integer (seconds)"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -gt 0 ]] || die "BENCH_MEM_TIMEOUT must be a positive integer (seconds)"
[ -f /proc/self/smaps_rollup ] || die "/proc/PID/smaps_rollup not available (Linux >= 4.14 needed)"

HAPROXY3=""
HAPROXY3_NOTE=""
if want haproxy3 || want haproxy3-tls; then
  if HAPROXY3=$(haproxy3_path 2>/dev/null); then :
  elif [ "${BENCH_BUILD_HAPROXY3:-0}" = 1 ]; then
    HAPROXY3=$(haproxy3_build) || die "bench/haproxy3.sh build failed"
  else
    HAPROXY3=""
    HAPROXY3_NOTE="HAProxy 3 skipped: no cached build (bench/haproxy3.sh build, or BENCH_BUILD_HAPROXY3=1)"
    log "$HAPROXY3_NOTE"
  fi
fi

# Every server and the client hold N sockets (a proxy: N downstream plus its
# few upstream ones): raise the fd limit before starting them (they inherit it).
NOFILE=$((CONNS + 1024))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$NOFILE" ]; then
  ulimit -Hn "$NOFILE" 2>/dev/null || die "need $NOFILE file descriptors, hard limit is $(ulimit -Hn) (run as root or lower BENCH_MEM_CONNS)"
fi
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$NOFILE" ]; then ulimit -Sn "$NOFILE"; fi

bench_setup_work aegis-bench-mem
bench_setup_nice
# One proxy at a time, so pinning matters less than in bench/run.sh; keep the
# client off the proxy's CPU when there are two or more.
if command -v taskset >/dev/null && [ ${#CPUS[@]} -ge 2 ]; then
  CPU_PROXY=${CPUS[0]} CPU_NGINX=${CPUS[0]} CPU_LOAD=${CPUS[1]}
  PIN_NOTE="proxy+nginx cpu$CPU_PROXY, client cpu$CPU_LOAD"
else
  CPU_PROXY="" CPU_NGINX="" CPU_LOAD=""; PIN_NOTE="none"
fi

# --- nginx (the upstream) ------------------------------------------------------
NGINX_PORT=""
free_port NGINX_PORT
log "starting nginx on 127.0.0.1:$NGINX_PORT"
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
check_body nginx "http://127.0.0.1:$NGINX_PORT/"

if want aegis-tls || want haproxy-tls || want haproxy3-tls; then
  haproxy_mesh_certs "$AEGIS_BIN" ecdsa-p256 "$WORK/certs"
fi

# --- configs -------------------------------------------------------------------
# mem_haproxy_conf DIR PORT [BIND_OPTS]: lib.sh's haproxy_conf with maxconn
# above N and `timeout client` (which idle keep-alive connections fall back to)
# at 300 s, aegis-flow's listener idle_timeout default. HAProxy wants
# 2 x maxconn fds (a client and a server side per connection) and by default
# refuses to start below that; where the hard limit is lower (20000 without
# CAP_SYS_RESOURCE, N = 10000) `ulimit-n` is set to what we have and `no
# strict-limits` lets it start: idle client connections hold no server side
# here, so N + 1024 fds are enough.
mem_haproxy_conf() {
  local dir=$1 port=$2 bind_opts=${3:-}
  haproxy_conf "$dir" "$port" "$NGINX_PORT" "$bind_opts"
  sed -i -e "s/^  maxconn 4096\$/  maxconn $((CONNS + 1024))\n  ulimit-n $(ulimit -Sn)\n  no strict-limits/" \
         -e 's/^  timeout client 60s$/  timeout client 300s/' "$dir/haproxy.cfg"
  if ! grep -q "^  maxconn $((CONNS + 1024))\$" "$dir/haproxy.cfg" || ! grep -q '^  timeout client 300s$' "$dir/haproxy.cfg"; then
    die "lib.sh's haproxy_conf changed: update mem_haproxy_conf in bench/memory.sh"
  fi
}
# mem_aegis_conf FILE PORT ADMIN [tls]: lib.sh's aegis_conf (no downstream
# connection cap exists; listener idle_timeout default 300s, set explicitly),
# with a TLS block on the listener for "tls": the ECDSA P-256 certificate,
# pq_policy compat pinned to X25519 (the Python client's OpenSSL 3.0 has no
# ML-KEM; HAProxy 2.6 negotiates X25519 too).
mem_aegis_conf() {
  local file=$1 port=$2 admin=$3 tls=${4:-} block
  aegis_conf "$file" "$port" "$admin" "$NGINX_PORT"
  block="    idle_timeout: 300s"
  if [ "$tls" = tls ]; then
    block+=$'\n'"    tls:"$'\n'"      cert_file: $WORK/certs/server/cert.pem"$'\n'"      key_file: $WORK/certs/server/key.pem"
    block+=$'\n'"      pq_policy: compat"$'\n'"      groups: [X25519]"
  fi
  awk -v block="$block" '{print} /^    route_config: bench$/ {print block}' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
  if ! vout=$("$AEGIS_BIN" validate -c "$file" 2>&1); then
    printf '%s\n' "$vout" >&2
    die "aegis-flow rejected the generated config $file (errors above; update bench/memory.sh)"
  fi
}

# --- one target ----------------------------------------------------------------
# mem_kib PID: "rss_kib pss_kib" of PID from smaps_rollup.
mem_kib() {
  awk '$1 == "Rss:" {r = $2} $1 == "Pss:" {p = $2} END {print r + 0, p + 0}' "/proc/$1/smaps_rollup"
}
established() {  # established FILTER: TCP connections in state established matching the ss filter
  ss -Htn state established "( $1 )" 2>/dev/null | wc -l
}
stop_server() {  # stop_server NAME: TERM, wait up to 5 s, then KILL
  local pid=${PID[$1]} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

declare -A LABEL RSS0 PSS0 RSSN PSSN RSSC SRV UPS ERRS IDLECPU
# measure_target NAME PORT TLS(0|1): warm-up, idle reading, N connections,
# reading, close, reading; fills the arrays above; dies if a request fails.
measure_target() {
  local name=$1 port=$2 tls=$3 pid=${PID[$1]} py_tls=() ready out rc=0 i open failed closed
  [ "$tls" = 1 ] && py_tls=(--tls)
  log "$name: 100 warm-up requests"
  pin "$CPU_LOAD" "$PY" "$ROOT/bench/idle_conns.py" --port "$port" "${py_tls[@]}" --requests 100 \
    || die "$name: warm-up requests failed"
  sleep "$SETTLE"
  read -r "RSS0[$name]" "PSS0[$name]" <<<"$(mem_kib "$pid")"

  log "$name: opening $CONNS idle keep-alive connections (batches of $BATCH)"
  ready=$WORK/$name.ready out=$WORK/$name.client.log
  rm -f "$ready"
  # Through `start`, so $! is Python itself (it gets SIGUSR1), not a subshell.
  start "$name-client" "$out" "$CPU_LOAD" "$PY" "$ROOT/bench/idle_conns.py" --port "$port" "${py_tls[@]}" \
    --conns "$CONNS" --batch "$BATCH" --timeout "$TIMEOUT" --ready-file "$ready"
  local cpid=${PID[$name-client]}
  for ((i = 0; ; i++)); do
    [ -s "$ready" ] && break
    kill -0 "$cpid" 2>/dev/null || { cat "$out" >&2; die "$name: the client exited before opening its connections"; }
    kill -0 "$pid" 2>/dev/null || die "$name exited while the connections were opened"
    [ "$i" -lt $((CONNS + 600 * 10)) ] || die "$name: $CONNS connections not open after $((CONNS / 10 + 600)) s"
    sleep 0.1
  done
  read -r open failed <<<"$(sed -n '1s/open=\([0-9]*\) failed=\([0-9]*\)/\1 \2/p' "$ready")"
  if [ "${failed:-1}" != 0 ]; then
    kill -TERM "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true
    cat "$ready" >&2
    die "$name: $failed of $CONNS connections failed after $open were open (reasons above)"
  fi
  local c0 c1 t0 t1
  c0=$(cpu_ticks "$pid") t0=$(date +%s.%N)
  sleep "$SETTLE"
  c1=$(cpu_ticks "$pid") t1=$(date +%s.%N)
  IDLECPU[$name]=$(cpu_pct "$c0" "$c1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  SRV[$name]=$(established "sport = :$port")
  UPS[$name]=$(established "dport = :$NGINX_PORT")
  read -r "RSSN[$name]" "PSSN[$name]" <<<"$(mem_kib "$pid")"

  kill -USR1 "$cpid"
  wait "$cpid" || rc=$?
  closed=$(sed -n 's/^closed_by_server=//p' "$out")
  ERRS[$name]=0
  if [ "$rc" != 0 ] || [ "${closed:-x}" != 0 ]; then
    cat "$out" >&2
    ERRS[$name]=${closed:-1}
    log "$name: the server closed ${closed:-?} of the idle connections during the window (client rc $rc)"
  fi
  [ "${SRV[$name]}" -ge "$CONNS" ] || { ERRS[$name]=$((ERRS[$name] + 1)); log "$name: only ${SRV[$name]} of $CONNS connections established on the server side"; }
  sleep "$SETTLE"
  read -r "RSSC[$name]" _ <<<"$(mem_kib "$pid")"
  log "$name: RSS idle ${RSS0[$name]} KiB, with $CONNS connections ${RSSN[$name]} KiB, after close ${RSSC[$name]} KiB"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ORDER=()
for t in aegis haproxy haproxy3 aegis-tls haproxy-tls haproxy3-tls; do
  want "$t" || continue
  case "$t" in haproxy3*) [ -n "$HAPROXY3" ] || continue ;; esac
  tls=0; [[ "$t" == *-tls ]] && tls=1
  free_port port
  dir=$WORK/$t
  case "$t" in
    aegis*)
      free_port admin
      LABEL[$t]="aegis-flow"
      mem_aegis_conf "$dir/aegis-flow.yaml" "$port" "$admin" "$([ "$tls" = 1 ] && echo tls)"
      log "starting $t on 127.0.0.1:$port (admin $admin)"
      logf=$dir/aegis.log
      start "$t" "$logf" "$CPU_PROXY" "$AEGIS_BIN" run -c "$dir/aegis-flow.yaml" --concurrency 1
      wait_up "$t" "${PID[$t]}" "http://127.0.0.1:$admin/ready" "$logf"
      ;;
    haproxy*)
      hap=haproxy; LABEL[$t]="haproxy 2.6"
      [[ "$t" == haproxy3* ]] && { hap=$HAPROXY3; LABEL[$t]="haproxy 3.0"; }
      bind_opts=""; [ "$tls" = 1 ] && bind_opts="ssl crt $WORK/certs/server.pem"
      mem_haproxy_conf "$dir" "$port" "$bind_opts"
      "$hap" -c -q -f "$dir/haproxy.cfg" || die "$hap rejected $dir/haproxy.cfg"
      log "starting $t on 127.0.0.1:$port"
      logf=$dir/haproxy.log
      start "$t" "$logf" "$CPU_PROXY" "$hap" -db -f "$dir/haproxy.cfg"
      ;;
  esac
  [ "$tls" = 1 ] && LABEL[$t]+=" tls"
  wait_port "$t" "$port" "$logf"
  [ "$tls" = 1 ] || check_body "$t" "http://127.0.0.1:$port/"
  ORDER+=("$t")
  measure_target "$t" "$port" "$tls"
  stop_server "$t"
done
[ ${#ORDER[@]} -gt 0 ] || die "no target to run (BENCH_MEM_TARGETS='$TARGETS')"

# --- report --------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_conn() { awk -v a="$1" -v b="$2" -v n="$CONNS" 'BEGIN { printf "%.2f", (b - a) / n }'; }
verdict() { awk -v i="$1" -v c="$2" -v gi="$GOAL_IDLE_MIB" -v gc="$GOAL_CONN_KIB" \
  'BEGIN { printf "%s/%s", (i <= gi ? "PASS" : "MISS"), (c <= gc ? "PASS" : "MISS") }'; }
ver() { "$@" 2>&1 | head -n 1 || true; }

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/memory-latest.txt
{
  report_machine "Aegis-Flow memory benchmark (bench/memory.sh)" "$LOAD_BEFORE"
  echo "pinning:  $PIN_NOTE${BENCH_NICE:+, at nice $BENCH_NICE}"
  echo "method:   one target at a time, one worker/thread; 100 warm-up requests, then RSS/PSS from"
  echo "          /proc/PID/smaps_rollup (idle); $CONNS keep-alive connections (bench/idle_conns.py, batches"
  echo "          of $BATCH), each sent one GET and read its 200, then left idle; RSS/PSS with all open;"
  echo "          per conn = (with N - idle) / N; readings ${SETTLE}s after each step"
  echo "upstream: $NGINX_DESC"
  echo "configs:  aegis-flow run --concurrency 1, http listener (idle_timeout 300s) -> cluster nginx, access log off;"
  echo "          haproxy nbthread 1, maxconn $((CONNS + 1024)), timeout client 300s, http-reuse always"
  if want aegis-tls || want haproxy-tls || want haproxy3-tls; then
    echo "tls:      TLS 1.3, ECDSA P-256 leaf from aegis-flow certs, X25519 (the client is Python/OpenSSL 3.0);"
    echo "          aegis-flow pq_policy compat, groups [X25519]; haproxy bind ... ssl crt"
  fi
  echo "versions: $(ver nginx -v)"
  echo "          $(ver haproxy -v)"
  [ -z "$HAPROXY3" ] || echo "          $(ver "$HAPROXY3" -v) ($(grep -m1 '^Running on OpenSSL' "$(dirname "$HAPROXY3")/haproxy-vv.txt" 2>/dev/null || echo "OpenSSL ?"))"
  echo "          $(ver "$AEGIS_BIN" version)"
  echo "          $(ver "$PY" --version)"
  commit_line "$ROOT"
  [ -z "$HAPROXY3_NOTE" ] || echo "note:     $HAPROXY3_NOTE"
  echo
  printf '%-16s %8s %8s %8s %8s %8s %8s %8s %6s %6s %5s %9s\n' target "idle_RSS" "N_RSS" "KiB/conn" "idle_PSS" "N_PSS" "KiB/conn" "closed" "N_cpu" "srv" "ups" "goals"
  printf '%-16s %8s %8s %8s %8s %8s %8s %8s %6s %6s %5s %9s\n' "" MiB MiB RSS MiB MiB PSS "RSS MiB" "%" conns conns "idle/conn"
  for t in "${ORDER[@]}"; do
    printf '%-16s %8s %8s %8s %8s %8s %8s %8s %6s %6s %5s %9s\n' "${LABEL[$t]}" \
      "$(mib "${RSS0[$t]}")" "$(mib "${RSSN[$t]}")" "$(per_conn "${RSS0[$t]}" "${RSSN[$t]}")" \
      "$(mib "${PSS0[$t]}")" "$(mib "${PSSN[$t]}")" "$(per_conn "${PSS0[$t]}" "${PSSN[$t]}")" \
      "$(mib "${RSSC[$t]}")" "${IDLECPU[$t]}" "${SRV[$t]}" "${UPS[$t]}" \
      "$(verdict "$(mib "${RSS0[$t]}")" "$(per_conn "${RSS0[$t]}" "${RSSN[$t]}")")"
    emit_row memory target="$t" proxy="${LABEL[$t]% tls}" tls="$([[ "$t" == *-tls ]] && echo true || echo false)" \
      idle_rss_kib="${RSS0[$t]}" n_rss_kib="${RSSN[$t]}" kib_per_conn_rss="$(per_conn "${RSS0[$t]}" "${RSSN[$t]}")" \
      idle_pss_kib="${PSS0[$t]}" n_pss_kib="${PSSN[$t]}" kib_per_conn_pss="$(per_conn "${PSS0[$t]}" "${PSSN[$t]}")" \
      closed_rss_kib="${RSSC[$t]}" n_cpu_pct="${IDLECPU[$t]}" server_conns="${SRV[$t]}" upstream_conns="${UPS[$t]}" \
      errors="${ERRS[$t]}" connections="$CONNS"
  done
  echo
  for pair in "aegis haproxy" "aegis haproxy3" "aegis-tls haproxy-tls" "aegis-tls haproxy3-tls"; do
    read -r a b <<<"$pair"
    if [ -z "${RSS0[$a]:-}" ] || [ -z "${RSS0[$b]:-}" ]; then continue; fi
    printf '%-38s idle RSS %s  idle PSS %s  KiB/conn RSS %s  PSS %s\n' "${LABEL[$a]} / ${LABEL[$b]}:" \
      "$(ratio "${RSS0[$a]}" "${RSS0[$b]}")" "$(ratio "${PSS0[$a]}" "${PSS0[$b]}")" \
      "$(ratio "$(per_conn "${RSS0[$a]}" "${RSSN[$a]}")" "$(per_conn "${RSS0[$b]}" "${RSSN[$b]}")")" \
      "$(ratio "$(per_conn "${PSS0[$a]}" "${PSSN[$a]}")" "$(per_conn "${PSS0[$b]}" "${PSSN[$b]}")")"
  done
  echo "(ratios: lower is better for aegis-flow)"
  echo "goals: idle RSS <= $GOAL_IDLE_MIB MiB / <= $GOAL_CONN_KIB KiB RSS per idle connection (PASS/MISS, informative)"
  echo "N_cpu: the proxy's CPU use (100 = one core) over the ${SETTLE}s with all N open and idle"
  echo "srv conns: established on the proxy's port while measuring (ss); ups conns: proxy -> nginx connections then"
  echo "closed: RSS ${SETTLE}s after the client closed all N (memory the allocator kept)"
} >"$REPORT"

finish_report "$REPORT" "connection(s)"
