#!/usr/bin/env bash
# Benchmark (not a test): the latency a two-hop mTLS mesh adds at fixed
# request rates, measured open loop with aegis-bench-loadgen (issue 8,
# scenario 2). Against one nginx (bench/lib.sh):
#   direct       loadgen -> nginx, at each rate, right before the meshes of each pass (the baseline)
#   aegis-flow   loadgen (plain HTTP/1.1) -> outbound aegis-flow -> mTLS -> inbound aegis-flow -> nginx
#                (bench/mesh_conf.sh; run --concurrency 1; the cluster's default pooling;
#                tls pq_policy hybrid with groups: [GROUP])
#   haproxy-3.0  the same two hops with HAProxy 3.0 on OpenSSL 3.5 (bench/haproxy_mesh.sh,
#                bench/haproxy3.sh; nbthread 1, http-reuse always, curves GROUP)
#   haproxy-2.6  Debian 12's HAProxy 2.6 (system OpenSSL 3.0), X25519 + ecdsa-p256 only
# for GROUP in X25519 X25519MLKEM768 MLKEM1024 SecP384r1MLKEM1024 and
# certificates of KEYTYPE in ecdsa-p256 mldsa65 mldsa87 (aegis-flow certs; the
# same files for both meshes). Each row: loadgen --rate R --connections 64
# --duration 4 --warmup 1; added p50/p99 = mesh - direct at the same rate.
# Then wrk -t1 -c64 -d5s (closed loop, saturated) through the aegis-flow and the
# HAProxy 3.0 mesh with MLKEM1024 + mldsa65: the two-hop throughput. At the end
# the issue's targets as PASS/MISS lines (informative: never an exit failure).
# Fails only if a mesh does not work (no 200 + body, wrong group or signature)
# or requests fail (loadgen or wrk errors).
#
#   bench/mesh_rates.sh [path/to/aegis-flow]   default: build/release/aegis-flow
#
# Writes bench/results/mesh-rates-latest.txt (the table) and
# bench/results/mesh-rates-latest.jsonl (one JSON object per row, bench/lib.sh's
# emit_row, which also feeds make bench's bench/report.py; git-ignored).
# The default run takes about 10 minutes (12 passes of 9 rows of 5 s).
#
# Environment:
#   BENCH_QUICK=1                  MLKEM1024 + mldsa65 only, no HAProxy 2.6, rates 1000 20000,
#                                  2 s each, throughput runs of 2 s: about 30 s
#   BENCH_RATES="1000 5000 20000"  req/s
#   BENCH_RATE_CONNS=64            loadgen connections
#   BENCH_RATE_SECONDS=4           measured seconds per row (after BENCH_RATE_WARMUP=1)
#   BENCH_RATE_GROUPS, BENCH_RATE_KEYTYPES   subsets of the lists above
#   BENCH_RATE_WRK_SECONDS=5       the throughput runs (0 skips them)
#   BENCH_LOADGEN=path             default: aegis-bench-loadgen next to aegis-flow
#   HAPROXY3_BIN=path              default: the cached bench/haproxy3.sh build (built if missing)
#   HAPROXY26_BIN=/usr/sbin/haproxy   Debian's 2.6 ("" skips it; the default with BENCH_QUICK=1)
#   BENCH_CPU_SERVERS, BENCH_CPU_LOAD, BENCH_NICE   as in bench/mesh.sh
#
# The report also counts the aegis-flow inbound's handshakes per pass (pooling check).
#
# Pinning (bench/mesh_conf.sh's mesh_cpus): on 2 CPUs nginx and both hops on
# cpu0, the load generator (and wrk) alone on cpu1; on 3+ CPUs spread out.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" != 0 ]; then
  RATES=${BENCH_RATES:-1000 20000} SECONDS_RUN=${BENCH_RATE_SECONDS:-2}
  MESH_GROUPS=${BENCH_RATE_GROUPS:-MLKEM1024} MESH_KEYTYPES=${BENCH_RATE_KEYTYPES:-mldsa65}
  WRK_SECONDS=${BENCH_RATE_WRK_SECONDS:-2} HAP26=${HAPROXY26_BIN-}
