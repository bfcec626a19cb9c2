# shellcheck shell=bash
# shellcheck disable=SC2034  # CPUS, NGINX_DESC, WORK are for the sourcing script
# Helpers shared by the benchmark scripts (bench/run.sh, bench/tls.sh,
# bench/mesh.sh and the others). Sourced, not run. The script sets BENCH_LOG_TAG (log prefix)
# before sourcing and then calls bench_setup_work PREFIX.
#
# What is here: logging, the temporary work directory with a cleanup trap that
# stops every server started with `start`, CPU list parsing, BENCH_NICE, taskset
# pinning, free ports, waiting for servers, the nginx upstream config, CPU
# accounting, wrk output parsing, medians and ratios, the machine lines at
# the top of each report, and emit_row (one JSON object per measured row, for
# make bench's bench/report.py).

log() { printf '[%s] %s\n' "${BENCH_LOG_TAG:-bench}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${BENCH_LOG_TAG:-bench}" "$*" >&2; exit 1; }
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

# --- processes and cleanup ---------------------------------------------------
# bench_setup_work PREFIX: WORK=/tmp/PREFIX.XXXXXX, removed on exit after every
# process in PIDS has been stopped (TERM, then KILL after 5 s).
PIDS=()
declare -A PID
bench_setup_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -z "${WORK:-}" ] || [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$WORK"
  if [ -n "${AUTOGROUP_NICE_BEFORE:-}" ]; then echo "$AUTOGROUP_NICE_BEFORE" >/proc/$$/autogroup 2>/dev/null || true; fi
  exit "$rc"
}

# --- CPUs, nice, pinning -------------------------------------------------------
expand_cpus() {  # "0-2,5" -> "0 1 2 5"
  local part a b i ec_out=() parts
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ "$part" == *-* ]]; then a=${part%-*}; b=${part#*-}; for ((i = a; i <= b; i++)); do ec_out+=("$i"); done
    else ec_out+=("$part"); fi
  done
  echo "${ec_out[@]}"
}
# CPUS: the CPUs this process may run on.
read -ra CPUS <<<"$(expand_cpus "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)")"

# bench_setup_nice: BENCH_NICE -> NICE=(nice -n N), and this session's sched
# autogroup at the same level (with sched_autogroup on, plain nice only ranks
# processes within one session); restored on exit.
NICE=()
bench_setup_nice() {
  [ -n "${BENCH_NICE:-}" ] || return 0
  [[ "$BENCH_NICE" =~ ^-?[0-9]+$ ]] || die "BENCH_NICE must be an integer"
  if [ "$(nice -n "$BENCH_NICE" nice 2>/dev/null)" != "$BENCH_NICE" ]; then
    die "cannot run at nice $BENCH_NICE (negative values need root)"
  fi
  NICE=(nice -n "$BENCH_NICE")
  if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] && [ -w /proc/self/autogroup ]; then
    AUTOGROUP_NICE_BEFORE=$(awk '{print $3}' /proc/$$/autogroup)
    echo "$BENCH_NICE" >/proc/$$/autogroup 2>/dev/null || AUTOGROUP_NICE_BEFORE=""
  fi
}
pin() {  # pin CPULIST cmd... (CPULIST may be empty: no pinning)
  local cpus=$1; shift
  if [ -n "$cpus" ]; then "${NICE[@]}" taskset -c "$cpus" "$@"; else "${NICE[@]}" "$@"; fi
}

