#!/usr/bin/env python3
"""Writes the seed corpora in corpus/<target>/ (run once; the files are checked in).

Seeds are valid samples and edge cases written by the project, not inputs
found by fuzzing. The first byte of h1/h2 seeds is the harness's mode byte
(see each fuzz_*.cpp).
"""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- h1_request: mode byte 0x3f = 4033-byte reads, 16 KiB relay; 0x40 = 7-byte relay; 0x00 = 1-byte reads
H1_REQ = {
    "get": "GET /hello HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n",
    "post_cl": "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world",
    "post_chunked": "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    "pipelined": "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "absolute_form": "GET http://other.example:8080/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "http10": "GET / HTTP/1.0\r\n\r\n",
    "http10_keepalive": "GET / HTTP/1.0\r\nConnection: keep-alive\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    "upgrade": "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "hop_by_hop": "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret, close\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\n\r\n",
    "xff": "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8, 9.9.9.9\r\n\r\n",
    "expect": "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "cl_te": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
    "te_cl": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
    "te_obfuscated": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "te_list": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "te_space": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te_tab": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\t\r\n\r\n0\r\n\r\n",
    "te_twice": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "cl_dup": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "cl_list": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
    "cl_plus": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
    "cl_leading_zero": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello",
    "cl_huge": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "chunk_overflow": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n",
    "chunk_long_ext": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + "a" * 300 + "\r\nx\r\n0\r\n\r\n",
    "obs_fold": "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
    "bare_lf": "GET / HTTP/1.1\nHost: a\n\n",
    "space_before_colon": "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "nul_in_value": "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    "two_hosts": "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "no_host": "GET / HTTP/1.1\r\n\r\n",
    "connect": "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    "unknown_method": "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
    "asterisk": "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "ipv6_host": "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    "path_confusion": "GET /a/%2e%2e//b\\c/%2F?q=%00#f HTTP/1.1\r\nHost: A.Example.COM.\r\n\r\n",
    "grpc": "POST /pkg.Svc/Method HTTP/1.1\r\nHost: a\r\nContent-Type: application/grpc\r\nTE: trailers\r\ngrpc-timeout: 10S\r\nContent-Length: 5\r\n\r\n\x00\x00\x00\x00\x00",
    "many_headers": "GET / HTTP/1.1\r\nHost: a\r\n" + "".join("X-H%d: v\r\n" % i for i in range(120)) + "\r\n",
    "long_target": "GET /" + "a" * 9000 + " HTTP/1.1\r\nHost: a\r\n\r\n",
}
for i, (name, req) in enumerate(sorted(H1_REQ.items())):
    put("h1_request", name, bytes([0x3F]) + req.encode("latin-1"))
    if i % 3 == 0:
        put("h1_request", name + "_bytewise", bytes([0x40]) + req.encode("latin-1"))

# ---- h1_response: mode bit0 HEAD, bit1 HTTP/1.0 client, bit2 7-byte relay, rest = read size
H1_RES = {
    "ok_cl": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nGrpc-Status: 0\r\n\r\n",
    "close_delimited": "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    "http10": "HTTP/1.0 200 OK\r\n\r\nbody",
    "interim": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "no_content_cl": "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
    "switching": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "keepalive_two": "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "te_and_cl": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "hop_by_hop": "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n",
    "bad_status": "HTTP/1.1 9999 Huh\r\n\r\n",
    "reason_ctl": "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
}
for name, res in sorted(H1_RES.items()):
    put("h1_response", name, bytes([0xF8]) + res.encode("latin-1"))
put("h1_response", "head_request", bytes([0xF9]) + H1_RES["ok_cl"].encode())
put("h1_response", "client10_chunked", bytes([0xFA]) + H1_RES["chunked"].encode())
put("h1_response", "chunked_small_relay", bytes([0x04]) + H1_RES["chunked"].encode())


# ---- h2_server: mode byte (bit2 small limits, bits 3-4 handler), then frames after the preface
def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_literal(name, value):
    # Literal header field without indexing, new name (RFC 7541 §6.2.2), lengths < 127.
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


SETTINGS = frame(4, 0, 0, struct.pack(">HI", 3, 100) + struct.pack(">HI", 4, 65535))
SETTINGS_ACK = frame(4, 1, 0)
GET_HDRS = b"\x82\x86\x84" + hpack_literal(b":authority", b"example.com")  # GET http /
POST_HDRS = b"\x83\x86" + hpack_literal(b":path", b"/upload") + hpack_literal(b":authority", b"a") + \
    hpack_literal(b"content-length", b"5")