else
  RATES=${BENCH_RATES:-1000 5000 20000} SECONDS_RUN=${BENCH_RATE_SECONDS:-4}
  MESH_GROUPS=${BENCH_RATE_GROUPS:-X25519 X25519MLKEM768 MLKEM1024 SecP384r1MLKEM1024}
  MESH_KEYTYPES=${BENCH_RATE_KEYTYPES:-ecdsa-p256 mldsa65 mldsa87}
  WRK_SECONDS=${BENCH_RATE_WRK_SECONDS:-5} HAP26=${HAPROXY26_BIN-/usr/sbin/haproxy}
fi
CONNS=${BENCH_RATE_CONNS:-64}
WARMUP=${BENCH_RATE_WARMUP:-1}

BENCH_LOG_TAG="mesh-rates"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/mesh_conf.sh
. "$ROOT/bench/mesh_conf.sh"
# shellcheck source=bench/haproxy_mesh.sh
. "$ROOT/bench/haproxy_mesh.sh"
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"

# --- tools and settings ------------------------------------------------------------
for t in nginx wrk curl ss taskset; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
LOADGEN=${BENCH_LOADGEN:-$(dirname "$AEGIS_BIN")/aegis-bench-loadgen}
[ -x "$LOADGEN" ] || die "aegis-bench-loadgen not found at $LOADGEN (make build builds it; or set BENCH_LOADGEN)"
for r in $RATES; do [[ "$r" =~ ^[0-9]+$ && "$r" -gt 0 ]] || die "BENCH_RATES: '$r' is not a positive integer"; done
[[ "$CONNS" =~ ^[0-9]+$ && "$CONNS" -gt 0 ]] || die "BENCH_RATE_CONNS must be a positive integer"
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_RATE_SECONDS must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_RATE_WARMUP must be an integer"
[[ "$WRK_SECONDS" =~ ^[0-9]+$ ]] || die "BENCH_RATE_WRK_SECONDS must be an integer"
for g in $MESH_GROUPS; do [[ " $HAPROXY_MESH_GROUPS " == *" $g "* ]] || die "BENCH_RATE_GROUPS: unknown group '$g' ($HAPROXY_MESH_GROUPS)"; done
for kt in $MESH_KEYTYPES; do [[ " $HAPROXY_MESH_KEYTYPES " == *" $kt "* ]] || die "BENCH_RATE_KEYTYPES: unknown key type '$kt' ($HAPROXY_MESH_KEYTYPES)"; done
if [ -n "${HAPROXY3_BIN:-}" ]; then HAP3=$HAPROXY3_BIN
elif ! HAP3=$(haproxy3_path 2>/dev/null); then HAP3=$(haproxy3_build) || die "bench/haproxy3.sh build failed"; fi
[ -x "$HAP3" ] || die "HAProxy 3 not found at $HAP3"
grep -q '^Running on OpenSSL version : OpenSSL 3\.[5-9]' <<<"$("$HAP3" -vv 2>&1 || true)" \
  || die "$HAP3 does not run on OpenSSL >= 3.5 (see $HAP3 -vv)"
[ -z "$HAP26" ] || [ -x "$HAP26" ] || die "HAProxy 2.6 not found at $HAP26 (HAPROXY26_BIN=\"\" skips it)"

bench_setup_work aegis-mesh-rates
mesh_cpus
bench_setup_nice
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- certificates (the same files for every mesh) -------------------------------------
CERT_TYPES=$MESH_KEYTYPES
if [ -n "$HAP26" ] && [[ " $CERT_TYPES " != *" ecdsa-p256 "* ]]; then CERT_TYPES+=" ecdsa-p256"; fi
for kt in $CERT_TYPES; do haproxy_mesh_certs "$AEGIS_BIN" "$kt" "$WORK/certs/$kt"; done
SERVER_ID=spiffe://bench.test/ns/b/sa/server
log "certificates made with aegis-flow certs in $WORK/certs ($CERT_TYPES)"
# The server signature algorithm the inbound's metrics must show per key type.
declare -A SIGALG_WANT=([ecdsa-p256]=ecdsa_secp256r1_sha256 [mldsa65]=mldsa65 [mldsa87]=mldsa87)