# --- ports and servers ---------------------------------------------------------
USED_PORTS=" "
free_port() {  # free_port VAR: set VAR to a TCP port nobody uses (in any state)
  local fp_
  for _ in $(seq 200); do
    fp_=$((20000 + RANDOM % 30000))
    [[ "$USED_PORTS" == *" $fp_ "* ]] && continue
    if [ -z "$(ss -Htan "sport = :$fp_" 2>/dev/null)" ]; then USED_PORTS+="$fp_ "; printf -v "$1" '%s' "$fp_"; return; fi
  done
  die "no free TCP port found on 127.0.0.1"
}
# start NAME LOGFILE CPUS cmd...: start in the background (pinned, niced),
# remember the PID in PID[NAME]; $! is the server itself (nice and taskset exec it).
start() {
  local name=$1 logf=$2 cpus=$3 pre=(); shift 3
  [ -z "$cpus" ] || pre=(taskset -c "$cpus")
  "${NICE[@]}" "${pre[@]}" "$@" >"$logf" 2>&1 </dev/null &
  PIDS+=("$!")
  PID[$name]=$!
}
# start_in DIR NAME LOGFILE CPUS cmd...: the same, with DIR as working directory.
start_in() {
  local dir=$1 name=$2 logf=$3 cpus=$4 pre=(); shift 4
  [ -z "$cpus" ] || pre=(taskset -c "$cpus")
  (cd "$dir" && exec "${NICE[@]}" "${pre[@]}" "$@" >"$logf" 2>&1 </dev/null) &
  PIDS+=("$!")
  PID[$name]=$!
}
# wait_up NAME PID URL LOG [SECONDS]: the server answers 200 on URL within SECONDS (default 10), or die with its log.
wait_up() {
  local name=$1 pid=$2 url=$3 logf=$4 secs=${5:-10}
  for _ in $(seq $((secs * 10))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logf" >&2 || true
      die "$name exited during start-up (log above, from $logf)"
    fi
    if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 30 "$logf" >&2 || true
  die "$name did not answer 200 on $url within $secs s (log above)"
}
# wait_port NAME PORT LOG: PID[NAME] accepts on 127.0.0.1:PORT within 10 s.
wait_port() {
  local name=$1 port=$2 logf=$3
  for _ in $(seq 100); do
    kill -0 "${PID[$name]}" 2>/dev/null || { tail -n 30 "$logf" >&2 || true; die "$name exited during start-up (log above)"; }
    [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] || return 0
    sleep 0.1
  done
  tail -n 30 "$logf" >&2 || true
  die "$name does not listen on 127.0.0.1:$port after 10 s (log above)"
}
# check_body NAME URL: one request through the path returns nginx's body.
check_body() {
  local body
  body=$(curl -fsS --max-time 2 "$2") || die "$1: request to $2 failed"
  [ "$body" = "hello" ] || die "$1: expected body 'hello' from $2, got '$body'"
}

# nginx_conf DIR PORT [WORKERS]: the upstream every suite uses, written to
# DIR/nginx.conf: one worker (WORKERS, default 1: worker_processes), `return 200
# "hello\n"` (6-byte body), keep-alive without a request limit, no access log.
# Start it with start_nginx.
NGINX_DESC='nginx worker_processes 1, return 200 "hello\n" (6-byte body), keep-alive, access_log off'
nginx_conf() {
  local dir=$1 port=$2 workers=${3:-1}
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / {
      default_type text/plain;
      return 200 "hello\n";
    }
  }
}
EOF
}
start_nginx() {  # start_nginx DIR PORT CPUS [WORKERS]: PID[nginx]
  nginx_conf "$1" "$2" "${4:-1}"
  start nginx "$1/stderr.log" "$3" nginx -e "$1/error.log" -p "$1" -c "$1/nginx.conf"
}

# aegis_conf FILE PORT ADMIN_PORT NGINX_PORT [EXTRA]: the aegis-flow config of the
# one-hop suites: one HTTP listener on PORT routing everything to the nginx
# upstream; EXTRA = more cluster fields (4-space indent).
aegis_conf() {
  local file=$1 port=$2 admin=$3 nginx_port=$4 extra=${5:-}
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<EOF
admin:
  address: 127.0.0.1
  port: $admin
access_log:
  path: ""
drain_timeout: 1s
listeners:
  - name: bench
    address: 127.0.0.1
    port: $port
    protocol: http
    route_config: bench
route_configs:
  - name: bench
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: all
            match:
              prefix: /
            route:
              cluster: nginx
clusters:
  - name: nginx
    lb_policy: round_robin
    endpoints: ["127.0.0.1:$nginx_port"]
EOF
  printf '%s' "$extra" >>"$file"
}

