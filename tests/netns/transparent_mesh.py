#!/usr/bin/python3
"""Sidecar mode end to end, with real network isolation (docs/kubernetes.md,
docs/redirect.md): pods are network namespaces on a bridge, each sidecar
runs as uid 1337 behind `aegis-flow redirect install`, and the apps know
nothing of the mesh.

  transparent_mesh.py AEGIS_FLOW GRPC_DIR CASE

Namespaces (all made here, removed at the end, even on failure):
  sw  a bridge br0; one veth per pod (tcpdump listens on the server pod's)
  A   10.44.0.2 / fd44::2: client pod: curl, the gRPC client, a sidecar
  B   10.44.0.3 / fd44::3: server pod: an HTTP app on [::]:8080, the gRPC
      server on 127.0.0.1:50051, a sidecar
  C   10.44.0.4: a pod without a sidecar, with an HTTP app on 8080

CASE:
  mesh          plain HTTP (IPv4 and IPv6) and gRPC from A to B's IP succeed;
                on B's veth only TLS 1.3 records (ClientHello, ServerHello
                with supported_versions 1.3 and the MLKEM1024 key share, then
                encrypted records) and neither plaintext marker; B's inbound
                metrics show MLKEM1024 and mldsa65; A's show mesh/http1,
                mesh/http2.
  no_sidecar    C calls B in plaintext: refused (B's inbound wants mesh mTLS),
                B's app never sees the request.
  registry_only A calls C (in no service) under registry_only: refused and
                counted, C's app sees nothing; after a reload to allow_any the
                same call passes through in plain TCP.
  fail_closed   A's sidecar killed: A's call to B fails (nothing listens on
                the redirect port) and nothing crosses the wire in plaintext;
                restarted, the call succeeds again.
  remove        `redirect remove` in A and B restores their nat tables
                exactly: A then reaches C's app directly, while B, still
                capturing, keeps refusing A's now plaintext calls.

Exit 0 when the case passed, 1 with the reason otherwise, 77 (CTest skip)
when not root or network namespaces are unavailable.
"""
import json
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

