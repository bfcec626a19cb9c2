#!/usr/bin/env bash
# Benchmark (not a test): the latency a two-sidecar mesh adds, measured with
# wrk in one run against the same nginx app:
#   direct        wrk -> nginx
#   single        wrk -> aegis-flow (plain HTTP listener) -> nginx            (one proxy, as bench/run.sh)
#   mesh-pq       wrk -> outbound aegis-flow (plain listener) -> mTLS, pq_only_1024 (MLKEM1024),
#                 ML-DSA-65 certificates -> inbound aegis-flow (TLS listener, require_client_cert,
#                 allow_peers) -> nginx
#   mesh-hybrid   the same with pq_policy hybrid and ECDSA P-256 certificates
#   mesh-pq-fresh, mesh-hybrid-fresh
#                 the same, but the outbound cluster has max_idle_connections: 0 and
#                 session_resumption: false, so every request opens a new upstream
#                 connection: one full mTLS handshake per request
#   mesh-pq-resume, mesh-hybrid-resume
#                 max_idle_connections: 0 with session resumption on (the default): a new
#                 connection per request that resumes the last ticket (no certificates,
#                 no signatures)
#   mesh-pqecdsa, mesh-pqecdsa-fresh   (not in the default run)
#                 pq_only_1024 (MLKEM1024) with ECDSA P-256 certificates: separates the
#                 cost of the key exchange from that of the ML-DSA signatures
# The outbound pools its upstream connections (max_idle_connections: 64), so in
# mesh-pq and mesh-hybrid handshakes happen only when a connection is set up
# (the report shows handshakes per request to prove it). Each target is run with
# each connection count: -c1 gives the latency of one request at a time (what a
# hop adds on an otherwise idle path); -c16 loads the servers' core to
# saturation, where latency is mostly queueing (about connections / req/s).
# Prints a report and writes it to bench/results/mesh-latest.txt (kept out of
# git); its rows go to make bench's results (bench/lib.sh emit_row).
#
#   bench/mesh.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# Environment:
#   BENCH_MESH_SECONDS=5           measured duration of each wrk run
#   BENCH_MESH_WARMUP_SECONDS=1    unmeasured wrk run before each measured one
#   BENCH_MESH_CONNECTIONS="1 16"  wrk -c values (wrk always runs with -t1)
#   BENCH_MESH_ROUNDS=1            rounds; with >1 each metric is the median
#   BENCH_MESH_TARGETS="direct single mesh-pq mesh-hybrid mesh-pq-fresh mesh-hybrid-fresh mesh-pq-resume mesh-hybrid-resume"
#   BENCH_CPU_SERVERS, BENCH_CPU_LOAD   override the pinning (taskset -c lists)
#   BENCH_NICE=-10                 as in bench/run.sh
#   BENCH_QUICK=1                  short run: direct, single, mesh-pq and mesh-hybrid at -c1,
#                                  1 s warm-up + 2 s each (about 15 s)
# Default run: 6 targets x 2 connection counts x 6 s, about 80 s in all.
#
# CPU pinning. The question is what the sidecars add to a request, so the
# load generator must not share a core with them.
#   2 CPUs:    nginx, the single proxy and both sidecars on cpu0, each with one
#              worker (--concurrency 1); wrk alone on cpu1. On the mesh path three
#              processes take turns on cpu0 for every request, as they would on a
#              node where the sidecars share the app's core; nginx's and the
#              proxies' CPU per request is the same in every row.
#   3 CPUs:    the servers on cpu0-1 (the scheduler places them), wrk on cpu2.
#   >= 4 CPUs: nginx cpu0, single proxy and outbound cpu1, inbound cpu2, wrk cpu3.
#   1 CPU:     no pinning.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  SECONDS_RUN=${BENCH_MESH_SECONDS:-2} CONNS_LIST=${BENCH_MESH_CONNECTIONS:-1}
  TARGETS=${BENCH_MESH_TARGETS:-direct single mesh-pq mesh-hybrid}
else
  SECONDS_RUN=${BENCH_MESH_SECONDS:-5} CONNS_LIST=${BENCH_MESH_CONNECTIONS:-1 16}
  TARGETS=${BENCH_MESH_TARGETS:-direct single mesh-pq mesh-hybrid mesh-pq-fresh mesh-hybrid-fresh mesh-pq-resume mesh-hybrid-resume}
fi
WARMUP=${BENCH_MESH_WARMUP_SECONDS:-1}
ROUNDS=${BENCH_MESH_ROUNDS:-1}

