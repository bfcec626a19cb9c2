#!/usr/bin/env bash
# Benchmark (not a test): new-connection TLS 1.3 handshake rate, full
# handshakes without resumption, for each key-exchange group x server
# certificate type, against (1) `openssl s_server` (the OpenSSL 3.5 that
# aegis-flow links, single-threaded: the ceiling) and (2) an aegis-flow TLS
# listener (`run --concurrency 1`) with the same certificate and group, both
# in the same run. With BENCH_TLS_RESUME=1 (the default) the same again with
# resumption: servers that issue TLS 1.3 tickets and a client that offers the
# ticket of its previous connection (the resumed share is reported, so a
# server that does not resume is visible). Also the TLS bytes on the wire per
# full and per resumed handshake, each direction. The load generator is
# bench/handshake_rate.cpp (aegis-bench-handshake). Prints a report and writes it to
# bench/results/tls-latest.txt (kept out of git); its rows go to make
# bench's results (bench/lib.sh emit_row).
#
#   bench/tls.sh [path/to/aegis-flow [path/to/aegis-bench-handshake]]
#        defaults: build/release/aegis-flow, and aegis-bench-handshake next to it
#
# Environment:
#   BENCH_TLS_SECONDS=4          measured seconds per (group, cert, server)
#   BENCH_TLS_WARMUP_SECONDS=1   unmeasured run before each measured one
#   BENCH_TLS_CONCURRENCY=4      client threads (one blocking connection each)
#   BENCH_TLS_ROUNDS=1           rounds; with >1 each metric is the median
#   BENCH_TLS_GROUPS="X25519 X25519MLKEM768 MLKEM1024 SecP384r1MLKEM1024"
#   BENCH_TLS_CERTS="ecdsa-p256 mldsa65 mldsa87"     server certificate key types
#   BENCH_TLS_TARGETS="s_server aegis"               subset (ratios need both)
#   BENCH_TLS_RESUME=1           0: full handshakes only (the run before resumption rows)
#   BENCH_TLS_HTTP=0             1: one HTTP/1.1 GET per connection (s_server -WWW
#                                serves a 6-byte file; aegis-flow proxies to nginx)
#   BENCH_QUICK=1                short run: ECDSA P-256 + X25519 and ML-DSA-65 + MLKEM1024 only,
#                                full handshakes only, 1 s warm-up + 2 s per row (about 15 s)
#   BENCH_OPENSSL                openssl CLI (default: the cached OpenSSL 3.5)
#   BENCH_CPU_SERVER, BENCH_CPU_LOAD   override the pinning (taskset -c lists)
#   BENCH_NICE=-10               as in bench/run.sh
#
# Default run: 12 combinations x 2 servers x 2 (full, resumed) x 5 s = about
# 4 minutes (2 with BENCH_TLS_RESUME=0).
#
# CPU pinning. Both servers are single-threaded; the question is how many
# handshakes one core does, so the server gets a core to itself and the client
# must not steal it.
#   >= 2 CPUs: server on cpu A (nginx too, in HTTP mode, on 2 CPUs; its own cpu
#              on >= 3), the load generator on all the other CPUs. A TLS client
#              costs about as much CPU per handshake as the server (it verifies
#              the CertificateVerify signature and does its half of the key
#              exchange), so with 2 CPUs the client can be the limit for cheap
#              combinations (X25519 + ECDSA). The report therefore also gives the
#              server's CPU per handshake (from /proc/PID/task/*/schedstat), which
#              does not depend on how hard the client pushed, and the client's
#              CPU %: near 100 % per client CPU means the client was the limit.
#   1 CPU:     no pinning.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
HS_BIN=${2:-$(dirname "$AEGIS_BIN")/aegis-bench-handshake}
OPENSSL=${BENCH_OPENSSL:-${AEGIS_CACHE_DIR:-$HOME/.cache/aegis-flow}/openssl-current/bin/openssl}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" != 0 ]; then
  SECONDS_RUN=${BENCH_TLS_SECONDS:-2} RESUME=${BENCH_TLS_RESUME:-0}