# --- nginx --------------------------------------------------------------------------------
NGINX_PORT=""
free_port NGINX_PORT
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
check_body nginx "http://127.0.0.1:$NGINX_PORT/"

# --- measuring ----------------------------------------------------------------------------
json_field() { grep -o "\"$1\": [^,}]*" <<<"$2" | head -n1 | sed 's/.*: //; s/"//g'; }
declare -A RES       # "mesh|group|keytype|rate" -> loadgen's JSON line
ROWS=()              # the keys of RES in order
TOTAL_ERRS=0
# measure MESH GROUP KEYTYPE URL RATE: one loadgen run; the JSON line in RES.
measure() {
  local mesh=$1 g=$2 kt=$3 url=$4 r=$5 out j k errs
  k="$mesh|$g|$kt|$r"
  log "$mesh ($g $kt): loadgen --rate $r --connections $CONNS --duration $SECONDS_RUN --warmup $WARMUP"
  out=$(pin "$CPU_LOAD" "$LOADGEN" --url "$url" --rate "$r" --connections "$CONNS" \
    --duration "$SECONDS_RUN" --warmup "$WARMUP" --json) || { printf '%s\n' "$out" >&2; die "aegis-bench-loadgen failed ($k)"; }
  printf '%s\n' "$out" >"$WORK/loadgen-${k//|/-}.txt"
  j=$(tail -n1 <<<"$out")
  [ -n "$(json_field rate_achieved "$j")" ] || { printf '%s\n' "$out" >&2; die "no JSON line from aegis-bench-loadgen ($k)"; }
  errs=$(json_field errors "$j")
  if [ "$errs" != 0 ]; then TOTAL_ERRS=$((TOTAL_ERRS + errs)); log "$k: $errs failed request(s)"; fi
  RES[$k]=$j
  ROWS+=("$k")
}
declare -A TPUT TPUT_P99
# throughput MESH URL: wrk -t1 -c64 (closed loop, saturated), after a 1 s warm-up.
throughput() {
  local out rps p50 p99 errs
  [ "$WRK_SECONDS" -gt 0 ] || return 0
  log "$1: wrk -t1 -c64 -d${WRK_SECONDS}s (two-hop throughput)"
  pin "$CPU_LOAD" wrk -t1 -c64 -d1s "$2" >/dev/null
  out=$(pin "$CPU_LOAD" wrk -t1 -c64 -d"${WRK_SECONDS}s" --latency "$2")
  read -r rps p50 p99 errs <<<"$(wrk_summary "$out")" || { printf '%s\n' "$out" >&2; die "cannot parse wrk output ($1)"; }
  if [ "$errs" != 0 ]; then TOTAL_ERRS=$((TOTAL_ERRS + errs)); log "wrk through $1: $errs errors"; fi
  TPUT[$1]=$rps TPUT_P99[$1]=$p99
}
MEASURED=()  # per verified mesh: what showed the negotiated group (and signature)