# haproxy_conf DIR PORT NGINX_PORT [BIND_OPTS [SERVER_OPTS [NBTHREAD]]]: HAProxy
# in front of the nginx upstream, one thread (NBTHREAD, default 1), `http-reuse
# always`, written to DIR/haproxy.cfg and checked; BIND_OPTS e.g. "proto h2"
# (h2c from the client), SERVER_OPTS e.g. "proto h2" (h2c to nginx).
# haproxy_head [NBTHREAD]: the global and defaults sections every benchmark
# HAProxy shares: one thread (default), HTTP mode, upstream connections reused
# (bench/haproxy_mesh.sh too).
haproxy_head() {
  cat <<EOF
global
  nbthread ${1:-1}
  maxconn 4096

defaults
  mode http
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
EOF
}
haproxy_conf() {
  local dir=$1 port=$2 nginx_port=$3 bind_opts=${4:-} server_opts=${5:-} nbthread=${6:-1}
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<EOF
$(haproxy_head "$nbthread")

frontend bench
  bind 127.0.0.1:$port${bind_opts:+ $bind_opts}
  default_backend nginx

backend nginx
  server nginx 127.0.0.1:$nginx_port${server_opts:+ $server_opts}
EOF
  haproxy -c -q -f "$dir/haproxy.cfg" || die "haproxy rejected the generated config ($dir/haproxy.cfg)"
}