else
  SECONDS_RUN=${BENCH_TLS_SECONDS:-4} RESUME=${BENCH_TLS_RESUME:-1}
fi
WARMUP=${BENCH_TLS_WARMUP_SECONDS:-1}
CONC=${BENCH_TLS_CONCURRENCY:-4}
ROUNDS=${BENCH_TLS_ROUNDS:-1}
GROUPS_LIST=${BENCH_TLS_GROUPS:-X25519 X25519MLKEM768 MLKEM1024 SecP384r1MLKEM1024}
CERTS_LIST=${BENCH_TLS_CERTS:-ecdsa-p256 mldsa65 mldsa87}
TARGETS=${BENCH_TLS_TARGETS:-s_server aegis}
HTTP=${BENCH_TLS_HTTP:-0}

BENCH_LOG_TAG=bench-tls
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
want() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- tools and settings ------------------------------------------------------
for t in curl ss taskset; do command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh first"; done
[ "$HTTP" = 0 ] || [ "$HTTP" = 1 ] || die "BENCH_TLS_HTTP must be 0 or 1"
[ "$RESUME" = 0 ] || [ "$RESUME" = 1 ] || die "BENCH_TLS_RESUME must be 0 or 1"
[ "$HTTP" = 0 ] || ! want aegis || command -v nginx >/dev/null || die "BENCH_TLS_HTTP=1 needs nginx (the upstream of aegis-flow)"
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (it also makes the certificates; build it with: make build)"
[ -x "$HS_BIN" ] || die "aegis-bench-handshake not found at $HS_BIN (build it with: make build)"
[ -x "$OPENSSL" ] || die "OpenSSL 3.5 CLI not found at $OPENSSL (run make bootstrap, or set BENCH_OPENSSL)"
AEGIS_BIN=$(abspath "$AEGIS_BIN") HS_BIN=$(abspath "$HS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_TLS_SECONDS must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_TLS_WARMUP_SECONDS must be an integer"
[[ "$CONC" =~ ^[0-9]+$ && "$CONC" -gt 0 ]] || die "BENCH_TLS_CONCURRENCY must be a positive integer"
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -gt 0 ]] || die "BENCH_TLS_ROUNDS must be a positive integer"
for t in $TARGETS; do [[ "$t" == s_server || "$t" == aegis ]] || die "unknown BENCH_TLS_TARGETS entry '$t' (s_server, aegis)"; done

declare -A SIGALG=([ecdsa-p256]=ecdsa_secp256r1_sha256 [mldsa65]=mldsa65 [mldsa87]=mldsa87)
declare -A CERT_LABEL=([ecdsa-p256]="ECDSA P-256" [mldsa65]=ML-DSA-65 [mldsa87]=ML-DSA-87)
for c in $CERTS_LIST; do [ -n "${SIGALG[$c]:-}" ] || die "unknown certificate type '$c' (ecdsa-p256, mldsa65, mldsa87)"; done

# --- processes and cleanup ---------------------------------------------------
bench_setup_work aegis-bench-tls