# --- the meshes ----------------------------------------------------------------------------
declare -A ADMIN
declare -A URL_OF NAME_OF   # per mesh of the current pass: its URL and process names
declare -A HANDSHAKES       # "group|keytype" -> full + resumed handshakes at the aegis-flow inbound during the pass
# inbound_handshakes NAME: successful handshakes so far on aegis-flow NAME-in's listener "in".
inbound_handshakes() {
  curl -fsS --max-time 2 "http://127.0.0.1:${ADMIN[$1-in]}/stats/prometheus" \
    | awk '/^aegis_tls_handshakes_total\{/ && /listener="in"/ && /result="success"/ {n += $NF} END {print n + 0}'
}
# aegis_mesh G KT: start the two sidecars and verify them (URL_OF[aegis-flow]).
aegis_mesh() {
  local g=$1 kt=$2 n="af-$1-$2" d=$WORK/certs/$2 in_port out_port line grp sig
  free_port in_port; free_port out_port; free_port "ADMIN[$n-in]"; free_port "ADMIN[$n-out]"
  mesh_pair_yaml "$n" "$in_port" "$out_port" "$d" "$g" "$NGINX_PORT"
  start_aegis "$n-in" "$CPU_IN"
  start_aegis "$n-out" "$CPU_OUT"
  check_body "aegis-flow mesh $g $kt" "http://127.0.0.1:$out_port/"
  line=$(curl -fsS --max-time 2 "http://127.0.0.1:${ADMIN[$n-in]}/stats/prometheus" | grep '^aegis_tls_handshakes_total{' \
    | grep 'listener="in"' | grep 'result="success"' | grep -v 'sigalg=""' | head -n1 || true)
  [ -n "$line" ] || die "aegis-flow mesh $g $kt: no successful handshake in the inbound's /stats/prometheus"
  grp=$(sed -n 's/.*group="\([^"]*\)".*/\1/p' <<<"$line") sig=$(sed -n 's/.*sigalg="\([^"]*\)".*/\1/p' <<<"$line")
  [ "${grp^^}" = "${g^^}" ] || die "aegis-flow mesh $g $kt: the inbound negotiated group '$grp', expected $g ($line)"
  [ "$sig" = "${SIGALG_WANT[$kt]}" ] || die "aegis-flow mesh $g $kt: signature '$sig', expected ${SIGALG_WANT[$kt]} ($line)"
  log "aegis-flow mesh $g $kt: 200 + body; inbound handshake group $grp, sigalg $sig"
  MEASURED+=("aegis-flow $g $kt: the inbound's aegis_tls_handshakes_total{group=\"$grp\",sigalg=\"$sig\"}")
  URL_OF[aegis-flow]="http://127.0.0.1:$out_port/" NAME_OF[aegis-flow]=$n
}
# haproxy_mesh LABEL HAPROXY G KT: the same with two HAProxy hops (URL_OF[LABEL]).
haproxy_mesh() {
  local label=$1 hap=$2 g=$3 kt=$4 n="$1-$3-$4" d in_port out_port hdrs code body hop inb note
  d=$WORK/mesh/$n
  free_port in_port; free_port out_port
  haproxy_mesh_conf "$hap" "$g" "$WORK/certs/$kt" "$d" "$out_port" "$in_port" "$NGINX_PORT"
  haproxy_mesh_start "$hap" "$d" "$n" "$CPU_OUT" "$CPU_IN"
  hdrs=$(curl -sS --max-time 5 -D - -o "$d/body" "http://127.0.0.1:$out_port/" 2>"$d/curl.err") || true
  code=$(awk 'NR == 1 {print $2}' <<<"$hdrs")
  body=$(cat "$d/body" 2>/dev/null || true)
  { [ "$code" = 200 ] && [ "$body" = hello ]; } \
    || die "$label mesh $g $kt: expected 200 'hello', got '${code:-no response}' '$body' ($(cat "$d/curl.err"); logs in $d)"
  hop=$(awk -F': ' 'tolower($1) == "x-hop-group" {sub(/\r$/, "", $2); print $2}' <<<"$hdrs")
  inb=$(awk -F': ' 'tolower($1) == "x-inbound-group" {sub(/\r$/, "", $2); print $2}' <<<"$hdrs")
  if [ -n "$hop$inb" ]; then
    { [ "${hop^^}" = "${g^^}" ] && [ "${inb^^}" = "${g^^}" ]; } \
      || die "$label mesh $g $kt: x-hop-group '$hop', x-inbound-group '$inb', expected $g"
    note="x-hop-group $hop, x-inbound-group $inb"
  elif [ "$label" = haproxy-3.0 ]; then
    die "$label mesh $g $kt: no x-hop-group header (bench/haproxy_mesh.sh sets it on HAProxy >= 3.0)"
  else
    hop="($g)" note="no group header on $label; the inbound bind accepts only curves $g"
  fi
  log "$label mesh $g $kt: 200 + body; $note"
  MEASURED+=("$label $g $kt: $note")
  URL_OF[$label]="http://127.0.0.1:$out_port/" NAME_OF[$label]=$n
}

