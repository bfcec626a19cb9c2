# shellcheck shell=bash
# A two-hop HAProxy mesh for the benchmarks, the HAProxy counterpart of
# bench/mesh.sh's two aegis-flow sidecars. Sourced after bench/lib.sh (uses
# die, start, wait_port; pinning as lib.sh's start: a CPU list, or "" for none).
#
#   wrk/curl -> outbound HAProxy (plain HTTP frontend, 127.0.0.1:OUT_PORT)
#            -> mTLS 1.3, key exchange GROUP only, certificates of KEYTYPE
#            -> inbound HAProxy (bind ... ssl verify required, 127.0.0.1:IN_PORT)
#            -> nginx (127.0.0.1:NGINX_PORT)
#
# Both hops: nbthread 1, `http-reuse always` (the outbound keeps its upstream
# TLS connections), ssl-min-ver TLSv1.3. The outbound verifies the inbound's
# certificate (ca-file, verifyhost localhost, SNI localhost) and presents its
# own (crt); the inbound requires and verifies the client certificate.
#
# GROUP: X25519, X25519MLKEM768, MLKEM1024, SecP384r1MLKEM1024 (ML-KEM groups
# need HAProxy built against OpenSSL >= 3.5: bench/haproxy3.sh).
# KEYTYPE: ecdsa-p256, mldsa65, mldsa87 (ML-DSA needs OpenSSL >= 3.5 as well).
#
# HAProxy < 2.8 (Debian 12's 2.6) has no `curves` on server lines and no
# ssl-default-server-curves: the outbound then gets its groups from an
# OPENSSL_CONF file (system_default Groups = GROUP), written next to the config.
#
#   haproxy_mesh_certs AEGIS_BIN KEYTYPE DIR
#       a CA, a server (inbound, DNS localhost) and a client (outbound) identity made
#       with `aegis-flow certs`; DIR/ca/ca.crt, DIR/server.pem, DIR/client.pem
#       (certificate chain + key in one PEM, as HAProxy's crt wants) and
#       DIR/{server,client}/{cert,key}.pem
#   haproxy_mesh_conf HAPROXY GROUP CERTDIR DIR OUT_PORT IN_PORT NGINX_PORT
#       DIR/outbound.cfg and DIR/inbound.cfg, both checked with HAPROXY -c
#   haproxy_mesh_start HAPROXY DIR NAME CPU_OUT CPU_IN
#       start both (PID[NAME-out], PID[NAME-in]), wait until they listen
#   haproxy_mesh_stop NAME
#       stop both (lib.sh's cleanup trap also stops them on exit)

HAPROXY_MESH_GROUPS="X25519 X25519MLKEM768 MLKEM1024 SecP384r1MLKEM1024"
HAPROXY_MESH_KEYTYPES="ecdsa-p256 mldsa65 mldsa87"

haproxy_mesh_certs() {
  local aegis=$1 kt=$2 d=$3 who
  case " $HAPROXY_MESH_KEYTYPES " in *" $kt "*) ;; *) die "haproxy_mesh_certs: unknown key type '$kt' ($HAPROXY_MESH_KEYTYPES)" ;; esac
  [ -x "$aegis" ] || die "aegis-flow not found at $aegis (it makes the certificates; build it with: make build)"
  mkdir -p "$d"
  "$aegis" certs init-ca --trust-domain bench.test --key-type "$kt" --out "$d/ca" >/dev/null \
    || die "aegis-flow certs init-ca --key-type $kt failed"
  "$aegis" certs issue --ca "$d/ca" --spiffe-id spiffe://bench.test/ns/b/sa/server --dns localhost \
    --key-type "$kt" --days 2 --out "$d/server" >/dev/null || die "aegis-flow certs issue (server, $kt) failed"
  "$aegis" certs issue --ca "$d/ca" --spiffe-id spiffe://bench.test/ns/b/sa/client \
    --key-type "$kt" --days 2 --out "$d/client" >/dev/null || die "aegis-flow certs issue (client, $kt) failed"
  for who in server client; do
    cat "$d/$who/cert.pem" "$d/$who/key.pem" >"$d/$who.pem"
    chmod 600 "$d/$who.pem"
  done
}