# --- CPU pinning (see the comment at the top) ----------------------------------
if [ ${#CPUS[@]} -ge 3 ]; then
  CPU_SERVER=${CPUS[0]} CPU_NGINX=${CPUS[1]} CPU_LOAD=$(IFS=,; echo "${CPUS[*]:2}")
  [ "$HTTP" = 1 ] || CPU_LOAD=$(IFS=,; echo "${CPUS[*]:1}")
elif [ ${#CPUS[@]} -eq 2 ]; then
  CPU_SERVER=${CPUS[0]} CPU_NGINX=${CPUS[0]} CPU_LOAD=${CPUS[1]}
else
  CPU_SERVER="" CPU_NGINX="" CPU_LOAD=""
fi
CPU_SERVER=${BENCH_CPU_SERVER:-$CPU_SERVER} CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
PIN_NOTE="server cpu${CPU_SERVER:-any}, load generator cpu${CPU_LOAD:-any}"
[ "$HTTP" = 0 ] || ! want aegis || PIN_NOTE+=", nginx (aegis-flow's upstream) cpu${CPU_NGINX:-any}"
[ -n "$CPU_LOAD" ] && LOAD_CPUS=$(expand_cpus "$CPU_LOAD" | wc -w) || LOAD_CPUS=${#CPUS[@]}
bench_setup_nice

# --- ports and servers ---------------------------------------------------------

# --- certificates: one CA and one workload certificate per key type -------------
for kt in $CERTS_LIST; do
  d=$WORK/certs/$kt
  "$AEGIS_BIN" certs init-ca --trust-domain bench.test --key-type "$kt" --out "$d/ca" >/dev/null \
    || die "aegis-flow certs init-ca --key-type $kt failed"
  "$AEGIS_BIN" certs issue --ca "$d/ca" --spiffe-id spiffe://bench.test/ns/b/sa/s --dns localhost \
    --key-type "$kt" --days 2 --out "$d/wl" >/dev/null || die "aegis-flow certs issue --key-type $kt failed"
  # s_server -cert reads only the first certificate of the file: the rest (the
  # CA) goes to -cert_chain, so that it sends the same chain as aegis-flow.
  awk '/-----BEGIN CERTIFICATE-----/ {n++} n > 1' "$d/wl/cert.pem" >"$d/wl/chain.pem"
  [ -s "$d/wl/chain.pem" ] || die "$d/wl/cert.pem holds no CA certificate after the leaf"
done
log "certificates made in $WORK/certs ($CERTS_LIST)"

COMBOS=()
for kt in $CERTS_LIST; do for g in $GROUPS_LIST; do COMBOS+=("$kt/$g"); done; done
if [ "$QUICK" != 0 ] && [ -z "${BENCH_TLS_GROUPS:-}${BENCH_TLS_CERTS:-}" ]; then
  COMBOS=(ecdsa-p256/X25519 mldsa65/MLKEM1024)  # the classical and the PQC corner
fi
declare -A PORT
mkdir -p "$WORK/www"
printf 'hello\n' >"$WORK/www/hello"

# --- openssl s_server: one per combination, all idle but the one measured -------
if want s_server; then
  mode=(-www)
  [ "$HTTP" = 0 ] || mode=(-WWW)
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/} name="s_server/$combo"
    free_port p; PORT[$name]=$p
    start_in "$WORK/www" "$name" "$WORK/s_server-$kt-$g.log" "$CPU_SERVER" "$OPENSSL" s_server \
      -accept "127.0.0.1:$p" -tls1_3 -groups "$g" -num_tickets 0 -no_cache "${mode[@]}" -quiet \
      -cert "$WORK/certs/$kt/wl/cert.pem" -cert_chain "$WORK/certs/$kt/wl/chain.pem" -key "$WORK/certs/$kt/wl/key.pem"
    if [ "$RESUME" = 1 ]; then  # tickets on (OpenSSL's default: 2 after a full handshake, 1 after a resumed one)
      name="s_server-r/$combo"
      free_port p; PORT[$name]=$p
      start_in "$WORK/www" "$name" "$WORK/s_server-r-$kt-$g.log" "$CPU_SERVER" "$OPENSSL" s_server \
        -accept "127.0.0.1:$p" -tls1_3 -groups "$g" "${mode[@]}" -quiet \
        -cert "$WORK/certs/$kt/wl/cert.pem" -cert_chain "$WORK/certs/$kt/wl/chain.pem" -key "$WORK/certs/$kt/wl/key.pem"
    fi
  done
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/}
    wait_port "s_server/$combo" "${PORT[s_server/$combo]}" "$WORK/s_server-$kt-$g.log"
    [ "$RESUME" = 0 ] || wait_port "s_server-r/$combo" "${PORT[s_server-r/$combo]}" "$WORK/s_server-r-$kt-$g.log"
  done
  log "started $((${#COMBOS[@]} * (RESUME + 1))) openssl s_server processes"
fi

# --- aegis-flow: one process, one TLS listener per combination ----------------------
AEGIS_PENDING=""
if want aegis; then
  free_port ADMIN_PORT
  UPSTREAM_PORT=9  # handshake-only mode: no request ever reaches the cluster
  if [ "$HTTP" = 1 ]; then
    free_port UPSTREAM_PORT
    start_nginx "$WORK/nginx" "$UPSTREAM_PORT" "$CPU_NGINX"
    wait_port nginx "$UPSTREAM_PORT" "$WORK/nginx/error.log"
  fi
  cfg=$WORK/aegis-flow.yaml
  {
    echo "admin: {address: 127.0.0.1, port: $ADMIN_PORT}"
    echo 'access_log: {path: ""}'
    echo "drain_timeout: 1s"
    echo "listeners:"
    # listener NAME_PREFIX KEYTYPE GROUP RESUMPTION: one TLS listener per row.
    listener() {
      free_port p; PORT[$1/$2/$3]=$p
      cat <<EOF
  - name: tls$([ "$1" = aegis-r ] && echo -r)-$2-$3
    address: 127.0.0.1
    port: $p
    protocol: http
    route_config: local
    tls:
      cert_file: $WORK/certs/$2/wl/cert.pem
      key_file: $WORK/certs/$2/wl/key.pem
      pq_policy: hybrid
      groups: [$3]
      session_resumption: $4
EOF
    }
    for combo in "${COMBOS[@]}"; do
      kt=${combo%/*} g=${combo#*/}
      listener aegis "$kt" "$g" false
      [ "$RESUME" = 1 ] || continue
      listener aegis-r "$kt" "$g" true
    done
    cat <<EOF
route_configs:
  - name: local
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: all
            match: {prefix: /}
            route: {cluster: upstream}
clusters:
  - name: upstream
    lb_policy: round_robin
    endpoints: ["127.0.0.1:$UPSTREAM_PORT"]
EOF
  } >"$cfg"
  if ! vout=$("$AEGIS_BIN" validate -c "$cfg" 2>&1); then
    if grep -qiE "tls.*(unknown|not allowed|unexpected)|(unknown|unexpected).*tls" <<<"$vout"; then
      # Listener TLS is not in this build yet: measure s_server alone, say so.
      AEGIS_PENDING="aegis-flow at $AEGIS_BIN does not accept listener 'tls:' yet ($(head -n 1 <<<"$vout" | sed "s|$WORK/||"))"
      log "warning: $AEGIS_PENDING; the aegis-flow column is pending"
    else
      printf '%s\n' "$vout" >&2
      die "aegis-flow rejected the generated config $cfg (errors above; the schema may have changed: update bench/tls.sh)"
    fi
  else
    start_in "$WORK" aegis "$WORK/aegis.log" "$CPU_SERVER" "$AEGIS_BIN" run -c "$cfg" --concurrency 1
    for _ in $(seq 100); do
      kill -0 "${PID[aegis]}" 2>/dev/null || { tail -n 30 "$WORK/aegis.log" >&2; die "aegis-flow exited during start-up (log above)"; }
      curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$ADMIN_PORT/ready" 2>/dev/null && break
      sleep 0.1
    done
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$ADMIN_PORT/ready" || die "aegis-flow not ready after 10 s ($WORK/aegis.log)"
    log "started aegis-flow with $((${#COMBOS[@]} * (RESUME + 1))) TLS listeners (admin $ADMIN_PORT)"
  fi
fi
ORDER=()
want s_server && ORDER+=(s_server)
want aegis && [ -z "$AEGIS_PENDING" ] && ORDER+=(aegis)
[ ${#ORDER[@]} -gt 0 ] || die "nothing to measure"
FULL_ORDER=("${ORDER[@]}")
if [ "$RESUME" = 1 ]; then  # the resumed rows: the same servers with tickets, the client with --resume
  for t in "${FULL_ORDER[@]}"; do ORDER+=("$t-r"); done
fi
has() { [[ " ${ORDER[*]} " == *" $1 "* ]]; }

HS_FLAGS=(--concurrency "$CONC")
[ "$HTTP" = 0 ] || HS_FLAGS+=(--http --path /hello)

# --- checks: every server verifies against its CA and negotiates what we ask -----
for t in "${ORDER[@]}"; do
  flags=("${HS_FLAGS[@]}")
  [[ "$t" != *-r ]] || flags+=(--resume)
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/}
    out=$("$HS_BIN" --port "${PORT[$t/$combo]}" --groups "$g" --count 1 "${flags[@]}" \
      --ca "$WORK/certs/$kt/ca/ca.crt" --expect-group "$g" --expect-sigalg "${SIGALG[$kt]}" 2>&1) \
      || { printf '%s\n' "$out" >&2; die "$t $kt $g: check connection failed (verified against the CA)"; }
    # Not fatal: the resumed share in the report shows a server that does not resume.
    [[ "$t" != *-r ]] || grep -q '^probe: .*: resumed' <<<"$out" \
      || log "warning: $t $kt $g: the check connection did not resume: $(grep -E '^(probe|warning):' <<<"$out" | head -n 1)"
  done
done
log "every server verified against its CA and negotiated the expected group and signature"

# --- measure --------------------------------------------------------------------------
server_cpu_ns() {  # run time of every thread of PID so far, ns (schedstat field 1)
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1} END {printf "%.0f\n", t}'
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A RATE P50 P99 SCPU USHS CCPU ERRS RES FC2S FS2C RC2S RS2C TKT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
total=$((ROUNDS * ${#COMBOS[@]} * ${#ORDER[@]})) n=0
for ((r = 1; r <= ROUNDS; r++)); do
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/}
    for t in "${ORDER[@]}"; do
      n=$((n + 1)) key="$t/$combo"
      [[ "$t" == aegis* ]] && spid=${PID[aegis]} || spid=${PID[$key]}
      flags=("${HS_FLAGS[@]}")
      [[ "$t" != *-r ]] || flags+=(--resume)
      log "[$n/$total] round $r: $t, $kt, $g (${WARMUP}s warm-up + ${SECONDS_RUN}s, $CONC client threads)"
      if [ "$WARMUP" -gt 0 ]; then
        pin "$CPU_LOAD" "$HS_BIN" --port "${PORT[$key]}" --groups "$g" --seconds "$WARMUP" --warmup 0 "${flags[@]}" >/dev/null 2>&1 || true
      fi
      c0=$(server_cpu_ns "$spid") t0=$(date +%s%N)
      out=$(pin "$CPU_LOAD" "$HS_BIN" --port "${PORT[$key]}" --groups "$g" --seconds "$SECONDS_RUN" --warmup 0 "${flags[@]}" 2>&1) || true
      c1=$(server_cpu_ns "$spid") t1=$(date +%s%N)
      printf '%s\n' "$out" >"$WORK/hs-$t-$kt-$g-$r.txt"
      res=$(grep '^RESULT ' <<<"$out" || true)
      [ -n "$res" ] || { printf '%s\n' "$out" >&2; die "$t $kt $g: no result from aegis-bench-handshake"; }
      hs=$(field handshakes "$res")
      RATE[$key]+="$(field rate "$res") " P50[$key]+="$(field p50_us "$res") " P99[$key]+="$(field p99_us "$res") "
      CCPU[$key]+="$(field client_cpu_pct "$res") "
      RES[$key]+="$(awk -v r="$(field resumed "$res")" -v h="$hs" 'BEGIN {if (h > 0) printf "%.1f", 100 * r / h; else print 0}') "
      FC2S[$key]+="$(field full_c2s "$res") " FS2C[$key]+="$(field full_s2c "$res") "
      RC2S[$key]+="$(field resumed_c2s "$res") " RS2C[$key]+="$(field resumed_s2c "$res") " TKT[$key]+="$(field ticket_s2c "$res") "
      SCPU[$key]+="$(awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN {printf "%.0f", 100 * c / t}') "
      USHS[$key]+="$(awk -v c="$((c1 - c0))" -v h="$hs" 'BEGIN {if (h > 0) printf "%.0f", c / 1000 / (h + 1); else print 0}') "
      e=$(field errors "$res")
      ERRS[$key]=$((${ERRS[$key]:-0} + e))
      [ "$e" = 0 ] || log "  $e failed connection(s): $(grep '^first error' <<<"$out" || true)"
    done
  done
done

# --- report ----------------------------------------------------------------------------
RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/tls-latest.txt
{
  report_machine "Aegis-Flow TLS handshake benchmark (bench/tls.sh)" "$LOAD_BEFORE"
  echo "pinning:  $PIN_NOTE${BENCH_NICE:+, servers and client at nice $BENCH_NICE}"
  echo "client:   aegis-bench-handshake, $CONC threads, blocking, TLS 1.3 offering only the group under test, no tickets,"
  echo "          no verification while measuring (each server was checked once against its CA first),"
  if [ "$HTTP" = 1 ]; then
    echo "          then GET /hello (Connection: close) and the 6-byte response, then close_notify"
  else
    echo "          handshake only, then close_notify and close"
  fi
  echo "          ${WARMUP}s warm-up + ${SECONDS_RUN}s per row and server, $ROUNDS round(s)$([ "$ROUNDS" -gt 1 ] && echo ', medians shown')"
  echo "servers:  (s) openssl s_server -tls1_3 -groups G -num_tickets 0 -no_cache $([ "$HTTP" = 1 ] && echo -WWW || echo -www) -cert_chain CA (single-threaded): the ceiling"
  echo "          (a) aegis-flow run --concurrency 1, one TLS listener per row (pq_policy hybrid, groups [G], session_resumption false)$([ "$HTTP" = 1 ] && echo ', proxying to nginx')"
  echo "          certificates from aegis-flow certs (leaf + CA chain sent), SAN DNS localhost"
  echo "versions: $("$OPENSSL" version)"
  echo "          $("$AEGIS_BIN" version | head -n 1)"
  commit_line "$ROOT"
  [ -z "$AEGIS_PENDING" ] || echo "PENDING:  $AEGIS_PENDING"
  echo
  printf '%-11s %-18s | %9s %7s %7s %5s %6s %5s | %9s %7s %7s %5s %6s %5s | %6s %6s\n' \
    "" "" "s_server" "" "" "" "" "" "aegis" "" "" "" "" "" "a/s" "a/s"
  printf '%-11s %-18s | %9s %7s %7s %5s %6s %5s | %9s %7s %7s %5s %6s %5s | %6s %6s\n' \
    cert group hs/s p50_us p99_us cpu% us/hs cli% hs/s p50_us p99_us cpu% us/hs cli% hs/s us/hs
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/}
    cols=()
    for t in s_server aegis; do
      key="$t/$combo"
      if [[ " ${ORDER[*]} " == *" $t "* ]]; then
        for m in RATE P50 P99 SCPU USHS CCPU; do
          declare -n arr=$m
          arr[$key]=$(median <<<"${arr[$key]% }")
          unset -n arr
        done
        cols+=("$(printf '%9.0f %7.0f %7.0f %5.0f %6.0f %5.0f' "${RATE[$key]}" "${P50[$key]}" "${P99[$key]}" "${SCPU[$key]}" "${USHS[$key]}" "${CCPU[$key]}")")
      else
        cols+=("$(printf '%9s %7s %7s %5s %6s %5s' pending - - - - -)")
      fi
    done
    if [[ " ${ORDER[*]} " == *" s_server "* && " ${ORDER[*]} " == *" aegis "* ]]; then
      rr=$(ratio "${RATE[aegis/$combo]}" "${RATE[s_server/$combo]}") ru=$(ratio "${USHS[aegis/$combo]}" "${USHS[s_server/$combo]}")
    else
      rr=pending ru=pending
    fi
    printf '%-11s %-18s | %s | %s | %6s %6s\n' "${CERT_LABEL[$kt]}" "$g" "${cols[0]}" "${cols[1]}" "$rr" "$ru"
  done
  echo
  echo "hs/s: full handshakes per second; p50/p99: connect() to finished handshake at the client, microseconds"
  echo "cpu%: the server's CPU during the measured run (100 = one core); us/hs: server CPU microseconds per handshake"
  echo "cli%: the load generator's CPU ($LOAD_CPUS CPU(s) for it: near $((LOAD_CPUS * 100)) means the client, not the server, was the limit)"
  echo "a/s hs/s: aegis-flow / s_server rate (higher is better, 1.00 = the ceiling); a/s us/hs: CPU per handshake ratio (lower is better)"

  if [ "$RESUME" = 1 ]; then
    echo
    echo "Resumed handshakes: the client offers the TLS 1.3 ticket of its thread's previous connection (psk_dhe_ke:"
    echo "the key exchange is still done, no certificate or signature). Servers: (s) the same s_server without"
    echo "-num_tickets 0 -no_cache (OpenSSL's default tickets), (a) the same listener with session_resumption: true."
    printf '%-11s %-18s | %9s %7s %7s %5s %6s %5s %5s | %9s %7s %7s %5s %6s %5s %5s | %6s %6s | %5s %5s\n' \
      "" "" "s_server" "" "" "" "" "" "" "aegis" "" "" "" "" "" "" "a/s" "a/s" "r/f" "r/f"
    printf '%-11s %-18s | %9s %7s %7s %5s %6s %5s %5s | %9s %7s %7s %5s %6s %5s %5s | %6s %6s | %5s %5s\n' \
      cert group hs/s p50_us p99_us cpu% us/hs cli% res% hs/s p50_us p99_us cpu% us/hs cli% res% hs/s us/hs s a
    for combo in "${COMBOS[@]}"; do
      kt=${combo%/*} g=${combo#*/}
      cols=()
      for t in s_server-r aegis-r; do
        key="$t/$combo"
        if has "$t"; then
          # shellcheck disable=SC2178,SC2004  # as in the full-handshake table above
          for m in RATE P50 P99 SCPU USHS CCPU RES; do
            declare -n arr=$m
            arr[$key]=$(median <<<"${arr[$key]% }")
            unset -n arr
          done
          cols+=("$(printf '%9.0f %7.0f %7.0f %5.0f %6.0f %5.0f %5.1f' "${RATE[$key]}" "${P50[$key]}" "${P99[$key]}" "${SCPU[$key]}" "${USHS[$key]}" "${CCPU[$key]}" "${RES[$key]}")")
        else
          cols+=("$(printf '%9s %7s %7s %5s %6s %5s %5s' pending - - - - - -)")
        fi
      done
      rr=pending ru=pending fs=- fa=-
      if has s_server-r && has aegis-r; then
        rr=$(ratio "${RATE[aegis-r/$combo]}" "${RATE[s_server-r/$combo]}") ru=$(ratio "${USHS[aegis-r/$combo]}" "${USHS[s_server-r/$combo]}")
      fi
      ! has s_server-r || fs=$(ratio "${RATE[s_server-r/$combo]}" "${RATE[s_server/$combo]}")
      ! has aegis-r || fa=$(ratio "${RATE[aegis-r/$combo]}" "${RATE[aegis/$combo]}")
      printf '%-11s %-18s | %s | %s | %6s %6s | %5s %5s\n' "${CERT_LABEL[$kt]}" "$g" "${cols[0]}" "${cols[1]}" "$rr" "$ru" "$fs" "$fa"
    done
    echo
    echo "hs/s: all handshakes per second (a thread's first connection in each run is a full one); res%: the share that"
    echo "resumed (SSL_session_reused; near 100 = the server resumes, 0 = it does not); r/f s, r/f a: resumed / full hs/s"
    echo "for s_server and aegis-flow (the speed-up resumption gives)"
  fi

  # TLS bytes per handshake, one column pair per direction; '-' where not measured.
  mb() {  # mb ARRAY KEY: the median of ARRAY[KEY], or '-'
    local -n a=$1
    if [ -n "${a[$2]:-}" ]; then median <<<"${a[$2]% }"; else echo -; fi
  }
  echo
  echo "TLS bytes on the wire per handshake (TLS records as the client's socket BIO wrote and read them, TCP/IP headers"
  echo "not included), until the client finished its handshake: c>s client to server, s>c server to client"
  printf '%-11s %-18s | %-13s | %-13s | %-13s | %-13s | %-11s\n' "" "" "full s_server" "full aegis" "resumed s_srv" "resumed aegis" "ticket s>c"
  printf '%-11s %-18s | %6s %6s | %6s %6s | %6s %6s | %6s %6s | %5s %5s\n' cert group c\>s s\>c c\>s s\>c c\>s s\>c c\>s s\>c s a
  for combo in "${COMBOS[@]}"; do
    kt=${combo%/*} g=${combo#*/}
    printf '%-11s %-18s | %6s %6s | %6s %6s | %6s %6s | %6s %6s | %5s %5s\n' "${CERT_LABEL[$kt]}" "$g" \
      "$(mb FC2S "s_server/$combo")" "$(mb FS2C "s_server/$combo")" "$(mb FC2S "aegis/$combo")" "$(mb FS2C "aegis/$combo")" \
      "$(mb RC2S "s_server-r/$combo")" "$(mb RS2C "s_server-r/$combo")" "$(mb RC2S "aegis-r/$combo")" "$(mb RS2C "aegis-r/$combo")" \
      "$(mb TKT "s_server-r/$combo")" "$(mb TKT "aegis-r/$combo")"
  done
  echo "ticket s>c: the bytes read after the handshake until the first NewSessionTicket (s: s_server, a: aegis-flow)"

  # The issue's target (informative: never a failure of the run).
  if has s_server && has aegis; then
    echo
    echo "target (issue 8): aegis-flow full handshakes/s >= 0.80 x s_server (informative; us/hs ratio alongside)"
    for combo in "${COMBOS[@]}"; do
      kt=${combo%/*} g=${combo#*/}
      rr=$(ratio "${RATE[aegis/$combo]}" "${RATE[s_server/$combo]}") ru=$(ratio "${USHS[aegis/$combo]}" "${USHS[s_server/$combo]}")
      verdict=$(awk -v r="$rr" 'BEGIN {print (r != "n/a" && r >= 0.80) ? "PASS" : "MISS"}')
      line="$verdict  ${CERT_LABEL[$kt]} $g: full $rr x s_server (us/hs $ru)"
      if has s_server-r && has aegis-r; then
        line+="; resumed $(ratio "${RATE[aegis-r/$combo]}" "${RATE[s_server-r/$combo]}") x, ${RES[aegis-r/$combo]}% resumed"
      fi
      echo "$line"
    done
  fi
} >"$REPORT"

# One JSON row per (server, certificate, group, full or resumed): the medians above.
num_or_empty() { local v; v=$(mb "$@"); [ "$v" = - ] || echo "$v"; }
for combo in "${COMBOS[@]}"; do
  kt=${combo%/*} g=${combo#*/}
  for t in "${ORDER[@]}"; do
    key="$t/$combo" resumed=false c2s=FC2S s2c=FS2C
    [[ "$t" != *-r ]] || resumed=true c2s=RC2S s2c=RS2C
    emit_row tls server="${t%-r}" resumed="$resumed" cert="$kt" group="$g" hs_per_s="${RATE[$key]}" \
      p50_us="${P50[$key]}" p99_us="${P99[$key]}" server_cpu_pct="${SCPU[$key]}" server_us_per_hs="${USHS[$key]}" \
      client_cpu_pct="${CCPU[$key]}" resumed_pct="$([ "$resumed" = false ] || echo "${RES[$key]}")" errors="${ERRS[$key]}" \
      c2s_bytes="$(num_or_empty "$c2s" "$key")" s2c_bytes="$(num_or_empty "$s2c" "$key")" \
      ticket_s2c_bytes="$([ "$resumed" = false ] || num_or_empty TKT "$key")" \
      seconds="$SECONDS_RUN" client_threads="$CONC" rounds="$ROUNDS" http="$HTTP"
  done
done

finish_report "$REPORT" "connection(s)"
