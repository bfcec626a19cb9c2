#!/usr/bin/env bash
# Benchmark (not a test): what hardware attestation adds to a new mTLS
# connection. One aegis-flow process (`run --concurrency 1`, pinned) with two
# TLS listeners that differ only in `attestation:`: both MLKEM1024, ML-DSA-65
# server certificate, require_client_cert, no resumption; the second also
# verifies the client's evidence (simulated TDX quote, TEST roots) and its
# binding and policy in the handshake. The load generator
# (aegis-bench-handshake) presents an ML-DSA-65 client certificate: a plain
# one to the first listener, one from `aegis-flow attest issue-cert` to the
# second. Reported per listener: handshakes/s, the server's CPU per handshake
# (from /proc/PID/task/*/schedstat: the verification is the server's work,
# and in TLS 1.3 the client finishes before the server has checked its
# certificate, so client-side latency does not show it), and the ratio.
#
#   bench/attest.sh [path/to/aegis-flow [path/to/aegis-bench-handshake]]
#
# Environment: BENCH_ATTEST_SECONDS=5, BENCH_ATTEST_CONCURRENCY=2,
# BENCH_ATTEST_ROUNDS=3 (each metric the median), BENCH_NICE as in run.sh;
# BENCH_QUICK=1: one round of 2 s.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
HS_BIN=${2:-$(dirname "$AEGIS_BIN")/aegis-bench-handshake}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  SECONDS_RUN=${BENCH_ATTEST_SECONDS:-2} ROUNDS=${BENCH_ATTEST_ROUNDS:-1}
else
  SECONDS_RUN=${BENCH_ATTEST_SECONDS:-5} ROUNDS=${BENCH_ATTEST_ROUNDS:-3}
