# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # CPU_* and the functions are for the sourcing script; SERVER_ID is set by it
# The two-sidecar aegis-flow mesh's config writers and start-up, shared by
# bench/mesh.sh and bench/mesh_rates.sh. Sourced after bench/lib.sh (uses
# die, start, wait_up); the caller sets AEGIS_BIN, WORK, SERVER_ID (the inbound's SPIFFE ID,
# checked by mesh_pair_yaml's outbound) and the associative
# array ADMIN (admin port per process name). Sourced, not run.
#
#   mesh_cpus                 CPU_NGINX CPU_OUT CPU_IN CPU_LOAD from CPUS (see below),
#                             overridden by BENCH_CPU_SERVERS / BENCH_CPU_LOAD
#   route NAME CLUSTER        a route_config sending everything to CLUSTER
#   head_yaml ADMIN_PORT      admin, no access log, drain_timeout 1s
#   mesh_inbound_listener NAME PORT CERTDIR POLICY [GROUP]
#                             an mTLS http listener (require_client_cert, allow_peers
#                             spiffe://bench.test/ns/b/) with CERTDIR/server's identity,
#                             routing to route_config "app"; GROUP: `groups: [GROUP]`
#   mesh_outbound_cluster NAME IN_PORT CERTDIR POLICY IDLE RESUME SERVER_ID [GROUP]
#                             an mTLS cluster to 127.0.0.1:IN_PORT with CERTDIR/client's
#                             identity; IDLE "" leaves max_idle_connections at its default
#   mesh_pair_yaml NAME IN_PORT OUT_PORT CERTDIR GROUP UPSTREAM_PORT
#                             the two sidecars' configs, $WORK/NAME-in.yaml (mTLS listener on
#                             IN_PORT -> 127.0.0.1:UPSTREAM_PORT) and $WORK/NAME-out.yaml (plain
#                             listener on OUT_PORT -> mTLS to IN_PORT, SERVER_ID checked), with
#                             admin ports ADMIN[NAME-in] and ADMIN[NAME-out]
#   start_aegis NAME CPUS     validate $WORK/NAME.yaml, run it (--concurrency 1), wait for /ready
# CERTDIR holds ca/ca.crt, server/{cert,key}.pem and client/{cert,key}.pem
# (aegis-flow certs init-ca / issue).

# mesh_cpus: the pinning of the mesh benchmarks. The load generator must not
# share a core with the sidecars.
#   2 CPUs:    nginx and both sidecars on cpu0, the load generator alone on cpu1.
#   3 CPUs:    the servers on cpu0-1 (the scheduler places them), the load on cpu2.
#   >= 4 CPUs: nginx cpu0, outbound cpu1, inbound cpu2, the load cpu3.
#   1 CPU:     no pinning.
mesh_cpus() {
  CPU_NGINX="" CPU_OUT="" CPU_IN="" CPU_LOAD=""
  if [ ${#CPUS[@]} -ge 4 ]; then
    CPU_NGINX=${CPUS[0]} CPU_OUT=${CPUS[1]} CPU_IN=${CPUS[2]} CPU_LOAD=${CPUS[3]}
  elif [ ${#CPUS[@]} -eq 3 ]; then
    CPU_NGINX=${CPUS[0]},${CPUS[1]} CPU_OUT=$CPU_NGINX CPU_IN=$CPU_NGINX CPU_LOAD=${CPUS[2]}
  elif [ ${#CPUS[@]} -eq 2 ]; then
    CPU_NGINX=${CPUS[0]} CPU_OUT=${CPUS[0]} CPU_IN=${CPUS[0]} CPU_LOAD=${CPUS[1]}
  fi
  if [ -n "${BENCH_CPU_SERVERS:-}" ]; then CPU_NGINX=$BENCH_CPU_SERVERS CPU_OUT=$BENCH_CPU_SERVERS CPU_IN=$BENCH_CPU_SERVERS; fi
  CPU_LOAD=${BENCH_CPU_LOAD:-$CPU_LOAD}
}

route() {
  cat <<EOF
  - name: $1
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: all
            match: {prefix: /}
            route: {cluster: $2}
EOF
}
head_yaml() {
  printf 'admin: {address: 127.0.0.1, port: %s}\naccess_log: {path: ""}\ndrain_timeout: 1s\n' "$1"
}

mesh_inbound_listener() {
  local name=$1 port=$2 d=$3 policy=$4 group=${5:-}
  cat <<EOF
  - name: $name
    address: 127.0.0.1
    port: $port
    protocol: http
    route_config: app
    tls:
      cert_file: $d/server/cert.pem
      key_file: $d/server/key.pem
      trust_bundle: $d/ca/ca.crt
      require_client_cert: true
      pq_policy: $policy
EOF
  [ -z "$group" ] || echo "      groups: [$group]"
  echo '      allow_peers: [{prefix: "spiffe://bench.test/ns/b/"}]'
}

mesh_outbound_cluster() {
  local name=$1 in_port=$2 d=$3 policy=$4 idle=$5 resume=$6 server_id=$7 group=${8:-}
  printf '  - name: %s\n    endpoints: ["127.0.0.1:%s"]\n' "$name" "$in_port"
  [ -z "$idle" ] || echo "    max_idle_connections: $idle"
  cat <<EOF
    tls:
      cert_file: $d/client/cert.pem
      key_file: $d/client/key.pem
      trust_bundle: $d/ca/ca.crt
      pq_policy: $policy
EOF
  [ -z "$group" ] || echo "      groups: [$group]"
  cat <<EOF
      server_name: localhost
      session_resumption: $resume
      allow_peers: [{exact: "$server_id"}]
EOF
}

mesh_pair_yaml() {
  local n=$1 in_port=$2 out_port=$3 d=$4 g=$5 upstream=$6
  {
    head_yaml "${ADMIN[$n-in]}"
    echo "listeners:"; mesh_inbound_listener in "$in_port" "$d" hybrid "$g"
    echo "route_configs:"; route app app
    printf 'clusters:\n  - name: app\n    endpoints: ["127.0.0.1:%s"]\n' "$upstream"
  } >"$WORK/$n-in.yaml"
  {
    head_yaml "${ADMIN[$n-out]}"
    printf 'listeners:\n  - {name: out, address: 127.0.0.1, port: %s, protocol: http, route_config: app}\n' "$out_port"
    echo "route_configs:"; route app mesh
    echo "clusters:"; mesh_outbound_cluster mesh "$in_port" "$d" hybrid "" true "$SERVER_ID" "$g"
  } >"$WORK/$n-out.yaml"
}

start_aegis() {
  local name=$1 cfg=$WORK/$1.yaml vout
  if ! vout=$("$AEGIS_BIN" validate -c "$cfg" 2>&1); then
    printf '%s\n' "$vout" >&2
    die "aegis-flow rejected the generated $name config $cfg (errors above; the schema may have changed: update bench/mesh_conf.sh)"
  fi
  start "$name" "$WORK/$name.log" "$2" "$AEGIS_BIN" run -c "$cfg" --concurrency 1
  wait_up "aegis-flow $name" "${PID[$name]}" "http://127.0.0.1:${ADMIN[$name]}/ready" "$WORK/$name.log"
}
