#!/usr/bin/env bash
# Check (benchmarks only, not part of `make test`): the two-hop HAProxy mesh
# (bench/haproxy_mesh.sh) with HAProxy 3.0 on the project's OpenSSL 3.5
# (bench/haproxy3.sh) for every key-exchange group x certificate type:
#   - curl through both hops answers 200 with nginx's body;
#   - the response headers name the group each hop negotiated (x-hop-group:
#     the outbound's ssl_bc_curve, x-inbound-group: the inbound's ssl_fc_curve);
#   - `openssl s_client` (the project's OpenSSL 3.5) with the outbound's client
#     certificate against the inbound bind prints the expected
#     "Negotiated TLS1.3 group", the peer signature type and "Verify return
#     code: 0 (ok)", and its GET gets nginx's body; a client that offers only
#     another group is refused, and so is one without a client certificate
#     (alert certificate required).
# Then the same for Debian 12's HAProxy 2.6 (system OpenSSL 3.0) with X25519 +
# ecdsa-p256, and wrk -t1 -c16 through the two HAProxy 3.0 hops (MLKEM1024 +
# mldsa65) vs nginx direct (numbers only informative). Prints a table and
# writes it to bench/results/haproxy3-check-latest.txt.
#
#   bench/haproxy3_check.sh [path/to/aegis-flow]    default: build/release/aegis-flow
#
# Environment:
#   HAPROXY3_BIN=path              skip bench/haproxy3.sh build, use this binary
#   HAPROXY26_BIN=/usr/sbin/haproxy   Debian's 2.6 ("" skips that row)
#   BENCH_HAP_SECONDS=5            wrk duration (0 skips the wrk runs)
#   BENCH_CPU_SERVERS, BENCH_CPU_LOAD, BENCH_NICE   as in bench/mesh.sh
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
SECONDS_RUN=${BENCH_HAP_SECONDS:-5}
HAP26=${HAPROXY26_BIN-/usr/sbin/haproxy}

BENCH_LOG_TAG=haproxy3-check
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck source=bench/haproxy_mesh.sh
. "$ROOT/bench/haproxy_mesh.sh"
# shellcheck source=bench/haproxy3.sh
. "$ROOT/bench/haproxy3.sh"

for t in nginx wrk curl ss taskset; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh first"
done
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (it makes the certificates; build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ ]] || die "BENCH_HAP_SECONDS must be an integer"
OSSL="$(haproxy3_cache_dir)/openssl-current/bin/openssl"
[ -x "$OSSL" ] || die "the project's openssl is not at $OSSL; run scripts/bootstrap.sh"
if [ -n "${HAPROXY3_BIN:-}" ]; then HAP3=$HAPROXY3_BIN; else HAP3=$(haproxy3_build) || die "bench/haproxy3.sh build failed"; fi
[ -x "$HAP3" ] || die "HAProxy 3 not found at $HAP3"
HAP3_VV=$("$HAP3" -vv 2>&1) || true
grep -q '^Running on OpenSSL version : OpenSSL 3\.[5-9]' <<<"$HAP3_VV" \
  || die "$HAP3 does not run on OpenSSL >= 3.5 (see $HAP3 -vv)"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bench_setup_work aegis-haproxy3-check