fi
CONC=${BENCH_ATTEST_CONCURRENCY:-2}
BENCH_LOG_TAG=bench-attest
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for t in curl ss taskset python3; do command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh first"; done
[ -x "$AEGIS_BIN" ] || die "aegis-flow not found at $AEGIS_BIN (build it with: make build)"
[ -x "$HS_BIN" ] || die "aegis-bench-handshake not found at $HS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN") HS_BIN=$(abspath "$HS_BIN")
bench_setup_work aegis-bench-attest
if [ ${#CPUS[@]} -ge 2 ]; then CPU_SERVER=${CPUS[0]} CPU_LOAD=$(IFS=,; echo "${CPUS[*]:1}"); else CPU_SERVER="" CPU_LOAD=""; fi
bench_setup_nice

# --- identities: a CA, TEST roots, a plain and an attested client certificate ---
cd "$WORK"
"$AEGIS_BIN" certs init-ca --trust-domain bench.test --key-type mldsa65 --out ca >/dev/null
"$AEGIS_BIN" certs issue --ca ca --spiffe-id spiffe://bench.test/ns/b/sa/server --dns localhost --key-type mldsa65 \
  --days 2 --out server >/dev/null
"$AEGIS_BIN" certs issue --ca ca --spiffe-id spiffe://bench.test/ns/b/sa/client --key-type mldsa65 --days 2 \
  --out plain >/dev/null
"$AEGIS_BIN" attest test-roots --out roots >/dev/null
"$AEGIS_BIN" attest issue-cert --ca ca --spiffe-id spiffe://bench.test/ns/b/sa/client --out attested \
  --source simulated --simulated-roots roots --tee tdx >/dev/null
ROOT_FP=$(python3 -c 'import json; print(json.load(open("roots/roots.json"))["tdx_root_sha256"])')

# --- aegis-flow: two listeners, the same but for attestation ---------------------
free_port ADMIN_PORT; free_port PLAIN_PORT; free_port ATTESTED_PORT
listener() {  # listener NAME PORT EXTRA
  cat <<YAML
  - name: $1
    address: 127.0.0.1
    port: $2
    protocol: http
    route_config: local
    tls:
      cert_file: server/cert.pem
      key_file: server/key.pem
      trust_bundle: ca/ca.crt
      require_client_cert: true
      groups: [MLKEM1024]
      session_resumption: false
$3
YAML
}
{
  echo "admin: {address: 127.0.0.1, port: $ADMIN_PORT}"
  echo 'access_log: {path: ""}'
  echo "attestation: {test_roots: [\"$ROOT_FP\"]}"
  echo "listeners:"
  listener plain "$PLAIN_PORT" ""
  listener attested "$ATTESTED_PORT" "      attestation: {tee: tdx}"
  cat <<YAML
route_configs:
  - {name: local, virtual_hosts: [{name: all, domains: ["*"], routes: [{name: all, match: {prefix: /}, route: {cluster: none}}]}]}
clusters:
  - {name: none, endpoints: ["127.0.0.1:9"]}
YAML
} >aegis-flow.yaml
"$AEGIS_BIN" validate -c aegis-flow.yaml >/dev/null || die "aegis-flow rejected $WORK/aegis-flow.yaml"
start_in "$WORK" aegis "$WORK/aegis.log" "$CPU_SERVER" "$AEGIS_BIN" run -c aegis-flow.yaml --concurrency 1
wait_up aegis-flow "${PID[aegis]}" "http://127.0.0.1:$ADMIN_PORT/ready" "$WORK/aegis.log"

metric() {  # metric NAME LABEL_SUBSTRING: summed value from /stats/prometheus
  curl -fsS "http://127.0.0.1:$ADMIN_PORT/stats/prometheus" |
    awk -v n="$1" -v l="$2" '$1 ~ "^"n"[{ ]" && index($1, l) {s += $2} $1 == n {s += $2} END {printf "%.0f\n", s}'
}
server_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1} END {printf "%.0f\n", t}'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A RATE USHS ERRS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
  for t in plain attested; do
    port=$([ "$t" = plain ] && echo "$PLAIN_PORT" || echo "$ATTESTED_PORT")
    log "round $r/$ROUNDS: $t (${SECONDS_RUN}s, $CONC client threads)"
    before=$(metric aegis_attestation_verified_total 'listener="attested"')
    c0=$(server_cpu_ns "${PID[aegis]}")
    out=$(pin "$CPU_LOAD" "$HS_BIN" --port "$port" --groups MLKEM1024 --seconds "$SECONDS_RUN" --warmup 1 \
      --concurrency "$CONC" --ca ca/ca.crt --cert "$t/cert.pem" --key "$t/key.pem" --expect-sigalg mldsa65 2>&1) || true
    c1=$(server_cpu_ns "${PID[aegis]}")
    res=$(grep '^RESULT ' <<<"$out" || true)
    [ -n "$res" ] || { printf '%s\n' "$out" >&2; die "$t: no result from aegis-bench-handshake"; }
    hs=$(field handshakes "$res")
    RATE[$t]+="$(field rate "$res") "
    USHS[$t]+="$(awk -v c="$((c1 - c0))" -v h="$hs" 'BEGIN {if (h > 0) printf "%.0f", c / 1000 / h; else print 0}') "
    ERRS[$t]=$((${ERRS[$t]:-0} + $(field errors "$res")))
    if [ "$t" = attested ]; then  # every handshake really verified evidence (the warm-up's too)
      after=$(metric aegis_attestation_verified_total 'listener="attested"')
      [ "$((after - before))" -ge "$hs" ] || die "attested: $hs handshakes but only $((after - before)) verified evidence"
    fi
  done
done
refused=$(metric aegis_attestation_failures_total 'listener="attested"')
[ "$refused" = 0 ] || die "the attested listener refused $refused client(s): see $WORK/aegis.log"

REPORT=$(results_dir "$ROOT")/attest-latest.txt
{
  report_machine "aegis-flow attested vs plain mTLS handshakes (bench/attest.sh)" "$LOAD_BEFORE"
  commit_line "$ROOT"
  echo "setup:    aegis-flow run --concurrency 1 (cpu${CPU_SERVER:-any}); aegis-bench-handshake $CONC threads (cpu${CPU_LOAD:-any})"
  echo "          TLS 1.3 MLKEM1024, ML-DSA-65 server and client certificates, require_client_cert, no resumption;"
  echo "          attested = the client certificate carries a simulated TDX quote (TEST roots) verified with its"
  echo "          binding and policy in every handshake; median of $ROUNDS rounds of ${SECONDS_RUN}s"
  printf '\n%-10s %10s %16s\n' listener 'hs/s' 'server us/hs'
  for t in plain attested; do
    printf '%-10s %10s %16s\n' "$t" "$(median <<<"${RATE[$t]}")" "$(median <<<"${USHS[$t]}")"
    emit_row attest listener="$t" hs_per_s="$(median <<<"${RATE[$t]}")" server_us_per_hs="$(median <<<"${USHS[$t]}")" \
      errors="${ERRS[$t]}" group=MLKEM1024 cert=mldsa65 client_threads="$CONC" seconds="$SECONDS_RUN" rounds="$ROUNDS"
  done
  p=$(median <<<"${USHS[plain]}") a=$(median <<<"${USHS[attested]}")
  echo
  echo "attested / plain: $(ratio "$(median <<<"${RATE[attested]}")" "$(median <<<"${RATE[plain]}")")x handshakes/s," \
    "$(ratio "$a" "$p")x server CPU per handshake (+$(awk -v a="$a" -v p="$p" 'BEGIN {printf "%.0f", a - p}') us)"
} >"$REPORT"
finish_report "$REPORT" "connection(s)"