H2 = {
    "get": SETTINGS + SETTINGS_ACK + frame(1, 0x5, 1, GET_HDRS),
    "post_body": SETTINGS + frame(1, 0x4, 1, POST_HDRS) + frame(0, 0, 1, b"hel") + frame(0, 1, 1, b"lo"),
    "trailers": SETTINGS + frame(1, 0x4, 1, POST_HDRS) + frame(0, 0, 1, b"hello") +
    frame(1, 0x5, 1, hpack_literal(b"grpc-status", b"0")),
    "continuation": SETTINGS + frame(1, 0x0, 1, GET_HDRS[:3]) + frame(9, 0x4, 1, GET_HDRS[3:]),
    "continuation_flood": SETTINGS + frame(1, 0x0, 1, b"\x82") + b"".join(frame(9, 0, 1, b"") for _ in range(12)),
    "rapid_reset": SETTINGS + b"".join(frame(1, 0x5, i, GET_HDRS) + frame(3, 0, i, struct.pack(">I", 8))
                                       for i in range(1, 60, 2)),
    "ping_flood": SETTINGS + b"".join(frame(6, 0, 0, b"12345678") for _ in range(120)),
    "settings_flood": b"".join(frame(4, 0, 0) for _ in range(120)),
    "window_update": SETTINGS + frame(8, 0, 0, struct.pack(">I", 0x7fffffff)) + frame(1, 0x5, 1, GET_HDRS) +
    frame(8, 0, 1, struct.pack(">I", 1)),
    "priority": SETTINGS + frame(2, 0, 3, struct.pack(">IB", 1, 15)) + frame(1, 0x25, 5, struct.pack(">IB", 3, 7) + GET_HDRS),
    "padded": SETTINGS + frame(1, 0xD, 1, b"\x03" + GET_HDRS + b"\x00\x00\x00"),
    "goaway": SETTINGS + frame(1, 0x5, 1, GET_HDRS) + frame(7, 0, 0, struct.pack(">II", 1, 0) + b"bye"),
    "dynamic_table": SETTINGS + frame(1, 0x5, 1, b"\x82\x86\x84\x41\x0bexample.com") +
    frame(1, 0x5, 3, b"\x82\x86\x84\xbe") + frame(1, 0x5, 5, b"\x3f\xe1\x1f"),  # table size update 4096
    "uppercase_name": SETTINGS + frame(1, 0x5, 1, GET_HDRS + hpack_literal(b"X-Upper", b"1")),
    "connection_header": SETTINGS + frame(1, 0x5, 1, GET_HDRS + hpack_literal(b"transfer-encoding", b"chunked")),
    "crlf_value": SETTINGS + frame(1, 0x5, 1, GET_HDRS + hpack_literal(b"x-a", b"b\r\nc: d")),
    "cl_mismatch": SETTINGS + frame(1, 0x4, 1, POST_HDRS) + frame(0, 1, 1, b"too long body"),
    "empty_data_flood": SETTINGS + frame(1, 0x4, 1, POST_HDRS) + b"".join(frame(0, 0, 1) for _ in range(10)),
    "big_header_list": SETTINGS + frame(1, 0x5, 1, GET_HDRS + b"".join(hpack_literal(b"x-h", b"v" * 100) for _ in range(40))),
    "stream_id_even": SETTINGS + frame(1, 0x5, 2, GET_HDRS),
    "data_idle_stream": SETTINGS + frame(0, 1, 7, b"x"),
    "window_overflow": SETTINGS + frame(8, 0, 0, struct.pack(">I", 0x7fffffff)) + frame(8, 0, 0, struct.pack(">I", 0x7fffffff)),
    "rst_idle": SETTINGS + frame(3, 0, 9, struct.pack(">I", 0)),
    "push_promise_from_client": SETTINGS + frame(5, 0x4, 1, struct.pack(">I", 2) + GET_HDRS),
}
for name, data in sorted(H2.items()):
    put("h2_server", name, bytes([0x00]) + data)
put("h2_server", "get_small_limits", bytes([0x04]) + H2["get"])
put("h2_server", "post_204", bytes([0x08]) + H2["post_body"])
put("h2_server", "post_reset", bytes([0x10]) + H2["post_body"])
put("h2_server", "big_header_list_small_limits", bytes([0x04]) + H2["big_header_list"])

# ---- router: authority \0 target \0 name:value ...
ROUTER = {
    "exact": ["api.example.com", "/v1/users", "x-canary:1", "x-tenant:acme-corp", "x-user:alice"],
    "exact_port": ["api.example.com:8443", "/exact?q=1"],
    "upper": ["API.EXAMPLE.COM", "/exact#frag"],
    "suffix": ["cdn.b.example.com", "/static/app.js"],
    "prefix_wild": ["www.example.org:80", "/"],
    "catch_all": ["unknown", "/anything", "cookie:a=1; session=xyz; sid=\"q\""],
    "ipv6": ["[::1]:10000", "/"],
    "ipv6_bare": ["[::1]", "/x"],
    "ipv4": ["10.0.0.1:80", "/x", "x-debug:1"],
    "empty": ["", ""],
    "dotdot": ["api.example.com", "/v1/../admin", "x-canary:1", "x-tenant:acme-"],
    "encoded": ["api.example.com", "/v1/%2e%2e/%2F//\\x", "x-canary:1", "x-tenant:acme-x"],
    "spiffe": ["a", "spiffe://aegis.local/ns/payments/sa/api"],
    "trailing_dot": ["api.example.com.", "/exact"],
    "port_only": [":8443", "/"],
}
for name, parts in sorted(ROUTER.items()):
    put("router", name, "\0".join(parts))

