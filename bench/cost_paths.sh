# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # ORDER, LABEL, URL, PROCS are for the sourcing script; NGINX_PORT etc. set by free_port
# The four proxy paths that bench/cost.sh and bench/callgrind.sh measure, all
# in front of one nginx. Sourced after bench/lib.sh, bench/mesh_conf.sh and
# bench/haproxy_mesh.sh, with WORK, CPU_NGINX, CPU_OUT and CPU_IN set
# (mesh_cpus). Sourced, not run.
#
#   aegis-1hop      aegis-flow (plain HTTP/1.1) -> nginx
#   haproxy-1hop    HAProxy 2.6 -> nginx
#   aegis-mesh      outbound aegis-flow -> mTLS (MLKEM1024 + ML-DSA-65) -> inbound -> nginx
#   haproxy3-mesh   the same two hops built from HAProxy 3.0 on OpenSSL 3.5
#
#   cost_paths_start AEGIS HAP3 AEGIS_RUN HAP26_RUN HAP3_RUN
#       start nginx and the six proxy processes and check that each path
#       answers. AEGIS, HAP3: the aegis-flow and HAProxy 3.0 binaries (they
#       issue the certificates and check the configs); AEGIS_RUN, HAP26_RUN,
#       HAP3_RUN: what runs as each proxy, the binary itself or a wrapper that
#       execs it (under valgrind, say).
#       Sets ORDER (the paths in measuring order), LABEL, URL and PROCS (the
#       path's process names in PID, outbound first), and ADMIN.
#   COST_OUT_CLUSTER_EXTRA   more fields of the aegis-flow outbound's mesh
#                            cluster (4-space indent), e.g. "    connect_timeout: 60s"
#   COST_START_SECONDS       how long each aegis-flow process may take to
#                            become ready (default 10)
#   requests WRK_OUTPUT      the number of requests wrk completed

requests() { awk '/requests in/ {print $1; exit}' <<<"$1"; }

declare -A ADMIN URL PROCS LABEL
ORDER=(aegis-1hop haproxy-1hop aegis-mesh haproxy3-mesh)
LABEL[aegis-1hop]="aegis-flow, one hop" LABEL[haproxy-1hop]="HAProxy 2.6, one hop"
LABEL[aegis-mesh]="aegis-flow, two-hop mesh" LABEL[haproxy3-mesh]="HAProxy 3.0, two-hop mesh"

# cost_paths_aegis NAME CPUS AEGIS AEGIS_RUN: validate $WORK/NAME.yaml with
# AEGIS, run it with AEGIS_RUN (one worker), wait for its admin /ready.
cost_paths_aegis() {
  local name=$1 cpus=$2 aegis=$3 run=$4 vout
  vout=$("$aegis" validate -c "$WORK/$name.yaml" 2>&1) || { printf '%s\n' "$vout" >&2; die "aegis-flow rejected $WORK/$name.yaml"; }
  start "$name" "$WORK/$name.log" "$cpus" "$run" run -c "$WORK/$name.yaml" --concurrency 1
  wait_up "aegis-flow $name" "${PID[$name]}" "http://127.0.0.1:${ADMIN[$name]}/ready" "$WORK/$name.log" "${COST_START_SECONDS:-10}"
}

cost_paths_start() {
  local aegis=$1 hap3=$2 aegis_run=$3 hap26_run=$4 hap3_run=$5 t
  free_port NGINX_PORT
  start_nginx "$WORK/nginx" "$NGINX_PORT" "$CPU_NGINX"
  wait_up nginx "${PID[nginx]}" "http://127.0.0.1:$NGINX_PORT/" "$WORK/nginx/error.log"

  free_port P1; free_port "ADMIN[one]"
  aegis_conf "$WORK/one.yaml" "$P1" "${ADMIN[one]}" "$NGINX_PORT"
  cost_paths_aegis one "$CPU_OUT" "$aegis" "$aegis_run"
  URL[aegis-1hop]="http://127.0.0.1:$P1/" PROCS[aegis-1hop]="one"

  free_port P2
  haproxy_conf "$WORK/haproxy" "$P2" "$NGINX_PORT"
  start haproxy "$WORK/haproxy/haproxy.log" "$CPU_OUT" "$hap26_run" -db -f "$WORK/haproxy/haproxy.cfg"
  URL[haproxy-1hop]="http://127.0.0.1:$P2/" PROCS[haproxy-1hop]="haproxy"

  haproxy_mesh_certs "$aegis" mldsa65 "$WORK/certs"
  SERVER_ID=spiffe://bench.test/ns/b/sa/server
  free_port IN_PORT; free_port OUT_PORT; free_port "ADMIN[af-in]"; free_port "ADMIN[af-out]"
  mesh_pair_yaml af "$IN_PORT" "$OUT_PORT" "$WORK/certs" MLKEM1024 "$NGINX_PORT"
  if [ -n "${COST_OUT_CLUSTER_EXTRA:-}" ]; then
    awk -v extra="$COST_OUT_CLUSTER_EXTRA" '{print} /^  - name: mesh$/ {print extra}' "$WORK/af-out.yaml" >"$WORK/af-out.yaml.new"
    mv "$WORK/af-out.yaml.new" "$WORK/af-out.yaml"
  fi
  cost_paths_aegis af-in "$CPU_IN" "$aegis" "$aegis_run"
  cost_paths_aegis af-out "$CPU_OUT" "$aegis" "$aegis_run"
  URL[aegis-mesh]="http://127.0.0.1:$OUT_PORT/" PROCS[aegis-mesh]="af-out af-in"

  free_port H_IN; free_port H_OUT
  haproxy_mesh_conf "$hap3" MLKEM1024 "$WORK/certs" "$WORK/hmesh" "$H_OUT" "$H_IN" "$NGINX_PORT"
  haproxy_mesh_start "$hap3_run" "$WORK/hmesh" hmesh "$CPU_OUT" "$CPU_IN"
  URL[haproxy3-mesh]="http://127.0.0.1:$H_OUT/" PROCS[haproxy3-mesh]="hmesh-out hmesh-in"

  wait_up haproxy "${PID[haproxy]}" "${URL[haproxy-1hop]}" "$WORK/haproxy/haproxy.log"
  for t in "${ORDER[@]}"; do check_body "${LABEL[$t]}" "${URL[$t]}"; done
}