# haproxy_accepts HAPROXY LINE: does this HAProxy accept LINE in an SSL backend?
# (-c needs a listener to exit 0; it does not bind it.)
haproxy_accepts() {
  local cfg rc=0
  cfg=$(mktemp "${TMPDIR:-/tmp}/haproxy-probe.XXXXXX")
  printf 'defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend f\n  bind 127.0.0.1:1\n  default_backend b\nbackend b\n  %s\n  server s 127.0.0.1:1 ssl verify none\n' "$2" >"$cfg"
  "$1" -c -q -f "$cfg" >/dev/null 2>&1 || rc=1
  rm -f "$cfg"
  return "$rc"
}
# haproxy_server_curves HAPROXY: does this HAProxy accept `curves` on server lines?
haproxy_server_curves() { haproxy_accepts "$1" 'server s2 127.0.0.1:2 ssl verify none curves X25519'; }

haproxy_mesh_conf() {
  local hap=$1 group=$2 certs=$3 dir=$4 out_port=$5 in_port=$6 nginx_port=$7 curves_opt="" f common hdr_out hdr_in
  case " $HAPROXY_MESH_GROUPS " in *" $group "*) ;; *) die "haproxy_mesh_conf: unknown group '$group' ($HAPROXY_MESH_GROUPS)" ;; esac
  for f in ca/ca.crt server.pem client.pem; do
    [ -f "$certs/$f" ] || die "haproxy_mesh_conf: $certs/$f missing (run haproxy_mesh_certs first)"
  done
  mkdir -p "$dir"
  rm -f "$dir/outbound.openssl.cnf"
  if haproxy_server_curves "$hap"; then
    curves_opt=" curves $group"
  else
    # HAProxy < 2.8: the outbound's client groups from OpenSSL's own configuration.
    printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'ssl_conf = ssl_sect' '[ssl_sect]' \
      'system_default = system_default_sect' '[system_default_sect]' "Groups = $group" >"$dir/outbound.openssl.cnf"
  fi
  # The group each hop negotiated, as response headers (HAProxy >= 3.0: ssl_bc_curve,
  # ssl_fc_curve): x-hop-group is the outbound->inbound connection's, x-inbound-group
  # what the inbound saw on the same connection.
  hdr_out="" hdr_in=""
  if haproxy_accepts "$hap" 'http-response set-header x-hop-group %[ssl_bc_curve]'; then
    hdr_out="
  http-response set-header x-hop-group %[ssl_bc_curve]"
    hdr_in="
  http-response set-header x-inbound-group %[ssl_fc_curve]"
  fi
  common=$(haproxy_head)
  cat >"$dir/outbound.cfg" <<CFG
$common

frontend outbound
  bind 127.0.0.1:$out_port
  default_backend inbound

backend inbound$hdr_out
  server inbound 127.0.0.1:$in_port ssl ssl-min-ver TLSv1.3 verify required ca-file $certs/ca/ca.crt verifyhost localhost sni str(localhost) crt $certs/client.pem$curves_opt
CFG
  cat >"$dir/inbound.cfg" <<CFG
$common

frontend inbound
  bind 127.0.0.1:$in_port ssl ssl-min-ver TLSv1.3 crt $certs/server.pem ca-file $certs/ca/ca.crt verify required curves $group$hdr_in
  default_backend app

backend app
  server nginx 127.0.0.1:$nginx_port
CFG
  for f in outbound inbound; do
    "$hap" -c -f "$dir/$f.cfg" >"$dir/$f.check.log" 2>&1 \
      || { cat "$dir/$f.check.log" >&2; die "$hap rejected the generated config $dir/$f.cfg (output above)"; }
  done
}

haproxy_mesh_start() {
  local hap=$1 dir=$2 name=$3 cpu_out=$4 cpu_in=$5 env_out=() out_port in_port
  [ ! -f "$dir/outbound.openssl.cnf" ] || env_out=("OPENSSL_CONF=$dir/outbound.openssl.cnf")
  out_port=$(awk '$1 == "bind" {sub(/.*:/, "", $2); print $2; exit}' "$dir/outbound.cfg")
  in_port=$(awk '$1 == "bind" {sub(/.*:/, "", $2); print $2; exit}' "$dir/inbound.cfg")
  start "$name-in" "$dir/inbound.log" "$cpu_in" "$hap" -db -f "$dir/inbound.cfg"
  start "$name-out" "$dir/outbound.log" "$cpu_out" env "${env_out[@]}" "$hap" -db -f "$dir/outbound.cfg"
  wait_port "$name-in" "$in_port" "$dir/inbound.log"
  wait_port "$name-out" "$out_port" "$dir/outbound.log"
}

# haproxy_mesh_stop NAME: stop both hops started as NAME (TERM, then KILL after 5 s).
haproxy_mesh_stop() {
  local pid i
  for pid in "${PID[$1-out]:-}" "${PID[$1-in]:-}"; do
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