BENCH_LOG_TAG=bench-mesh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/mesh_conf.sh
. "$ROOT/bench/mesh_conf.sh"
want() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- tools and settings ------------------------------------------------------
for t in nginx wrk curl ss taskset; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (it also makes the certificates; build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_MESH_SECONDS must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_MESH_WARMUP_SECONDS must be an integer"
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -gt 0 ]] || die "BENCH_MESH_ROUNDS must be a positive integer"
for c in $CONNS_LIST; do [[ "$c" =~ ^[0-9]+$ && "$c" -gt 0 ]] || die "BENCH_MESH_CONNECTIONS: '$c' is not a positive integer"; done
ALL_TARGETS="direct single mesh-pq mesh-hybrid mesh-pqecdsa mesh-pq-fresh mesh-hybrid-fresh mesh-pqecdsa-fresh mesh-pq-resume mesh-hybrid-resume mesh-pqecdsa-resume"
# flavour NAME: a mesh target's flavour (pq, hybrid, pqecdsa) without its -fresh/-resume suffix.
flavour() { local f=${1%-fresh}; echo "${f%-resume}"; }
for t in $TARGETS; do [[ " $ALL_TARGETS " == *" $t "* ]] || die "unknown BENCH_MESH_TARGETS entry '$t' ($ALL_TARGETS)"; done
ORDER=()
for t in $ALL_TARGETS; do want "$t" && ORDER+=("$t"); done
[ ${#ORDER[@]} -gt 0 ] || die "nothing to measure"
MESH=() FLAVOURS=()
for t in "${ORDER[@]}"; do [[ "$t" != mesh-* ]] || MESH+=("${t#mesh-}"); done

bench_setup_work aegis-bench-mesh

# --- CPU pinning (see the comment at the top) ----------------------------------
mesh_cpus
if [ "$CPU_NGINX" = "$CPU_OUT" ] && [ "$CPU_OUT" = "$CPU_IN" ]; then
  PIN_NOTE="nginx+single+outbound+inbound cpu${CPU_NGINX:-any}, wrk cpu${CPU_LOAD:-any}"
else
  PIN_NOTE="nginx cpu${CPU_NGINX:-any}, single+outbound cpu${CPU_OUT:-any}, inbound cpu${CPU_IN:-any}, wrk cpu${CPU_LOAD:-any}"
fi
bench_setup_nice

# --- certificates: per mesh flavour a CA, a server (inbound) and a client (outbound) identity
declare -A KEYTYPE=([pq]=mldsa65 [hybrid]=ecdsa-p256 [pqecdsa]=ecdsa-p256)
declare -A POLICY=([pq]=pq_only_1024 [hybrid]=hybrid [pqecdsa]=pq_only_1024)
declare -A CERT_LABEL=([pq]="ML-DSA-65" [hybrid]="ECDSA P-256" [pqecdsa]="ECDSA P-256")
for m in "${MESH[@]}"; do f=$(flavour "$m"); [[ " ${FLAVOURS[*]} " == *" $f "* ]] || FLAVOURS+=("$f"); done
SERVER_ID=spiffe://bench.test/ns/b/sa/server CLIENT_ID=spiffe://bench.test/ns/b/sa/client
for f in "${FLAVOURS[@]}"; do
  kt=${KEYTYPE[$f]} d=$WORK/certs/$f
  "$AEGIS_BIN" certs init-ca --trust-domain bench.test --key-type "$kt" --out "$d/ca" >/dev/null \
    || die "aegis-flow certs init-ca --key-type $kt failed"
  "$AEGIS_BIN" certs issue --ca "$d/ca" --spiffe-id "$SERVER_ID" --dns localhost --key-type "$kt" --days 2 \
    --out "$d/server" >/dev/null || die "aegis-flow certs issue (server, $kt) failed"
  "$AEGIS_BIN" certs issue --ca "$d/ca" --spiffe-id "$CLIENT_ID" --key-type "$kt" --days 2 \
    --out "$d/client" >/dev/null || die "aegis-flow certs issue (client, $kt) failed"
done
log "certificates made in $WORK/certs (ML-DSA-65 and ECDSA P-256 CAs, server and client identities)"

# --- nginx (the app) -------------------------------------------------------------
free_port NGINX_PORT
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
check_body nginx "http://127.0.0.1:$NGINX_PORT/"

# --- aegis-flow processes ----------------------------------------------------------
# route, head_yaml, start_aegis, mesh_inbound_listener, mesh_outbound_cluster: bench/mesh_conf.sh
declare -A ADMIN PORT

if want single; then
  free_port 'ADMIN[single]'; free_port 'PORT[single]'
  {
    head_yaml "${ADMIN[single]}"
    printf 'listeners:\n  - {name: plain, address: 127.0.0.1, port: %s, protocol: http, route_config: app}\n' "${PORT[single]}"
    echo "route_configs:"; route app app
    printf 'clusters:\n  - name: app\n    endpoints: ["127.0.0.1:%s"]\n' "$NGINX_PORT"
  } >"$WORK/single.yaml"
  start_aegis single "$CPU_OUT"
  log "single proxy: 127.0.0.1:${PORT[single]} -> nginx (admin ${ADMIN[single]})"
fi

if [ ${#MESH[@]} -gt 0 ]; then
  # inbound: one mTLS listener per flavour (pq, hybrid), each -> nginx
  free_port 'ADMIN[inbound]'
  {
    head_yaml "${ADMIN[inbound]}"
    echo "listeners:"
    for f in "${FLAVOURS[@]}"; do
      free_port "PORT[in-$f]"; d=$WORK/certs/$f
      mesh_inbound_listener "in-$f" "${PORT[in-$f]}" "$d" "${POLICY[$f]}"
    done
    echo "route_configs:"; route app app
    printf 'clusters:\n  - name: app\n    endpoints: ["127.0.0.1:%s"]\n' "$NGINX_PORT"
  } >"$WORK/inbound.yaml"
  start_aegis inbound "$CPU_IN"

  # outbound: one plain listener per mesh target, each -> its own mTLS cluster
  free_port 'ADMIN[outbound]'
  {
    head_yaml "${ADMIN[outbound]}"
    echo "listeners:"
    for m in "${MESH[@]}"; do
      free_port "PORT[mesh-$m]"
      printf '  - {name: out-%s, address: 127.0.0.1, port: %s, protocol: http, route_config: to-%s}\n' "$m" "${PORT[mesh-$m]}" "$m"
    done
    echo "route_configs:"
    for m in "${MESH[@]}"; do route "to-$m" "mesh-$m"; done
    echo "clusters:"
    for m in "${MESH[@]}"; do
      f=$(flavour "$m") idle=64 resume=true
      d=$WORK/certs/$f
      [ "$m" = "$f" ] || idle=0
      [[ "$m" != *-fresh ]] || resume=false
      mesh_outbound_cluster "mesh-$m" "${PORT[in-$f]}" "$d" "${POLICY[$f]}" "$idle" "$resume" "$SERVER_ID"
    done
  } >"$WORK/outbound.yaml"
  start_aegis outbound "$CPU_OUT"
  log "mesh: outbound (admin ${ADMIN[outbound]}) -> mTLS -> inbound (admin ${ADMIN[inbound]}) -> nginx"
fi

# --- checks: every path returns nginx's body; the mesh negotiated what we asked ----
declare -A URL LABEL
URL[direct]="http://127.0.0.1:$NGINX_PORT/"
for t in "${ORDER[@]}"; do [ "$t" = direct ] || URL[$t]="http://127.0.0.1:${PORT[$t]}/"; done
LABEL[direct]="(a) direct"
LABEL[single]="(b) one aegis-flow"
LABEL[mesh-pq]="(c) mesh pq"
LABEL[mesh-hybrid]="(d) mesh hybrid"
LABEL[mesh-pq-fresh]="(e) mesh pq, new conn"
LABEL[mesh-hybrid-fresh]="(f) mesh hyb, new conn"
LABEL[mesh-pqecdsa]="(g) mesh pq-ecdsa"
LABEL[mesh-pqecdsa-fresh]="(h) mesh pq-ecdsa, new"
LABEL[mesh-pq-resume]="(i) mesh pq, resumed"
LABEL[mesh-hybrid-resume]="(j) mesh hyb, resumed"
LABEL[mesh-pqecdsa-resume]="(k) pq-ecdsa, resumed"
prom() { curl -fsS --max-time 2 "http://127.0.0.1:${ADMIN[$1]}/stats/prometheus"; }
# handshakes LISTENER: successful TLS handshakes so far on that inbound listener.
handshakes() {
  prom inbound | awk -v l="listener=\"$1\"" '/^aegis_tls_handshakes_total\{/ && index($0, l) && /result="success"/ {n += $NF} END {print n + 0}'
}
declare -A GROUP SIGALG
for t in "${ORDER[@]}"; do
  check_body "$t" "${URL[$t]}"
done
for f in "${FLAVOURS[@]}"; do
  line=$(prom inbound | grep '^aegis_tls_handshakes_total{' | grep "listener=\"in-$f\"" | grep 'result="success"' | grep -v 'sigalg=""' | head -n 1 || true)
  [ -n "$line" ] || { prom inbound | grep aegis_tls >&2 || true; die "mesh $f: no successful handshake on inbound listener in-$f (metrics above)"; }
  GROUP[$f]=$(sed -n 's/.*group="\([^"]*\)".*/\1/p' <<<"$line") SIGALG[$f]=$(sed -n 's/.*sigalg="\([^"]*\)".*/\1/p' <<<"$line")
  log "mesh $f: 200 through outbound -> inbound, handshake group ${GROUP[$f]}, signature ${SIGALG[$f]}"
done
for f in "${FLAVOURS[@]}"; do
  if [ "${POLICY[$f]}" = pq_only_1024 ] && [ "${GROUP[$f]}" != MLKEM1024 ]; then die "mesh $f negotiated ${GROUP[$f]}, expected MLKEM1024"; fi
done

# --- measure -------------------------------------------------------------------------
SERVER_PIDS=("${PID[nginx]}" "${PID[single]:-}" "${PID[outbound]:-}" "${PID[inbound]:-}")
# measure TARGET CONNS ROUND: warm up, run wrk, print
# "rps p50_us p99_us errors servers_cpu% cpu_us_per_req handshakes_per_req".
measure() {
  local t=$1 c=$2 r=$3 out sum rps p50 p99 errs reqs c0 c1 t0 t1 h0=0 h1=0 lis="" secs
  [[ "$t" != mesh-* ]] || lis=in-$(flavour "${t#mesh-}")
  if [ "$WARMUP" -gt 0 ]; then pin "$CPU_LOAD" wrk -t1 -c"$c" -d"${WARMUP}s" "${URL[$t]}" >/dev/null; fi
  [ -z "$lis" ] || h0=$(handshakes "$lis")
  c0=$(cpu_ticks "${SERVER_PIDS[@]}") t0=$(date +%s.%N)
  out=$(pin "$CPU_LOAD" wrk -t1 -c"$c" -d"${SECONDS_RUN}s" --latency "${URL[$t]}")
  c1=$(cpu_ticks "${SERVER_PIDS[@]}") t1=$(date +%s.%N)
  [ -z "$lis" ] || h1=$(handshakes "$lis")
  printf '%s\n' "$out" >"$WORK/wrk-$t-c$c-$r.txt"
  sum=$(wrk_summary "$out") || { printf '%s\n' "$out" >&2; die "cannot parse wrk output for $t -c$c"; }
  read -r rps p50 p99 errs <<<"$sum"
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  echo "$rps $p50 $p99 $errs $(cpu_pct "$c0" "$c1" "$secs")" \
    "$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN {printf "%.1f", (n > 0 ? d / hz * 1e6 / n : 0)}')" \
    "$(awk -v h="$((h1 - h0))" -v n="$reqs" -v m="$lis" 'BEGIN {if (m == "") print "-"; else printf "%.2f", (n > 0 ? h / n : 0)}')"
}

declare -A RPS P50 P99 ERRS SCPU USREQ HSREQ
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
total=$((ROUNDS * ${#ORDER[@]} * $(wc -w <<<"$CONNS_LIST"))) n=0
for ((r = 1; r <= ROUNDS; r++)); do
  for c in $CONNS_LIST; do
    for t in "${ORDER[@]}"; do
      n=$((n + 1)) k="$t/$c"
      log "[$n/$total] round $r: ${LABEL[$t]}: wrk -t1 -c$c -d${SECONDS_RUN}s --latency (after ${WARMUP}s warm-up)"
      res=$(measure "$t" "$c" "$r")
      read -r rps p50 p99 errs scpu usreq hsreq <<<"$res"
      RPS[$k]+="$rps " P50[$k]+="$p50 " P99[$k]+="$p99 " SCPU[$k]+="$scpu " USREQ[$k]+="$usreq "
      HSREQ[$k]=$hsreq ERRS[$k]=$((${ERRS[$k]:-0} + errs))
    done
  done
done

# --- report ----------------------------------------------------------------------------
diff_us() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f", a - b }'; }
RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/mesh-latest.txt
{
  report_machine "Aegis-Flow two-sidecar mesh benchmark (bench/mesh.sh)" "$LOAD_BEFORE"
  echo "pinning:  $PIN_NOTE${BENCH_NICE:+, servers and wrk at nice $BENCH_NICE}; every aegis-flow --concurrency 1"
  echo "wrk:      -t1 -c{$(tr ' ' , <<<"$CONNS_LIST")} -d${SECONDS_RUN}s --latency (closed loop: each connection sends its next request when"
  echo "          the previous one is answered), ${WARMUP}s warm-up per row, $ROUNDS round(s)$([ "$ROUNDS" -gt 1 ] && echo ', medians shown')"
  echo "app:      $NGINX_DESC"
  echo "paths:    (a) wrk -> nginx; (b) wrk -> aegis-flow (plain) -> nginx"
  for f in "${FLAVOURS[@]}"; do
    echo "          mesh $f: wrk -> outbound aegis-flow (plain listener) -> mTLS pq_policy ${POLICY[$f]}, ${CERT_LABEL[$f]} certs,"
    echo "            negotiated ${GROUP[$f]} / ${SIGALG[$f]} -> inbound aegis-flow (require_client_cert, allow_peers) -> nginx"
  done
  echo "          mesh rows: outbound keeps up to 64 idle upstream connections; 'new conn': max_idle_connections 0,"
  echo "          a new mTLS connection (full handshake, session_resumption false) per request; 'resumed': a new"
  echo "          connection per request that resumes the previous ticket (no certificates or signatures)"
  echo "versions: $(nginx -v 2>&1 | head -n 1)"
  { "$AEGIS_BIN" version || true; } | head -n 2 | sed 's/^/          /'
  echo "          $(wrk -v 2>&1 | head -n 1)"
  commit_line "$ROOT"
  for c in $CONNS_LIST; do
    echo
    echo "wrk -c$c"
    printf '%-23s %9s %9s %9s %6s %8s %8s %7s\n' target req/s p50_us p99_us errors srv_cpu% cpu_us/r hs/req
    for t in "${ORDER[@]}"; do
      k="$t/$c"
      for m in RPS P50 P99 SCPU USREQ; do
        declare -n arr=$m
        arr[$k]=$(median <<<"${arr[$k]% }")
        unset -n arr
      done
      printf '%-23s %9.0f %9.1f %9.1f %6d %8.0f %8.1f %7s\n' "${LABEL[$t]}" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" \
        "${ERRS[$k]}" "${SCPU[$k]}" "${USREQ[$k]}" "${HSREQ[$k]}"
      emit_row mesh target="$t" connections="$c" rps="${RPS[$k]}" p50_us="${P50[$k]}" p99_us="${P99[$k]}" \
        errors="${ERRS[$k]}" servers_cpu_pct="${SCPU[$k]}" cpu_us_per_req="${USREQ[$k]}" \
        handshakes_per_req="${HSREQ[$k]#-}" seconds="$SECONDS_RUN" rounds="$ROUNDS"
    done
    if [ ${#MESH[@]} -gt 0 ] && { want direct || want single; }; then
      echo "  added latency, microseconds (p50 / p99):"
      for m in "${MESH[@]}"; do
        k="mesh-$m/$c" line=$(printf '    %-23s' "${LABEL[mesh-$m]}")
        if want direct; then line+="  vs (a): $(diff_us "${P50[$k]}" "${P50[direct/$c]}") / $(diff_us "${P99[$k]}" "${P99[direct/$c]}")"; fi
        if want single; then line+="  vs (b): $(diff_us "${P50[$k]}" "${P50[single/$c]}") / $(diff_us "${P99[$k]}" "${P99[single/$c]}")"; fi
        if want direct; then line+="  req/s vs (a): $(ratio "${RPS[$k]}" "${RPS[direct/$c]}")"; fi
        echo "$line"
      done
    fi
    for f in "${FLAVOURS[@]}"; do
      if want "mesh-$f" && want "mesh-$f-fresh"; then
        echo "  handshake cost, mesh $f: new conn - pooled = $(diff_us "${USREQ[mesh-$f-fresh/$c]}" "${USREQ[mesh-$f/$c]}") us of server CPU per request" \
          "(both sidecars, ${GROUP[$f]} + ${SIGALG[$f]} mTLS), p50 $(diff_us "${P50[mesh-$f-fresh/$c]}" "${P50[mesh-$f/$c]}") us"
      fi
    done
  done
  echo
  echo "srv_cpu%: CPU of nginx and every aegis-flow process together during the run (100 = one core);"
  echo "cpu_us/r: that CPU per request, microseconds; hs/req: TLS handshakes at the inbound per request (in the"
  echo "          new-connection rows slightly above 1.00 at -c16: handshakes of requests still in flight when wrk stops)"
  echo "handshake cost: on an idle core the new-connection latency approaches this CPU time (the handshake's steps run"
  echo "          one after the other); on a busy machine each multi-millisecond burst also waits for its turn on the CPU"
  echo "p50/p99: wrk's latency distribution (--latency), microseconds; added latency = mesh row minus (a) or (b)"
} >"$REPORT"

finish_report "$REPORT" "request(s) (errors column above)"