# pass G KT MESH...: start the meshes for G + KT, then at each rate measure direct
# (the baseline of this pass) and each mesh back to back, so that every mesh row is
# compared with a direct run made seconds before it on the same busy machine; stop them.
pass() {
  local g=$1 kt=$2 m r; shift 2
  URL_OF=() NAME_OF=()
  for m in "$@"; do
    case $m in
      aegis-flow) aegis_mesh "$g" "$kt" ;;
      haproxy-3.0) haproxy_mesh haproxy-3.0 "$HAP3" "$g" "$kt" ;;
      haproxy-2.6) haproxy_mesh haproxy-2.6 "$HAP26" "$g" "$kt" ;;
    esac
  done
  local h0=""
  [ -z "${NAME_OF[aegis-flow]:-}" ] || h0=$(inbound_handshakes "${NAME_OF[aegis-flow]}")
  for r in $RATES; do
    measure direct "$g" "$kt" "http://127.0.0.1:$NGINX_PORT/" "$r"
    for m in "$@"; do measure "$m" "$g" "$kt" "${URL_OF[$m]}" "$r"; done
  done
  if [ "$g" = MLKEM1024 ] && [ "$kt" = mldsa65 ]; then
    throughput aegis-flow "${URL_OF[aegis-flow]}"
    throughput haproxy-3.0 "${URL_OF[haproxy-3.0]}"
  fi
  if [ -n "$h0" ]; then HANDSHAKES[$g|$kt]=$(($(inbound_handshakes "${NAME_OF[aegis-flow]}") - h0)); fi
  for m in "$@"; do haproxy_mesh_stop "${NAME_OF[$m]}"; done
}
HAP26_DONE=""
for g in $MESH_GROUPS; do
  for kt in $MESH_KEYTYPES; do
    if [ -n "$HAP26" ] && [ "$g/$kt" = X25519/ecdsa-p256 ]; then
      pass "$g" "$kt" aegis-flow haproxy-3.0 haproxy-2.6; HAP26_DONE=1
    else
      pass "$g" "$kt" aegis-flow haproxy-3.0
    fi
  done