# --- measuring -------------------------------------------------------------------
to_us() {  # wrk duration ("812.00us", "1.23ms", "2.01s", "1.00m") -> microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1e6;
    else if (u == "m") f = 6e7; else if (u == "h") f = 3.6e9; else { print "NaN"; exit }
    printf "%.1f", n * f }'
}
# wrk_summary WRK_OUTPUT: "req/s p50_us p99_us errors" from `wrk --latency`
# (errors = non-2xx/3xx responses + socket errors); fails if it cannot parse.
wrk_summary() {
  local rps p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$1")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$1")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$1")
  [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || return 1
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$1")
  sockerr=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' <<<"$1")
  echo "$rps $(to_us "$p50") $(to_us "$p99") $((${non2xx:-0} + ${sockerr:-0}))"
}
# h2load_summary H2LOAD_OUTPUT CPU NCPU: "req/s mean_us errors CPU NCPU" from an
# h2load run (errors = failed/errored/timed-out requests + 3xx/4xx/5xx); fails
# if it cannot parse (bench/h2.sh, bench/scale.sh).
h2load_summary() {
  awk -v cpu="$2" -v ncpu="$3" '
    /^finished in/ {for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) {rps = $(i - 1)}}
    /^requests:/ {for (i = 1; i <= NF; i++) {if ($(i + 1) ~ /^(failed|errored|timeout),?$/) err += $i}}
    /^status codes:/ {for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^[345]xx,?$/) err += $i}
    /^time for request:/ {mean = $6}  # min max mean sd +/-sd
    END {
      if (rps == "" || mean == "") exit 1
      m = mean; u = 1
      if (m ~ /us$/) u = 1; else if (m ~ /ms$/) u = 1000; else if (m ~ /s$/) u = 1000000
      sub(/[a-z]+$/, "", m)
      printf "%s %.1f %d %s %s\n", rps, m * u, err, cpu, ncpu
    }' <<<"$1"
}
# cpu_ticks PID...: user+system clock ticks used so far by these processes and their
# direct children (nginx's worker is a child of its master).
cpu_ticks() {
  local pids=() ct_p kids
  for ct_p in "$@"; do
    [ -n "$ct_p" ] || continue
    pids+=("$ct_p")
    read -ra kids <<<"$(cat /proc/"$ct_p"/task/*/children 2>/dev/null)"
    pids+=("${kids[@]}")
  done
  for ct_p in "${pids[@]}"; do
    # fields after the ")" that ends the command name: utime is the 12th, stime the 13th
    sed 's/.*) //' /proc/"$ct_p"/stat 2>/dev/null | awk '{print $12 + $13}'
  done | awk '{t += $1} END {print t + 0}'
}
CLK_TCK=$(getconf CLK_TCK)
cpu_pct() {  # cpu_pct TICKS_BEFORE TICKS_AFTER SECONDS
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / s }'
}
# median: of the numbers on stdin, separated by spaces or newlines (empty fields ignored).
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- reports -----------------------------------------------------------------------
# emit_row SUITE KEY=VALUE...: one measured row as one JSON object,
# {"suite": "SUITE", "KEY": VALUE, ...}, appended to $BENCH_JSONL (the rows of a
# `make bench` run, which bench/report.py turns into bench/results/DATE.json and
# docs/benchmarks.md) and to $BENCH_ROWS_FILE (a suite's own copy), each when set:
# a no-op when neither is. A value that is a JSON number, true, false or null is
# written bare, an empty one as null, anything else as a string.
emit_row() {
  [ -n "${BENCH_JSONL:-}${BENCH_ROWS_FILE:-}" ] || return 0
  local line kv k v
  line="{\"suite\": \"$(json_escape "$1")\""
  shift
  for kv in "$@"; do
    k=${kv%%=*} v=${kv#*=}
    if [ -z "$v" ]; then
      v=null
    elif ! [[ "$v" =~ ^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$ || "$v" =~ ^(true|false|null)$ ]]; then
      v="\"$(json_escape "$v")\""
    fi
    line+=", \"$(json_escape "$k")\": $v"
  done
  line+="}"
  [ -z "${BENCH_JSONL:-}" ] || printf '%s\n' "$line" >>"$BENCH_JSONL"
  [ -z "${BENCH_ROWS_FILE:-}" ] || printf '%s\n' "$line" >>"$BENCH_ROWS_FILE"
}
json_escape() {  # json_escape STRING: STRING as the inside of a JSON string
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"} s=${s//$'\t'/\\t} s=${s//$'\n'/\\n} s=${s//$'\r'/\\r}
  printf '%s' "$s"
}
# results_dir ROOT: create ROOT/bench/results, print it. The top-level .gitignore
# keeps the suites' *-latest.* reports out of git; the dated DATE.json files that
# bench/report.py writes are committed. (Older versions wrote a .gitignore of "*"
# in the directory, which would hide those: removed.)
results_dir() {
  mkdir -p "$1/bench/results"
  if grep -qx '# bench output is machine-specific: never committed' "$1/bench/results/.gitignore" 2>/dev/null; then
    rm -f "$1/bench/results/.gitignore"
  fi
  echo "$1/bench/results"
}
# report_machine TITLE LOAD_BEFORE: the first lines of every report.
report_machine() {
  echo "$1"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine:  $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:   $(uname -srm)"
  echo "load avg: $2 (1/5/15 min, before the run)"
  if awk -v l="${2%% *}" 'BEGIN { exit !(l >= 0.5) }'; then
    echo "WARNING:  the machine was busy before the run (1-min load >= 0.5): other work competed for the CPUs"
  fi
}
commit_line() {  # commit_line ROOT
  echo "commit:   $(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (+ uncommitted changes)')"
}

# finish_report REPORT WHAT: print the report, then fail the run if the
# associative array ERRS (errors per row) has any: numbers with failures are
# not valid. WHAT names the unit in the message ("request(s)", "connection(s)").
finish_report() {
  local report=$1 what=$2 total_errs=0 k
  echo
  cat "$report"
  echo
  for k in "${!ERRS[@]}"; do total_errs=$((total_errs + ERRS[$k])); done
  if [ "$total_errs" -gt 0 ]; then
    log "$total_errs $what failed: these numbers are not valid"
    exit 1
  fi
  log "report written to ${report#"$ROOT"/}${BENCH_JSONL:+; rows in $BENCH_JSONL (make bench: bench/report.py)}"
}