# ---- config_yaml: the repository's example files and edge cases
ROOT = os.path.dirname(os.path.dirname(HERE))
for base, _dirs, files in os.walk(os.path.join(ROOT, "examples")):
    for f in sorted(files):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(base, f), "rb") as fh:
                put("config_yaml", "example_" + f, fh.read())
YAML = {
    "minimal": "listeners:\n  - name: ingress\n    port: 10000\n    route_config: local\nroute_configs:\n  - name: local\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n        routes:\n          - match: {prefix: /}\n            route: {cluster: backend}\nclusters:\n  - name: backend\n    endpoints: [\"backend.test:8080\"]\n",
    "anchors": "x: &a [1, 2]\ny: *a\nlisteners: *a\n",
    "deep_flow": "a: " + "[" * 200 + "]" * 200 + "\n",
    "deep_block": "".join("  " * i + "k%d:\n" % i for i in range(100)),
    "tags": "listeners: !!str 5\nnode: !custom {region: x}\n",
    "two_docs": "node: {}\n---\nnode: {}\n",
    "bad_types": "drain_timeout: yes\nlisteners: {a: 1}\nclusters: 7\n",
    "unicode": "node: {region: \"\\u00e9\\U0001F600\", zone: '\u00fc'}\n",
    "durations": "drain_timeout: 99999999999h\nadmin: {port: 70000}\n",
    "tls": "listeners:\n  - name: l\n    port: 1\n    route_config: r\n    tls: {cert_file: c.pem, key_file: k.pem, pq_policy: pq_only_1024, allow_peers: [{prefix: 'spiffe://x/'}]}\n",
}
for name, text in sorted(YAML.items()):
    put("config_yaml", name, text)

# ---- x509: certificates minted by the built binary (ML-DSA and ECDSA, SPIFFE SANs), DER and PEM
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "release", "aegis-flow")
tmp = os.path.join(HERE, ".seedtmp")
if os.path.exists(binary):
    subprocess.run(["rm", "-rf", tmp], check=True)
    for kt in ("mldsa44", "ecdsa-p256"):
        subprocess.run([binary, "certs", "init-ca", "--trust-domain", "fuzz.local", "--key-type", kt,
                        "--out", f"{tmp}/{kt}-ca"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([binary, "certs", "issue", "--ca", f"{tmp}/{kt}-ca", "--spiffe-id",
                        "spiffe://fuzz.local/ns/default/sa/api", "--key-type", kt, "--days", "30",
                        "--out", f"{tmp}/{kt}-leaf"], check=True, stdout=subprocess.DEVNULL)
        for pem in (f"{tmp}/{kt}-ca/ca.crt", f"{tmp}/{kt}-leaf/cert.pem"):
            kind = "ca" if "-ca/" in pem else "leaf"
            with open(pem, "rb") as fh:
                data = fh.read()
            put("x509", f"{kt}_{kind}.pem", data)
            der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=data, capture_output=True).stdout
            if der:
                put("x509", f"{kt}_{kind}.der", der)
    subprocess.run(["rm", "-rf", tmp], check=True)
else:
    print("no binary at", binary, "- x509 seeds not written", file=sys.stderr)
put("x509", "garbage.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
put("x509", "empty_seq.der", b"\x30\x00")

# ---- grpc_wire: health responses and header values
put("grpc_wire", "serving", b"\x00\x00\x00\x00\x02\x08\x01")
put("grpc_wire", "not_serving", b"\x00\x00\x00\x00\x02\x08\x02")
put("grpc_wire", "empty_message", b"\x00\x00\x00\x00\x00")
put("grpc_wire", "compressed", b"\x01\x00\x00\x00\x02\x08\x01")
put("grpc_wire", "fields", b"\x00\x00\x00\x00\x14\x08\x01\x11" + b"\x01" * 8 + b"\x1a\x02hi\x25\x01\x02\x03\x04")
put("grpc_wire", "long_varint", b"\x00\x00\x00\x00\x0b\x08" + b"\xff" * 10)
put("grpc_wire", "length_past_end", b"\x00\xff\xff\xff\xff\x08\x01")
put("grpc_wire", "timeout", "10S")
put("grpc_wire", "timeout_max", "99999999H")
put("grpc_wire", "status", "14")
put("grpc_wire", "content_type", "application/grpc+proto; charset=utf-8")
