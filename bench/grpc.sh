#!/usr/bin/env bash
# Benchmark (not a test): gRPC unary requests/s through the two-sidecar mesh,
# in one run against the same gRPC server (tests/integration/grpc/grpc_server.py,
# Debian python3-grpcio, aegis.test.Echo/Unary with a 128-byte message):
#   direct   h2load -> the gRPC server (h2c)
#   mesh-pq  h2load -> outbound aegis-flow (h2c listener) -> HTTP/2 over mTLS,
#            pq_only_1024 (MLKEM1024), ML-DSA-65 certificates (cluster protocol: http2)
#            -> inbound aegis-flow (TLS listener, ALPN h2) -> the gRPC server (h2c)
# h2load sends each call as a gRPC request (POST, content-type application/grpc,
# te: trailers, one length-prefixed message); every call's grpc-status is
# checked through the server's own count of answered calls ("RPC Unary OK").
# The python server is single-process: it bounds the rate of both rows, so the
# ratio says what the mesh costs under that ceiling, not the proxies' own limit
# (bench/h2.sh measures that against nginx).
#
#   bench/grpc.sh [path/to/aegis-flow]     default: build/release/aegis-flow
#
# Environment:
#   BENCH_SECONDS=10   measured duration of each h2load run (after 2 s warm-up)
#   BENCH_QUICK=1      short runs (2 s after a 1 s warm-up)
#   BENCH_CONNECTIONS=4, BENCH_STREAMS=16   h2load -c / -m
#   BENCH_NICE, BENCH_CPU_*: as in bench/run.sh
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AEGIS_BIN=${1:-$ROOT/build/release/aegis-flow}
if [ "${BENCH_QUICK:-0}" != 0 ]; then
  SECONDS_RUN=${BENCH_SECONDS:-2} WARMUP=1
else
  SECONDS_RUN=${BENCH_SECONDS:-10} WARMUP=2
fi
CONNS=${BENCH_CONNECTIONS:-4}
STREAMS=${BENCH_STREAMS:-16}
PY=${AEGIS_GRPC_PYTHON:-/usr/bin/python3}

BENCH_LOG_TAG=bench-grpc
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

for t in h2load curl; do
  command -v "$t" >/dev/null || die "'$t' not found; run scripts/bootstrap.sh (or make bootstrap) first"
done
"$PY" -c 'import grpc' 2>/dev/null || die "$PY has no grpc module (Debian python3-grpcio; run scripts/bootstrap.sh)"
[ -x "$AEGIS_BIN" ] || die "aegis-flow binary not found at $AEGIS_BIN (build it with: make build)"
AEGIS_BIN=$(abspath "$AEGIS_BIN")
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$SECONDS_RUN" -gt 0 ]] || die "BENCH_SECONDS must be a positive integer"