PROXY_UID = 1337
SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(*args, ok=True, timeout=30, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if ok and p.returncode != 0:
        raise Failure(f"{' '.join(args)} exited {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p


class Topology:
    """The namespaces, their addresses and everything started in them."""

    def __init__(self, binary, grpc_dir, tmp):
        tag = f"{os.getpid() % 100000}"
        self.ns = {k: f"af{tag}{k}" for k in ("sw", "A", "B", "C")}
        self.binary, self.grpc_dir, self.tmp = binary, grpc_dir, tmp
        self.procs = []
        self.sidecars = {}

    def ip(self, pod, *args):
        return run("ip", "-n", self.ns[pod], *args)

    def exec(self, pod, *args, **kw):
        return run("ip", "netns", "exec", self.ns[pod], *args, **kw)

    def spawn(self, pod, *args, uid=None, log=None):
        cmd = ["ip", "netns", "exec", self.ns[pod]]
        if uid is not None:
            cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        out = open(log, "w") if log else subprocess.DEVNULL
        p = subprocess.Popen(cmd + list(args), stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def up(self):
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
        self.ip("sw", "link", "add", "br0", "type", "bridge")
        self.ip("sw", "link", "set", "br0", "up")
        for pod, n in (("A", 2), ("B", 3), ("C", 4)):
            self.ip("sw", "link", "add", f"v{pod}", "type", "veth", "peer", "name", "eth0", "netns", self.ns[pod])
            self.ip("sw", "link", "set", f"v{pod}", "master", "br0", "up")
            self.ip(pod, "link", "set", "lo", "up")
            self.ip(pod, "addr", "add", f"10.44.0.{n}/24", "dev", "eth0")
            self.ip(pod, "addr", "add", f"fd44::{n}/64", "dev", "eth0", "nodad")
            self.ip(pod, "link", "set", "eth0", "up")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    # --- the mesh ---------------------------------------------------------

    def certs(self):
        ca = os.path.join(self.tmp, "ca")
        run(self.binary, "certs", "init-ca", "--trust-domain", "mesh.test", "--key-type", "mldsa65", "--out", ca)
        for pod, sa in (("A", "frontend"), ("B", "backend")):
            out = os.path.join(self.tmp, f"id-{pod}")
            run(self.binary, "certs", "issue", "--ca", ca, "--spiffe-id", f"spiffe://mesh.test/ns/default/sa/{sa}",
                "--key-type", "mldsa65", "--days", "1", "--out", out)
            # The sidecar runs as the proxy uid: its identity is its own.
            os.chown(out, PROXY_UID, PROXY_UID)
            for f in os.listdir(out):
                os.chown(os.path.join(out, f), PROXY_UID, PROXY_UID)
        os.chmod(ca, 0o755)  # ca.crt is public; ca.key stays 0600 root
        self.ca_file = os.path.join(ca, "ca.crt")

    def config(self, pod, policy="registry_only"):
        ident = os.path.join(self.tmp, f"id-{pod}")
        tls = (f"      cert_file: {ident}/cert.pem\n      key_file: {ident}/key.pem\n"
               f"      trust_bundle: {self.ca_file}\n      pq_policy: pq_only_1024\n")
        text = f"""admin: {{address: 127.0.0.1, port: 15000}}
access_log: {{path: {ident}/access.log}}
listeners:
  - name: outbound
    address: 0.0.0.0
    port: 15001
    protocol: tcp
    transparent: outbound
    outbound_policy: {policy}
    detect_timeout: 200ms
  - name: outbound6
    address: "::"
    port: 15001
    protocol: tcp
    transparent: outbound
    outbound_policy: {policy}
  - name: inbound
    address: 0.0.0.0
    port: 15006
    protocol: tcp
    transparent: inbound
    tls:
{tls}      require_client_cert: true
      allow_peers: [{{prefix: "spiffe://mesh.test/"}}]
  - name: inbound6
    address: "::"
    port: 15006
    protocol: tcp
    transparent: inbound
    tls:
{tls}      require_client_cert: true
clusters:
  - name: mesh
    type: original_dst
    connect_timeout: 2s
    tls:
{tls}services:
  - name: backend
    addresses: ["10.44.0.3", "fd44::3"]
    ports: [8080, 50051]
    cluster: mesh
    peer_spiffe_id: spiffe://mesh.test/ns/default/sa/backend
"""
        path = os.path.join(self.tmp, f"sidecar-{pod}.yaml")
        with open(path + ".new", "w") as f:
            f.write(text)
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)
        return path

    def start_sidecar(self, pod, policy="registry_only"):
        cfg = self.config(pod, policy)
        self.sidecars[pod] = self.spawn(pod, self.binary, "run", "-c", cfg, "--concurrency", "1", uid=PROXY_UID,
                                        log=os.path.join(self.tmp, f"sidecar-{pod}.log"))
        proc = self.sidecars[pod]

        def ready():
            if proc.poll() is not None:
                raise Failure(f"sidecar {pod} exited {proc.returncode}:\n" +
                              open(os.path.join(self.tmp, f"sidecar-{pod}.log")).read()[-3000:])
            return self.exec(pod, "curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:15000/ready",
                             ok=False).returncode == 0

        self.wait_for(ready, f"sidecar {pod} ready", log=os.path.join(self.tmp, f"sidecar-{pod}.log"))

    def redirect(self, pod, action):
        extra = ["--proxy-uid", str(PROXY_UID)] if action == "install" else []
        return self.exec(pod, self.binary, "redirect", action, *extra)

    def wait_for(self, pred, what, timeout=15, log=None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.05)
        extra = ""
        if log and os.path.exists(log):
            extra = "\n" + open(log).read()[-3000:]
        raise Failure(f"timed out waiting for {what}{extra}")

    def start_apps(self):
        app = os.path.join(self.tmp, "app.py")
        with open(app, "w") as f:
            f.write(APP)
        self.app_logs = {pod: os.path.join(self.tmp, f"app-{pod}.log") for pod in ("B", "C")}
        for pod in ("B", "C"):
            self.spawn(pod, "/usr/bin/python3", app, self.app_logs[pod])
        self.spawn("B", "/usr/bin/python3", os.path.join(self.grpc_dir, "grpc_server.py"), "--port", "50051",
                   log=os.path.join(self.tmp, "grpc-B.log"))
        for pod in ("B", "C"):
            self.wait_for(lambda: os.path.exists(self.app_logs[pod]) and "READY" in open(self.app_logs[pod]).read(),
                          f"app in {pod}")
        self.wait_for(lambda: "READY" in open(os.path.join(self.tmp, "grpc-B.log")).read(), "gRPC server in B")

    def app_requests(self, pod):
        return [line for line in open(self.app_logs[pod]).read().splitlines() if line.startswith("REQUEST ")]

    def curl(self, pod, url, marker, ok=True):
        p = self.exec(pod, "curl", "-sS", "--max-time", "5", "-H", f"x-marker: {marker}", "--data-binary",
                      f"body-{marker}", url, ok=False)
        if ok and p.returncode != 0:
            raise Failure(f"curl {url} from {pod} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def stats(self, pod):
        return self.exec(pod, "curl", "-sf", "http://127.0.0.1:15000/stats").stdout

    def capture(self, pod):
        pcap = os.path.join(self.tmp, f"v{pod}.pcap")
        # A 32 MiB ring: the kernel must drop nothing (stop_capture checks).
        p = subprocess.Popen(["ip", "netns", "exec", self.ns["sw"], "tcpdump", "-i", f"v{pod}", "--immediate-mode",
                              "-B", "32768", "-U", "-s", "0", "-w", pcap, "tcp"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(p)
        line = p.stderr.readline()  # "listening on vB, link-type EN10MB ..."
        check("listening" in line, f"tcpdump did not start: {line}")
        return p, pcap


APP = r'''
import http.server, socket, sys
log = open(sys.argv[1], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        marker = self.headers.get("x-marker", "")
        log.write(f"REQUEST {self.client_address[0]} {marker} {body.decode()}\n")
        reply = f"reply-{marker}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
srv = S(("::", 8080), H)
log.write("READY\n")
srv.serve_forever()
'''


# --- the wire ----------------------------------------------------------------

def stop_capture(cap):
    """Stops tcpdump and fails if the kernel dropped packets (the wire check
    would then have holes)."""
    time.sleep(0.2)
    cap.send_signal(signal.SIGINT)
    cap.wait(timeout=10)
    stats = cap.stderr.read()
    m = re.search(r"(\d+) packets dropped by kernel", stats)
    check(m is not None, f"tcpdump printed no statistics: {stats!r}")
    check(m.group(1) == "0", f"tcpdump: {m.group(1)} packets dropped by the kernel (machine overloaded?)")


def tcp_flows(pcap):
    """{(src, sport, dst, dport): bytes} of every TCP flow in an Ethernet pcap
    (IPv4 and IPv6): each payload placed at its offset from the flow's SYN
    (or its first segment), so retransmissions and overlapping segments land
    on the same bytes; a hole in the capture is an error."""
    data = open(pcap, "rb").read()
    check(len(data) >= 24, "empty capture")
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    check(linktype == 1, f"unexpected link type {linktype}")
    segs, syn = {}, {}
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        ip = frame[14:]
        if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
        elif ethertype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
            plen = struct.unpack("!H", ip[4:6])[0]
            src, dst, tcp = ip[8:24], ip[24:40], ip[40:40 + plen]
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        key = (bytes(src), sport, bytes(dst), dport)
        if tcp[13] & 0x02:  # SYN: the data starts at seq + 1
            syn[key] = (seq + 1) & 0xFFFFFFFF
        payload = tcp[(tcp[12] >> 4) * 4:]
        if payload:
            segs.setdefault(key, []).append((seq, payload))
    flows = {}
    for key, parts in segs.items():
        base = syn.get(key, parts[0][0])
        placed = [((seq - base) & 0xFFFFFFFF, p) for seq, p in parts]
        size = max(o + len(p) for o, p in placed)
        check(size < 1 << 30, f"flow :{key[1]}->:{key[3]}: segments do not fit one stream")
        buf, covered = bytearray(size), bytearray(size)
        for o, p in placed:
            buf[o:o + len(p)] = p
            covered[o:o + len(p)] = b"\x01" * len(p)
        check(all(covered), f"flow :{key[1]}->:{key[3]}: the capture has a hole (packets dropped?)")
        flows[key] = bytes(buf)
    return flows


def tls_records(stream):
    recs, off = [], 0
    while off + 5 <= len(stream):
        ctype, version, length = struct.unpack("!BHH", stream[off:off + 5])
        recs.append((ctype, version, stream[off + 5:off + 5 + length]))
        off += 5 + length
    check(off == len(stream), f"the stream does not end on a TLS record boundary ({off} of {len(stream)} bytes)")
    return recs


def server_hello_extensions(body):
    """{type: data} of a ServerHello handshake message."""
    check(body[0] == 2, "the server's first handshake message is not a ServerHello")
    p = 4 + 2 + 32
    p += 1 + body[p]  # session id
    p += 2 + 1  # cipher suite, compression
    ext_len = struct.unpack("!H", body[p:p + 2])[0]
    p += 2
    exts, end = {}, p + ext_len
    while p + 4 <= end:
        t, n = struct.unpack("!HH", body[p:p + 4])
        exts[t] = body[p + 4:p + 4 + n]
        p += 4 + n
    return exts


MLKEM1024 = 0x0202


def check_only_tls13(pcap, port, markers):
    flows = tcp_flows(pcap)
    raw = open(pcap, "rb").read()
    for m in markers:
        check(m.encode() not in raw, f"plaintext marker {m} is on the wire")
    mesh = [(k, v) for k, v in flows.items() if port in (k[1], k[3])]
    check(mesh, f"no traffic to or from port {port} was captured (flows: {sorted((k[1], k[3]) for k in flows)})")
    servers = 0
    for (src, sport, dst, dport), stream in mesh:
        recs = tls_records(stream)
        check(recs and recs[0][0] == 22, f"flow :{sport}->:{dport} does not start with a TLS handshake record")
        check(all(r[0] in (20, 23) for r in recs[1:]),
              f"flow :{sport}->:{dport} carries a record other than change_cipher_spec/application_data after "
              f"its hello (TLS 1.2 or plaintext): types {[r[0] for r in recs]}")
        if sport == port:  # server -> client: the ServerHello
            exts = server_hello_extensions(recs[0][2])
            check(exts.get(43) == b"\x03\x04", "ServerHello does not select TLS 1.3 (supported_versions)")
            group = struct.unpack("!H", exts[51][:2])[0]
            check(group == MLKEM1024, f"ServerHello key share group is 0x{group:04x}, not MLKEM1024 (0x0202)")
            check(any(r[0] == 23 for r in recs), "no encrypted record from the server")
            servers += 1
        else:
            check(recs[0][2][0] == 1, "the client's first handshake message is not a ClientHello")
    check(servers > 0, "no server side of a TLS connection was captured")
    return len(mesh)


def metric(stats, name, **labels):
    total, found = 0.0, False
    for line in stats.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


# --- the cases -----------------------------------------------------------------

def case_mesh(t):
    cap, pcap = t.capture("B")
    m4, m6, mg = (f"PLAINTEXT-{secrets.token_hex(6)}" for _ in range(3))
    r = t.curl("A", "http://10.44.0.3:8080/v4", m4)
    check(r.stdout == f"reply-{m4}", f"unexpected reply over IPv4: {r.stdout!r}")
    r = t.curl("A", "http://[fd44::3]:8080/v6", m6)
    check(r.stdout == f"reply-{m6}", f"unexpected reply over IPv6: {r.stdout!r}")
    g = t.exec("A", "/usr/bin/python3", os.path.join(t.grpc_dir, "grpc_client.py"), "--target", "10.44.0.3:50051",
               "--test", "unary,bidi", "--count", "200", "--lockstep", "20", "--metadata", f"x-echo-marker={mg}",
               ok=False, timeout=60)
    check(g.returncode == 0, f"gRPC through the mesh failed: {g.stdout}{g.stderr}")
    seen = t.app_requests("B")
    check(any(m4 in line and "body-" + m4 in line for line in seen), f"B's app did not get the IPv4 request: {seen}")
    check(any(m6 in line for line in seen), f"B's app did not get the IPv6 request: {seen}")
    # The app sees the sidecar (loopback), never A: the mesh hop is the sidecars'.
    check(all(line.split()[1] in ("::1", "::ffff:127.0.0.1", "127.0.0.1") for line in seen), f"{seen}")
    stop_capture(cap)
    flows = check_only_tls13(pcap, 8080, [m4, m6, "reply-" + m4, "body-" + m4])
    check_only_tls13(pcap, 50051, [mg])
    b, a = t.stats("B"), t.stats("A")
    hs = (metric(b, "aegis_tls_handshakes_total", listener="inbound", group="MLKEM1024", sigalg="mldsa65",
                 result="success") or 0) + (metric(b, "aegis_tls_handshakes_total", listener="inbound6",
                                                   group="MLKEM1024", sigalg="mldsa65", result="success") or 0)
    check(hs >= 3, f"B's inbound shows {hs} MLKEM1024/mldsa65 handshakes:\n" +
          "\n".join(line for line in b.splitlines() if "aegis_tls_handshakes_total" in line))
    check((metric(a, "aegis_transparent_connections_total", listener="outbound", action="mesh", service="backend",
                  protocol="http1") or 0) >= 1, "A counted no IPv4 mesh/http1 connection")
    check((metric(a, "aegis_transparent_connections_total", listener="outbound6", action="mesh", service="backend",
                  protocol="http1") or 0) >= 1, "A counted no IPv6 mesh/http1 connection")
    check((metric(a, "aegis_transparent_connections_total", listener="outbound", action="mesh", service="backend",
                  protocol="http2") or 0) >= 1, "A counted no mesh/http2 (gRPC) connection")
    check((metric(b, "aegis_transparent_connections_total", listener="inbound", action="inbound") or 0) >= 1,
          "B counted no inbound connection")
    print(f"mesh: HTTP v4+v6 and gRPC via the sidecars; {flows} flows on port 8080 all TLS 1.3 with MLKEM1024; "
          f"{int(hs)} MLKEM1024/mldsa65 handshakes at B")


def case_no_sidecar(t):
    before = len(t.app_requests("B"))
    m = f"PLAINTEXT-{secrets.token_hex(6)}"
    r = t.curl("C", "http://10.44.0.3:8080/", m, ok=False)
    check(r.returncode != 0 and m not in r.stdout, f"a pod without a sidecar reached B's app: {r.stdout!r}")
    time.sleep(0.2)
    check(len(t.app_requests("B")) == before, "B's app saw the plaintext request")
    b = t.stats("B")
    fails = metric(b, "aegis_tls_handshakes_total", listener="inbound", result="failure") or 0
    check(fails >= 1, "B's inbound did not count the refused plaintext connection as a failed handshake")
    print(f"no_sidecar: refused (curl exit {r.returncode}), {int(fails)} failed handshake(s) counted at B")


def case_registry_only(t):
    m = f"PLAINTEXT-{secrets.token_hex(6)}"
    r = t.curl("A", "http://10.44.0.4:8080/", m, ok=False)
    check(r.returncode != 0, f"registry_only let A reach C: {r.stdout!r}")
    time.sleep(0.2)
    check(not t.app_requests("C"), "C's app saw a request under registry_only")
    refused = metric(t.stats("A"), "aegis_transparent_refused_total", listener="outbound", reason="registry_only")
    check(refused == 1, f"registry_only refusals counted: {refused}")
    # Reload to allow_any (the file is watched): the same call passes through.
    t.config("A", policy="allow_any")
    t.wait_for(lambda: '"allow_any"' in t.exec("A", "curl", "-sf", "http://127.0.0.1:15000/config_dump").stdout,
               "A's reload to allow_any")
    cap, pcap = t.capture("C")
    r = t.curl("A", "http://10.44.0.4:8080/", m)
    check(r.stdout == f"reply-{m}", f"unexpected passthrough reply {r.stdout!r}")
    stop_capture(cap)
    # Plain TCP outside the mesh: the marker is on the wire, and the check
    # the mesh cases pass must refuse this capture.
    check(m.encode() in open(pcap, "rb").read(), "the passthrough capture does not show the plaintext marker")
    try:
        check_only_tls13(pcap, 8080, [m])
        raise Failure("check_only_tls13 accepted a plaintext capture")
    except Failure as e:
        check("plaintext marker" in str(e), f"check_only_tls13 refused the plaintext capture for another reason: {e}")
    seen = t.app_requests("C")
    check(len(seen) == 1 and seen[0].split()[1] in ("::ffff:10.44.0.2", "10.44.0.2"),
          f"C should see A's own address (plain passthrough): {seen}")
    check((metric(t.stats("A"), "aegis_transparent_connections_total", action="passthrough", protocol="http1")
           or 0) == 1, "passthrough not counted")
    print("registry_only: refused and counted; allow_any after reload: passed through in plain TCP")


def case_fail_closed(t):
    cap, pcap = t.capture("B")
    sc = t.sidecars["A"]
    os.killpg(sc.pid, signal.SIGKILL)
    sc.wait()
    before = len(t.app_requests("B"))
    m = f"PLAINTEXT-{secrets.token_hex(6)}"
    r = t.curl("A", "http://10.44.0.3:8080/", m, ok=False)
    check(r.returncode != 0, f"with A's sidecar down the call still succeeded: {r.stdout!r}")
    check(len(t.app_requests("B")) == before, "B's app got a request while A's sidecar was down")
    t.start_sidecar("A")
    m2 = f"PLAINTEXT-{secrets.token_hex(6)}"
    r = t.curl("A", "http://10.44.0.3:8080/", m2)
    check(r.stdout == f"reply-{m2}", f"after the restart: {r.stdout!r}")
    stop_capture(cap)
    check_only_tls13(pcap, 8080, [m, m2])
    print("fail_closed: no sidecar, no connection and no plaintext; restarted, mTLS again")


def case_remove(t):
    saves = {}
    for pod in ("A", "B"):
        saves[pod] = t.exec(pod, "iptables-save", "-t", "nat").stdout
    t.redirect("A", "remove")
    after = t.exec("A", "iptables-save", "-t", "nat").stdout
    strip = lambda s: "\n".join(l for l in s.splitlines() if not l.startswith("#"))
    check("AEGIS" not in after, f"rules left after remove:\n{after}")
    check(strip(after) == strip(t.pristine["A"]), f"A's nat table differs from before install:\n{after}")
    # Without capture A's curl goes straight to C (plain) and cannot be served
    # by B's app without mesh mTLS (B still captures).
    m = f"PLAINTEXT-{secrets.token_hex(6)}"
    r = t.curl("A", "http://10.44.0.4:8080/", m)
    check(r.stdout == f"reply-{m}", "A cannot reach C directly after remove")
    r = t.curl("A", "http://10.44.0.3:8080/", m, ok=False)
    check(r.returncode != 0, "B served a plaintext request: its capture must still hold")
    print("remove: A's nat table restored exactly; B still refuses plaintext")


CASES = {"mesh": case_mesh, "no_sidecar": case_no_sidecar, "registry_only": case_registry_only,
         "fail_closed": case_fail_closed, "remove": case_remove}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    binary, grpc_dir, case = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, netfilter)")
        return SKIP
    for tool in ("ip", "iptables", "tcpdump", "setpriv", "curl"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} is missing (scripts/bootstrap.sh installs it)")
            return 1
    probe = f"afprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        print("SKIP: cannot create network namespaces here")
        return SKIP
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    tmp = tempfile.mkdtemp(prefix="aegis-netns-")
    os.chmod(tmp, 0o755)
    t = Topology(binary, grpc_dir, tmp)
    try:
        t.up()
        t.pristine = {pod: t.exec(pod, "iptables-save", "-t", "nat").stdout for pod in ("A", "B")}
        t.certs()
        t.start_apps()
        for pod in ("A", "B"):
            t.start_sidecar(pod)
            t.redirect(pod, "install")
        CASES[case](t)
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        for f in sorted(os.listdir(tmp)):
            if f.endswith(".log"):
                print(f"--- {f}\n" + open(os.path.join(tmp, f)).read()[-2000:])
        return 1
    finally:
        t.down()
        if os.environ.get("AEGIS_NETNS_KEEP"):
            print(f"kept {tmp} (AEGIS_NETNS_KEEP)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