CPU_SRV="" CPU_LOAD=""
if [ ${#CPUS[@]} -ge 2 ]; then CPU_SRV=${CPUS[0]} CPU_LOAD=${CPUS[1]}; fi
CPU_SRV=${BENCH_CPU_SERVERS:-$CPU_SRV}
CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
bench_setup_nice

for kt in $HAPROXY_MESH_KEYTYPES; do haproxy_mesh_certs "$AEGIS_BIN" "$kt" "$WORK/certs/$kt"; done
log "certificates made with aegis-flow certs in $WORK/certs ($HAPROXY_MESH_KEYTYPES)"

NGINX_PORT="" OUT_PORT="" IN_PORT=""
free_port NGINX_PORT
start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_SRV"
wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"
check_body nginx "http://127.0.0.1:$NGINX_PORT/"

FAILS=0
ROWS=()
row() { printf '%-11s %-18s %-10s %-4s %-18s %-18s %-18s %-22s %-6s %-3s %-19s %-15s %s\n' "$@"; }
# s_client_probe PORT GROUP CERTDIR LOG [nocert]: the project's openssl s_client
# offering only GROUP, with the client certificate of CERTDIR (none with nocert),
# sends one GET straight to the inbound; output in LOG. Prints
# "group sigtype verify got_body alert": got_body "yes" when nginx's body came back,
# alert e.g. "certificate_required" ("-" when none).
s_client_probe() {
  local out grp sig ver got alert cert=()
  [ "${5:-}" = nocert ] || cert=(-cert "$3/client/cert.pem" -key "$3/client/key.pem")
  out=$(printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
        | timeout 10 "$OSSL" s_client -connect "127.0.0.1:$1" -servername localhost -groups "$2" \
          "${cert[@]}" -CAfile "$3/ca/ca.crt" -verify_return_error -ign_eof 2>&1) || true
  printf '%s\n' "$out" >"$4"
  # ML-KEM groups: "Negotiated TLS1.3 group: MLKEM1024"; classical ones (X25519)
  # only in "Peer Temp Key: X25519, 253 bits" (before 3.5: "Server Temp Key").
  # A failed handshake: neither (or <NULL>).
  grp=$(awk -F': ' '/^Negotiated TLS1.3 group:/ && $2 != "<NULL>" {print $2; exit}' <<<"$out")
  [ -n "$grp" ] || grp=$(awk -F'[:,] *' '/^(Peer|Server) Temp Key:/ {print $2; exit}' <<<"$out")
  sig=$(awk -F': ' '/^Peer signature type:/ {print $2; exit}' <<<"$out")
  ver=$(awk -F': ' '/^Verify return code:/ {print $2; exit}' <<<"$out")
  got=no; ! grep -qx 'hello' <<<"$out" || got=yes
  alert=$(sed -n 's/.*alert \([a-z ]*\):.*/\1/p' <<<"$out" | head -n1)
  alert=${alert// /_}
  echo "${grp:--} ${sig:--} ${ver// /_} $got ${alert:--}"
}
check_combo() {
  local hap=$1 label=$2 g=$3 kt=$4 d name out_port in_port code hdrs body hop inb probe other refused pgrp psig pver pgot ngot nalert nocert ok=yes
  name=$label-$g-$kt d=$WORK/mesh/$name
  free_port out_port; free_port in_port
  haproxy_mesh_conf "$hap" "$g" "$WORK/certs/$kt" "$d" "$out_port" "$in_port" "$NGINX_PORT"
  haproxy_mesh_start "$hap" "$d" "$name" "$CPU_SRV" "$CPU_SRV"
  hdrs=$(curl -sS --max-time 5 -D - -o "$d/body" "http://127.0.0.1:$out_port/" 2>"$d/curl.err") || true
  code=$(awk 'NR == 1 {print $2}' <<<"$hdrs")
  body=$(cat "$d/body" 2>/dev/null || true)
  hop=$(awk -F': ' 'tolower($1) == "x-hop-group" {sub(/\r$/, "", $2); print $2}' <<<"$hdrs")
  inb=$(awk -F': ' 'tolower($1) == "x-inbound-group" {sub(/\r$/, "", $2); print $2}' <<<"$hdrs")
  read -r pgrp psig pver pgot _ <<<"$(s_client_probe "$in_port" "$g" "$WORK/certs/$kt" "$d/s_client.log")"
  # The inbound refuses a client offering only another group, and one without a certificate.
  other=X25519; [ "$g" != X25519 ] || other=MLKEM1024
  probe=$(s_client_probe "$in_port" "$other" "$WORK/certs/$kt" "$d/s_client-$other.log")
  if [ "${probe%% *}" = "-" ]; then refused=yes; else refused="NO(${probe%% *})"; ok=no; fi
  read -r _ _ _ ngot nalert <<<"$(s_client_probe "$in_port" "$g" "$WORK/certs/$kt" "$d/s_client-nocert.log" nocert)"
  if [ "$ngot" = no ] && [ "$nalert" = certificate_required ]; then nocert=yes; else nocert="NO($nalert)"; ok=no; fi
  [ "$code" = 200 ] && [ "$body" = hello ] || ok=no
  [ "$pgrp" = "$g" ] && [ "$pver" = "0_(ok)" ] && [ "$pgot" = yes ] || ok=no
  # ssl_bc_curve/ssl_fc_curve spell SecP384r1MLKEM1024 in capitals: compare ignoring case.
  if [ -n "$hop$inb" ] && { [ "${hop^^}" != "${g^^}" ] || [ "${inb^^}" != "${g^^}" ]; }; then ok=no; fi
  [ "$ok" = yes ] || { FAILS=$((FAILS + 1)); log "FAILED: $label $g $kt (configs and logs in $d; BENCH_KEEP_WORK=1 keeps them)"; }
  ROWS+=("$(row "$label" "$g" "$kt" "${code:-ERR}" "${hop:-n/a}" "${inb:-n/a}" \
    "$pgrp" "$psig" "${pver//_/ }" "$pgot" "$refused($other)" "$nocert" "$ok")")
  haproxy_mesh_stop "$name"
}

for g in $HAPROXY_MESH_GROUPS; do
  for kt in $HAPROXY_MESH_KEYTYPES; do
    check_combo "$HAP3" haproxy-3.0 "$g" "$kt"
  done
done
if [ -n "$HAP26" ]; then
  [ -x "$HAP26" ] || die "HAProxy 2.6 not found at $HAP26 (HAPROXY26_BIN=\"\" skips it)"
  check_combo "$HAP26" haproxy-2.6 X25519 ecdsa-p256
fi

# --- load: wrk through the two HAProxy 3.0 hops vs nginx direct ------------------
WRK_ROWS=()
if [ "$SECONDS_RUN" -gt 0 ]; then
  free_port OUT_PORT; free_port IN_PORT
  d=$WORK/mesh/load
  haproxy_mesh_conf "$HAP3" MLKEM1024 "$WORK/certs/mldsa65" "$d" "$OUT_PORT" "$IN_PORT" "$NGINX_PORT"
  haproxy_mesh_start "$HAP3" "$d" load "$CPU_SRV" "$CPU_SRV"
  check_body haproxy-mesh "http://127.0.0.1:$OUT_PORT/"
  for target in direct haproxy-mesh; do
    url=http://127.0.0.1:$NGINX_PORT/
    [ "$target" = direct ] || url=http://127.0.0.1:$OUT_PORT/
    pin "$CPU_LOAD" wrk -t1 -c16 -d1s "$url" >/dev/null   # warm-up
    out=$(pin "$CPU_LOAD" wrk -t1 -c16 -d"${SECONDS_RUN}s" --latency "$url")
    read -r rps p50 p99 errs <<<"$(wrk_summary "$out")" || die "cannot parse wrk output for $target"
    [ "$errs" = 0 ] || { FAILS=$((FAILS + 1)); log "wrk against $target: $errs errors"; }
    label="nginx direct"; [ "$target" = direct ] || label="haproxy-3.0 x2, MLKEM1024, mldsa65"
    WRK_ROWS+=("$(printf '%-36s %10s %10s %10s %6s' "$label" "$rps" "$p50" "$p99" "$errs")")
  done
  haproxy_mesh_stop load
fi

# hap_line HAPROXY NOTE: "haproxy:  HAProxy version X NOTE, OpenSSL version : ..."
hap_line() {
  local vv
  vv=$("$1" -vv 2>&1) || true
  echo "haproxy:  $(awk 'NR == 1 {print $1, $2, $3}' <<<"$vv")$2, $(awk '/^Running on OpenSSL/ {sub(/^Running on /, ""); print; exit}' <<<"$vv")"
}
REPORT=$(results_dir "$ROOT")/haproxy3-check-latest.txt
{
  report_machine "HAProxy two-hop PQC mesh check (bench/haproxy3_check.sh)" "$LOAD_BEFORE"
  commit_line "$ROOT"
  hap_line "$HAP3" ""
  [ -z "$HAP26" ] || hap_line "$HAP26" " (Debian 12)"
  echo "probe:    $("$OSSL" version | cut -d' ' -f1-2) s_client -groups GROUP with the outbound's client certificate, one GET, against the inbound bind"
  echo "pinning:  nginx and both HAProxy hops cpu${CPU_SRV:-any}, wrk cpu${CPU_LOAD:-any}"
  echo
  row peer group cert http hop-group inbound-group s_client-group peer-sig verify GET \
    other-group-refused no-cert-refused ok
  printf '%s\n' "${ROWS[@]}"
  if [ ${#WRK_ROWS[@]} -gt 0 ]; then
    echo
    echo "wrk -t1 -c16 -d${SECONDS_RUN}s (after 1 s warm-up), $NGINX_DESC; informative only"
    printf '%-36s %10s %10s %10s %6s\n' target req/s p50_us p99_us errors
    printf '%s\n' "${WRK_ROWS[@]}"
  fi
} >"$REPORT"
echo
cat "$REPORT"
echo
[ "$FAILS" -eq 0 ] || die "$FAILS check(s) failed"
log "all checks passed; report in ${REPORT#"$ROOT"/}"