done
[ -z "$HAP26" ] || [ -n "$HAP26_DONE" ] || pass X25519 ecdsa-p256 haproxy-2.6
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------
f() { json_field "$1" "${RES[$2]}"; }
sat() {  # sat KEY: "*" when the achieved rate is below 95 % of the target (saturated)
  awk -v a="$(f rate_achieved "$1")" -v r="${1##*|}" 'BEGIN { if (a < 0.95 * r) print "*"; else print "" }'
}
added() {  # added FIELD KEY: mesh minus direct at the same rate, microseconds
  local mesh g kt r
  IFS='|' read -r mesh g kt r <<<"$2"
  awk -v a="$(f "$1" "$2")" -v b="$(f "$1" "direct|$g|$kt|$r")" 'BEGIN { printf "%.0f", a - b }'
}
RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/mesh-rates-latest.txt JSONL=$RESULTS_DIR/mesh-rates-latest.jsonl
hap_version() { "$1" -vv 2>&1 | awk 'NR == 1 {v = $3} /^Running on OpenSSL/ {sub(/^Running on OpenSSL version : /, ""); o = $1 " " $2} END {print v ", " o}'; }
DATE=$(date -u '+%Y-%m-%dT%H:%M:%SZ') COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
: >"$JSONL"
BENCH_ROWS_FILE=$JSONL  # emit_row writes each row here too
{
  report_machine "Added latency at fixed rates, two-hop meshes (bench/mesh_rates.sh$([ "$QUICK" != 0 ] && echo ', BENCH_QUICK=1'))" "$LOAD_BEFORE"
  echo "load avg: $LOAD_AFTER (after the run)"
  commit_line "$ROOT"
  echo "pinning:  nginx cpu${CPU_NGINX:-any}, outbound hop cpu${CPU_OUT:-any}, inbound hop cpu${CPU_IN:-any}, loadgen and wrk cpu${CPU_LOAD:-any}${BENCH_NICE:+, nice $BENCH_NICE}"
  echo "load:     aegis-bench-loadgen --rate R --connections $CONNS --duration $SECONDS_RUN --warmup $WARMUP (open loop, HTTP/1.1, plain to the outbound hop)"
  echo "app:      $NGINX_DESC"
  echo "meshes:   aegis-flow: run --concurrency 1 per hop, cluster pooling at its default, tls pq_policy hybrid + groups: [GROUP]"
  echo "          haproxy-3.0: $(hap_version "$HAP3"), nbthread 1, http-reuse always, curves GROUP (bench/haproxy_mesh.sh)"
  [ -z "$HAP26" ] || echo "          haproxy-2.6: $(hap_version "$HAP26") (Debian 12), the same; X25519 + ecdsa-p256 only"
  echo "          every mesh: mTLS 1.3, certificates of KEYTYPE from aegis-flow certs init-ca/issue"
  echo "verified: (curl 200 + body through both hops, then the negotiated group / signature)"
  for m in "${MEASURED[@]}"; do echo "          $m"; done
  echo
  printf '%-12s %-19s %-11s %6s %9s %8s %8s %9s %9s %6s %7s %6s %8s %8s\n' mesh group cert rate achieved p50_us p99_us p999_us max_us \
    errors late unfin "+p50_us" "+p99_us"
  for k in "${ROWS[@]}"; do
    IFS='|' read -r mesh g kt r <<<"$k"
    ap50=- ap99=-
    if [ "$mesh" != direct ]; then ap50=$(added p50_us "$k") ap99=$(added p99_us "$k"); fi
    printf '%-12s %-19s %-11s %6s %8.0f%1s %8s %8s %9s %9s %6s %7s %6s %8s %8s\n' "$mesh" "$g" "$kt" "$r" "$(f rate_achieved "$k")" "$(sat "$k")" \
      "$(f p50_us "$k")" "$(f p99_us "$k")" "$(f p999_us "$k")" "$(f max_us "$k")" "$(f errors "$k")" "$(f late "$k")" \
      "$(f unfinished "$k")" "$ap50" "$ap99"
    emit_row mesh-rates row=rate date="$DATE" commit="$COMMIT" mesh="$mesh" group="$g" keytype="$kt" rate_target="$r" \
      connections="$CONNS" duration_s="$SECONDS_RUN" rate_achieved="$(f rate_achieved "$k")" p50_us="$(f p50_us "$k")" \
      p99_us="$(f p99_us "$k")" p999_us="$(f p999_us "$k")" max_us="$(f max_us "$k")" errors="$(f errors "$k")" \
      late="$(f late "$k")" unfinished="$(f unfinished "$k")" saturated="$([ -n "$(sat "$k")" ] && echo true || echo false)" \
      added_p50_us="$([ "$ap50" = - ] || echo "$ap50")" added_p99_us="$([ "$ap99" = - ] || echo "$ap99")"
  done
  echo "direct rows: loadgen -> nginx, measured right before the mesh rows of the same group/cert and rate (each"
  echo "pass of meshes has its own baseline); +p50/+p99: added latency = mesh minus that direct row (microseconds),"
  echo "negative when the machine's noise exceeds what the mesh adds; late: sent > 1 ms after the"
  echo "intended time; unfin: still queued or in flight at the end (recorded with end - intended as latency);"
  echo "*: achieved < 95 % of the target rate (saturated: latency is queueing, and an added latency against a"
  echo "saturated direct row means nothing)"
  if [ ${#HANDSHAKES[@]} -gt 0 ]; then
    # Pooling check: with pooled upstream connections the inbound sees about one handshake per
    # upstream connection (<= 64 per pass), not one per request.
    line="aegis-flow inbound handshakes during each pass (all rates and the throughput run; pooling check):"
    for k in "${!HANDSHAKES[@]}"; do
      line+=" ${k/|/+} ${HANDSHAKES[$k]};"
      emit_row mesh-rates row=handshakes date="$DATE" commit="$COMMIT" mesh=aegis-flow group="${k%|*}" keytype="${k#*|}" \
        inbound_handshakes="${HANDSHAKES[$k]}"
    done
    echo "$line"
  fi
  if [ "$WRK_SECONDS" -gt 0 ]; then
    echo
    echo "two-hop throughput, MLKEM1024 + mldsa65: wrk -t1 -c64 -d${WRK_SECONDS}s --latency (closed loop, saturated), after 1 s warm-up"
    for m in aegis-flow haproxy-3.0; do
      printf '  %-12s %10.0f req/s   p99 %8.0f us\n' "$m" "${TPUT[$m]:-0}" "${TPUT_P99[$m]:-0}"
      emit_row mesh-rates row=throughput date="$DATE" commit="$COMMIT" mesh="$m" group=MLKEM1024 keytype=mldsa65 \
        tool="wrk -t1 -c64 -d${WRK_SECONDS}s" rps="${TPUT[$m]:-0}" p99_us="${TPUT_P99[$m]:-0}"
    done
    echo "  aegis-flow / haproxy-3.0 = $(ratio "${TPUT[aegis-flow]:-0}" "${TPUT[haproxy-3.0]:-0}")"
  fi
  # --- the issue's targets (informative) ---
  echo
  echo "targets (issue 8, scenario 2; MLKEM1024 + mldsa65; informative, never an exit failure):"
  tgt() {  # tgt DESCRIPTION AWK_CONDITION (empty condition: n/a)
    if [ -z "$2" ]; then echo "n/a   $1"
    elif awk "BEGIN { exit !($2) }"; then echo "PASS  $1"; else echo "MISS  $1"; fi
  }
  A1="aegis-flow|MLKEM1024|mldsa65|1000" H1="haproxy-3.0|MLKEM1024|mldsa65|1000" A20="aegis-flow|MLKEM1024|mldsa65|20000"
  if [ -n "${RES[$A1]:-}" ]; then
    a50=$(added p50_us "$A1") a99=$(added p99_us "$A1")
    tgt "1k req/s: aegis-flow added p50 $a50 us <= 100 us" "$a50 <= 100"
    tgt "1k req/s: aegis-flow added p99 $a99 us <= 500 us" "$a99 <= 500"
    D1="direct|MLKEM1024|mldsa65|1000"
    if [ -n "${RES[$H1]:-}" ] && [ -n "$(sat "$A1")$(sat "$H1")$(sat "$D1")" ]; then
      # A saturated row's latency is queueing: no comparison of added latencies.
      tgt "1k req/s: added p50/p99 below HAProxy 3.0's: not comparable, a row is saturated (achieved: aegis-flow $(f rate_achieved "$A1"), HAProxy 3.0 $(f rate_achieved "$H1"), direct $(f rate_achieved "$D1") req/s)" ""
    elif [ -n "${RES[$H1]:-}" ]; then
      h50=$(added p50_us "$H1") h99=$(added p99_us "$H1")
      tgt "1k req/s: aegis-flow added p50 $a50 us < HAProxy 3.0's $h50 us" "$a50 < $h50"
      tgt "1k req/s: aegis-flow added p99 $a99 us < HAProxy 3.0's $h99 us" "$a99 < $h99"
    fi
  else
    tgt "1k req/s targets (rate 1000 or MLKEM1024 + mldsa65 not measured)" ""
  fi
  if [ -n "${RES[$A20]:-}" ]; then
    a99=$(added p99_us "$A20")
    if [ -n "$(sat "$A20")$(sat "direct|MLKEM1024|mldsa65|20000")" ]; then
      # Saturated (the mesh or nginx itself): the difference of two queueing delays is no added latency.
      tgt "20k req/s: aegis-flow added p99 <= 2000 us: saturated (achieved $(f rate_achieved "$A20") req/s through the mesh, $(f rate_achieved "direct|MLKEM1024|mldsa65|20000") direct; p99 $(f p99_us "$A20") us)" "0"
    else
      tgt "20k req/s: aegis-flow added p99 $a99 us <= 2000 us (achieved $(f rate_achieved "$A20") req/s)" "$a99 <= 2000"
    fi
  else
    tgt "20k req/s target (rate 20000 or MLKEM1024 + mldsa65 not measured)" ""
  fi
  if [ -n "${TPUT[aegis-flow]:-}" ] && [ -n "${TPUT[haproxy-3.0]:-}" ]; then
    tr_=$(ratio "${TPUT[aegis-flow]}" "${TPUT[haproxy-3.0]}")
    tgt "two-hop throughput: aegis-flow / HAProxy 3.0 = $tr_ >= 1.2" "$tr_ >= 1.2"
  else
    tgt "two-hop throughput target (not measured)" ""
  fi
} >"$REPORT"
echo
cat "$REPORT"
echo
[ "$TOTAL_ERRS" -eq 0 ] || die "$TOTAL_ERRS request(s) failed: these numbers are not valid"
log "report in ${REPORT#"$ROOT"/}, JSON lines in ${JSONL#"$ROOT"/}"