bench_setup_work aegis-bench-grpc
# With 2 CPUs: server and both sidecars on cpu0, h2load on cpu1.
CPU_SERVERS="" CPU_LOAD=""
if command -v taskset >/dev/null && [ ${#CPUS[@]} -ge 2 ]; then
  CPU_SERVERS=${CPUS[0]} CPU_LOAD=${CPUS[$((${#CPUS[@]} - 1))]}
fi
CPU_SERVERS=${BENCH_CPU_PROXY:-$CPU_SERVERS} CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
bench_setup_nice

# --- certificates: ML-DSA-65 CA, server (inbound) and client (outbound) identities
C=$WORK/certs
"$AEGIS_BIN" certs init-ca --trust-domain bench.test --key-type mldsa65 --out "$C/ca" >/dev/null || die "certs init-ca failed"
"$AEGIS_BIN" certs issue --ca "$C/ca" --spiffe-id spiffe://bench.test/ns/b/sa/server --dns localhost \
  --key-type mldsa65 --days 2 --out "$C/server" >/dev/null || die "certs issue (server) failed"
"$AEGIS_BIN" certs issue --ca "$C/ca" --spiffe-id spiffe://bench.test/ns/b/sa/client --key-type mldsa65 \
  --days 2 --out "$C/client" >/dev/null || die "certs issue (client) failed"

# --- the gRPC server ---------------------------------------------------------------
free_port GRPC_PORT
start grpc "$WORK/grpc.log" "$CPU_SERVERS" "$PY" "$ROOT/tests/integration/grpc/grpc_server.py" --port "$GRPC_PORT"
wait_port grpc "$GRPC_PORT" "$WORK/grpc.log"

# --- the two sidecars ---------------------------------------------------------------
free_port IN_PORT; free_port IN_ADMIN; free_port OUT_PORT; free_port OUT_ADMIN
route_yaml() {  # route_yaml CLUSTER
  printf 'route_configs:\n  - name: r\n    virtual_hosts:\n      - name: all\n        domains: ["*"]\n'
  printf '        routes:\n          - name: all\n            match: {prefix: /}\n            route: {cluster: %s}\n' "$1"
}
{
  printf 'admin: {address: 127.0.0.1, port: %s}\naccess_log: {path: ""}\ndrain_timeout: 1s\nlisteners:\n' "$IN_ADMIN"
  cat <<EOF
  - name: inbound
    address: 127.0.0.1
    port: $IN_PORT
    protocol: http
    route_config: r
    tls:
      cert_file: $C/server/cert.pem
      key_file: $C/server/key.pem
      trust_bundle: $C/ca/ca.crt
      require_client_cert: true
      pq_policy: pq_only_1024
      allow_peers: [{prefix: "spiffe://bench.test/ns/b/"}]
EOF
  route_yaml grpc
  printf 'clusters:\n  - name: grpc\n    protocol: http2\n    endpoints: ["127.0.0.1:%s"]\n' "$GRPC_PORT"
} >"$WORK/inbound.yaml"
{
  printf 'admin: {address: 127.0.0.1, port: %s}\naccess_log: {path: ""}\ndrain_timeout: 1s\nlisteners:\n' "$OUT_ADMIN"
  printf '  - {name: outbound, address: 127.0.0.1, port: %s, protocol: http, route_config: r}\n' "$OUT_PORT"
  route_yaml mesh
  cat <<EOF
clusters:
  - name: mesh
    protocol: http2
    endpoints: ["127.0.0.1:$IN_PORT"]
    tls:
      trust_bundle: $C/ca/ca.crt
      cert_file: $C/client/cert.pem
      key_file: $C/client/key.pem
      pq_policy: pq_only_1024
      server_name: localhost
      allow_peers: [{exact: "spiffe://bench.test/ns/b/sa/server"}]
EOF
} >"$WORK/outbound.yaml"
for side in inbound outbound; do
  "$AEGIS_BIN" validate -c "$WORK/$side.yaml" >/dev/null || die "aegis-flow rejected $WORK/$side.yaml"
done
start inbound "$WORK/inbound.log" "$CPU_SERVERS" "$AEGIS_BIN" run -c "$WORK/inbound.yaml" --concurrency 1
wait_up aegis-flow "${PID[inbound]}" "http://127.0.0.1:$IN_ADMIN/ready" "$WORK/inbound.log"
start outbound "$WORK/outbound.log" "$CPU_SERVERS" "$AEGIS_BIN" run -c "$WORK/outbound.yaml" --concurrency 1
wait_up aegis-flow "${PID[outbound]}" "http://127.0.0.1:$OUT_ADMIN/ready" "$WORK/outbound.log"

# --- h2load ---------------------------------------------------------------------------
# One gRPC message: flag 0, 4-byte big-endian length 128, 128 bytes.
printf '\x00\x00\x00\x00\x80' >"$WORK/call.bin"
head -c 128 /dev/zero | tr '\0' 'a' >>"$WORK/call.bin"
answered() { grep -c '^RPC Unary OK' "$WORK/grpc.log" || true; }
# measure NAME PORT: "calls/s mean_us non2xx answered_ok h2load_succeeded"
measure() {
  local name=$1 port=$2 before after out
  before=$(answered)
  out=$(pin "$CPU_LOAD" h2load -c"$CONNS" -m"$STREAMS" -D"$SECONDS_RUN" --warm-up-time="$WARMUP" -d "$WORK/call.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$port/aegis.test.Echo/Unary" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "h2load failed against $name"; }
  sleep 0.5
  after=$(answered)
  printf '%s\n' "$out" >"$WORK/h2load-$name.txt"
  awk -v ok=$((after - before)) '
    /^finished in/ {for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) rps = $(i - 1)}
    /^requests:/ {for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^succeeded,?$/) succ = $i}
    /^status codes:/ {for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^[345]xx,?$/) bad += $i}
    /^time for request:/ {mean = $6}
    END {
      if (rps == "" || mean == "") exit 1
      m = mean; u = 1
      if (m ~ /us$/) u = 1; else if (m ~ /ms$/) u = 1000; else if (m ~ /s$/) u = 1000000
      sub(/[a-z]+$/, "", m)
      printf "%s %.1f %d %d %d\n", rps, m * u, bad, ok, succ
    }' <<<"$out" || { printf '%s\n' "$out" >&2; die "cannot parse h2load output for $name"; }
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "direct: h2load -c$CONNS -m$STREAMS -D$SECONDS_RUN"
DIRECT=$(measure direct "$GRPC_PORT")
log "mesh-pq: h2load -c$CONNS -m$STREAMS -D$SECONDS_RUN"
MESH=$(measure mesh "$OUT_PORT")

RESULTS_DIR=$(results_dir "$ROOT")
REPORT=$RESULTS_DIR/grpc-latest.txt
{
  report_machine "Aegis-Flow gRPC benchmark (bench/grpc.sh)" "$LOAD_BEFORE"
  echo "h2load:   -c$CONNS -m$STREAMS -D${SECONDS_RUN}s --warm-up-time=${WARMUP}s, aegis.test.Echo/Unary, 128-byte message"
  echo "server:   tests/integration/grpc/grpc_server.py ($("$PY" -c 'import grpc; print("grpcio", grpc.__version__)'))"
  echo "mesh:     HTTP/2 over mTLS, MLKEM1024, ML-DSA-65, one worker per sidecar"
  commit_line "$ROOT"
  echo
  printf '%-10s %10s %12s %8s %12s %12s\n' target calls/s mean_us non-2xx h2load_done server_OK
  for row in "direct $DIRECT" "mesh-pq $MESH"; do
    read -r name rps mean bad ok succ <<<"$row"
    printf '%-10s %10.0f %12.1f %8d %12d %12d\n' "$name" "$rps" "$mean" "$bad" "$succ" "$ok"
    emit_row grpc target="$name" calls_per_s="$rps" mean_us="$mean" non2xx="$bad" h2load_done="$succ" server_ok="$ok" \
      connections="$CONNS" streams="$STREAMS" seconds="$SECONDS_RUN"
  done
  echo
  read -r rd md _ <<<"$DIRECT"; read -r rm mm _ <<<"$MESH"
  echo "(server_OK: calls the server answered with status OK during the run, warm-up included, so >= h2load_done)"
  echo "mesh/direct: calls/s $(ratio "$rm" "$rd")  mean latency $(ratio "$mm" "$md")"
  echo "outbound opened $(curl -fsS --max-time 2 "http://127.0.0.1:$OUT_ADMIN/stats/prometheus" |
    awk '/^aegis_upstream_connections_total[{ ]/ {n += $NF} END {print n + 0}') HTTP/2 connection(s) to the inbound"
} >"$REPORT"
finish_report "$REPORT" "call(s)"
