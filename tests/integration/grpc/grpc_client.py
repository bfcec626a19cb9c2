#!/usr/bin/python3
"""gRPC test client (Debian python3-grpcio, no protoc) for grpc_server.py,
directly or through the proxy.

  grpc_client.py --target HOST:PORT [--tls CA] [--server-name localhost]
                 [--authority A] --test NAME[,NAME...] [options]

Prints one JSON line per test:
  {"test": ..., "ok": true|false, "code": "OK", "details": "...",
   "elapsed_ms": N, "errors": [...], ...test-specific fields}
and exits 0 only when every test is ok (1 otherwise, 2 on bad usage).

Tests (the default expectation in brackets; --expect-code CODE replaces it,
e.g. UNAVAILABLE for a proxy error, and then only the code is checked):
  unary          --size bytes echoed, echo metadata and trailers  [OK]
  unary_large    each of --sizes (default 4 MiB and 16 MiB - 1 KiB)  [OK]
  too_large      a 16 MiB + 1 KiB request  [RESOURCE_EXHAUSTED]
  server_stream  --count messages of up to --size bytes, SHA-256 vs trailer  [OK]
  client_stream  --count messages up, server's count and SHA-256  [OK]
  bidi           --count messages (default 5000), the first --lockstep
                 (default 1000) each sent only after the previous echo
                 arrived (a buffering proxy stalls: DEADLINE_EXCEEDED), the
                 rest streamed; checksums both ways and vs trailer  [OK]
  deadline       Slow sleeping --sleep-ms with a --deadline-ms deadline;
                 --headers-first: the server sends headers before sleeping
                 [DEADLINE_EXCEEDED]
  error          Error with --code, --message and trailers  [that code]
  metadata       text, repeated and binary (-bin) metadata both ways  [OK]
  headers        what the server saw (JSON "seen"), with --metadata K=V  [OK]
  health         grpc.health.v1.Health/Check for --service, expects
                 --expect-health (SERVING)  [OK]
--timeout S is the deadline of every call except `deadline` (default 30).
"""

import argparse
import base64
import json
import queue
import sys
import threading
import time

import grpc

import grpc_common as common

MIB = 1024 * 1024


class Outcome:
    """One test's result line."""

    def __init__(self, name):
        self.fields = {"test": name, "ok": False, "code": None, "details": "", "errors": []}
        self.start = time.monotonic()

    def fail(self, what):
        self.fields["errors"].append(what)

    def expect(self, cond, what):
        if not cond:
            self.fail(what)

    def status(self, call_or_error):
        self.fields["code"] = call_or_error.code().name
        self.fields["details"] = call_or_error.details() or ""

    def set(self, **kw):
        self.fields.update(kw)


def md_dict(md):
    out = {}
    for k, v in md or ():
        out.setdefault(k, []).append(v)
    return out


def json_safe(md):
    return {k: [base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in vs]
            for k, vs in md_dict(md).items()}


def call_unary(channel, method, request, out, timeout, metadata=()):
    """Returns (response, call); on an RPC error (None, error). Either way the
    status lands in `out`."""
    stub = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        response, call = stub.with_call(request, timeout=timeout, metadata=list(metadata))
    except grpc.RpcError as e:
        out.status(e)
        return None, e
    out.status(call)
    return response, call


class StreamCheck:
    """Reads a response stream whose message i must be stream_message(i)."""

    def __init__(self, size):
        self.size = size
        self.received = []
        self.mismatched = 0

    def take(self, call, on_message=None):
        """Every message of `call`; raises grpc.RpcError if the call fails."""
        for msg in call:
            if msg != common.stream_message(len(self.received), self.size):
                self.mismatched += 1
            self.received.append(msg)
            if on_message:
                on_message(len(self.received))


# ---- the tests -------------------------------------------------------------

def t_unary(ch, a, out):
    req = common.payload(1, a.size)
    md = [("x-echo-test", "unary")]
    resp, call = call_unary(ch, common.method("Unary"), req, out, a.timeout, md)
    if resp is None:
        return
    out.expect(resp == req, "response differs from request (%d vs %d bytes)" % (len(resp), len(req)))
    init, trail = md_dict(call.initial_metadata()), md_dict(call.trailing_metadata())
    out.expect(init.get("x-initial") == ["unary"], "initial metadata x-initial missing: %r" % init)
    out.expect(trail.get("x-echo-test") == ["unary"], "trailer x-echo-test missing: %r" % trail)
    out.expect(trail.get("x-sha256") == [common.sha256_of([req])], "trailer x-sha256 differs")
    out.set(bytes=len(resp), trailers=json_safe(call.trailing_metadata()))


def t_unary_large(ch, a, out):
    sizes = a.sizes or [4 * MIB, common.MAX_MESSAGE - 1024]
    done = []
    for n in sizes:
        req = common.payload(n, n)
        resp, call = call_unary(ch, common.method("Unary"), req, out, a.timeout)
        if resp is None:
            out.fail("size %d: %s %s" % (n, out.fields["code"], out.fields["details"]))
            break
        out.expect(resp == req, "size %d: echo differs" % n)
        out.expect(md_dict(call.trailing_metadata()).get("x-sha256") == [common.sha256_of([req])],
                   "size %d: trailer x-sha256 differs" % n)
        done.append(n)
    out.set(sizes=done)


def t_too_large(ch, a, out):
    req = common.payload(0, common.MAX_MESSAGE + 1024)
    resp, _ = call_unary(ch, common.method("Unary"), req, out, a.timeout)
    out.set(default_code="RESOURCE_EXHAUSTED", bytes=len(req))
    out.expect(resp is None, "a message over the limit was accepted")


def t_server_stream(ch, a, out):
    stub = ch.unary_stream(common.method("ServerStream"), request_serializer=None, response_deserializer=None)
    req = json.dumps({"count": a.count, "size": a.size}).encode()
    call = stub(req, timeout=a.timeout)
    check = StreamCheck(a.size)
    try:
        check.take(call)
    except grpc.RpcError as e:
        out.status(e)
        out.set(received=len(check.received))
        return
    out.status(call)
    got = len(check.received)
    trail = md_dict(call.trailing_metadata())
    sha = common.sha256_of(check.received)
    out.expect(got == a.count, "received %d of %d messages" % (got, a.count))
    out.expect(check.mismatched == 0, "%d messages differ from the pattern" % check.mismatched)
    out.expect(trail.get("x-sha256") == [sha], "trailer x-sha256 %r != received %s" % (trail.get("x-sha256"), sha))
    out.expect(trail.get("x-count") == [str(a.count)], "trailer x-count %r" % trail.get("x-count"))
    out.set(received=got, sha256=sha, trailers=json_safe(call.trailing_metadata()))


def t_client_stream(ch, a, out):
    stub = ch.stream_unary(common.method("ClientStream"), request_serializer=None, response_deserializer=None)
    sent = [common.stream_message(i, a.size) for i in range(a.count)]
    try:
        resp, call = stub.with_call(iter(sent), timeout=a.timeout)
    except grpc.RpcError as e:
        out.status(e)
        return
    out.status(call)
    got = json.loads(resp.decode())
    sha = common.sha256_of(sent)
    out.expect(got.get("count") == a.count, "server counted %r of %d" % (got.get("count"), a.count))
    out.expect(got.get("sha256") == sha, "server sha256 %r != sent %s" % (got.get("sha256"), sha))
    out.set(sent=a.count, sha256=sha, server=got)


def t_bidi(ch, a, out):
    stub = ch.stream_stream(common.method("Bidi"), request_serializer=None, response_deserializer=None)
    echoed = queue.Queue()
    finished = threading.Event()
    lockstep = min(a.lockstep, a.count)

    def requests():
        for i in range(a.count):
            if 0 < i <= lockstep:
                # Send message i only once message i-1 came back.
                while True:
                    try:
                        echoed.get(timeout=0.1)
                        break
                    except queue.Empty:
                        if finished.is_set():
                            return
            yield common.stream_message(i, a.size)

    def on_echo(n):
        if n <= lockstep:
            echoed.put(n)

    call = stub(requests(), timeout=a.timeout)
    check = StreamCheck(a.size)
    try:
        check.take(call, on_echo)
    except grpc.RpcError as e:
        out.status(e)
        got = len(check.received)
        out.set(received=got, lockstep_done=min(got, lockstep))
        out.fail("stream ended after %d of %d echoes" % (got, a.count))
        return
    finally:
        finished.set()
    out.status(call)
    got = len(check.received)
    sent_sha = common.sha256_of(common.stream_message(i, a.size) for i in range(a.count))
    recv_sha = common.sha256_of(check.received)
    trail = md_dict(call.trailing_metadata())
    out.expect(got == a.count, "received %d of %d echoes" % (got, a.count))
    out.expect(check.mismatched == 0, "%d echoes differ from what was sent" % check.mismatched)
    out.expect(recv_sha == sent_sha, "received sha256 differs from sent")
    out.expect(trail.get("x-sha256") == [sent_sha], "server's x-sha256 %r != sent" % trail.get("x-sha256"))
    out.expect(trail.get("x-count") == [str(a.count)], "server's x-count %r" % trail.get("x-count"))
    out.set(sent=a.count, received=got, lockstep=lockstep, sha256=sent_sha)


def t_deadline(ch, a, out):
    req = json.dumps({"ms": a.sleep_ms, "headers_first": a.headers_first}).encode()
    resp, _ = call_unary(ch, common.method("Slow"), req, out, a.deadline_ms / 1000.0)
    out.set(default_code="DEADLINE_EXCEEDED", deadline_ms=a.deadline_ms, sleep_ms=a.sleep_ms)
    out.expect(resp is None, "Slow answered before its deadline")


def t_error(ch, a, out):
    trailers = {"x-error-detail": "detail-1", "x-error-bin": base64.b64encode(b"\x00\x01\xfe\xff").decode()}
    req = json.dumps({"code": a.code, "message": a.message, "trailers": trailers}).encode()
    resp, err = call_unary(ch, common.method("Error"), req, out, a.timeout)
    out.set(default_code=a.code)
    if resp is not None:
        out.fail("Error answered OK")
        return
    trail = md_dict(err.trailing_metadata())
    out.expect(out.fields["details"] == a.message, "message %r != %r" % (out.fields["details"], a.message))
    out.expect(trail.get("x-error-detail") == ["detail-1"], "trailer x-error-detail: %r" % trail)
    out.expect(trail.get("x-error-bin") == [b"\x00\x01\xfe\xff"], "trailer x-error-bin: %r" % trail.get("x-error-bin"))
    out.set(trailers=json_safe(err.trailing_metadata()))


def t_metadata(ch, a, out):
    blob = bytes(range(256))
    md = [("x-echo-text", "hello world"), ("x-echo-multi", "one"), ("x-echo-multi", "two"),
          ("x-echo-data-bin", blob)]
    resp, call = call_unary(ch, common.method("Unary"), b"metadata", out, a.timeout, md)
    if resp is None:
        return
    for where, got in (("initial", md_dict(call.initial_metadata())),
                       ("trailing", md_dict(call.trailing_metadata()))):
        out.expect(got.get("x-echo-text") == ["hello world"], "%s x-echo-text: %r" % (where, got.get("x-echo-text")))
        out.expect(got.get("x-echo-multi") == ["one", "two"], "%s x-echo-multi: %r" % (where, got.get("x-echo-multi")))
        out.expect(got.get("x-echo-data-bin") == [blob], "%s x-echo-data-bin differs" % where)
    out.set(initial=json_safe(call.initial_metadata()), trailers=json_safe(call.trailing_metadata()))


def t_headers(ch, a, out):
    md = [tuple(kv.split("=", 1)) for kv in a.metadata]
    resp, _ = call_unary(ch, common.method("Headers"), b"", out, a.timeout, md)
    if resp is None:
        return
    seen = json.loads(resp.decode())
    got = md_dict([tuple(kv) for kv in seen["metadata"]])
    for k, v in md:
        out.expect(v in got.get(k, []), "the server did not see %s: %s" % (k, v))
    out.set(seen=seen)


def t_health(ch, a, out):
    service = a.service.encode()
    req = (b"\x0a" + bytes([len(service)]) + service) if service else b""
    resp, _ = call_unary(ch, common.HEALTH_CHECK, req, out, a.timeout)
    if resp is None:
        return
    state = next((k for k, v in common.HEALTH_RESPONSE.items() if v == resp), "UNKNOWN(%s)" % resp.hex())
    out.expect(state == a.expect_health, "health %s, expected %s" % (state, a.expect_health))
    out.set(health=state)


TESTS = {
    "unary": t_unary, "unary_large": t_unary_large, "too_large": t_too_large,
    "server_stream": t_server_stream, "client_stream": t_client_stream, "bidi": t_bidi,
    "deadline": t_deadline, "error": t_error, "metadata": t_metadata, "headers": t_headers,
    "health": t_health,
}


def run(name, channel, a):
    out = Outcome(name)
    try:
        TESTS[name](channel, a, out)
    except Exception as e:  # pylint: disable=broad-except
        out.fail("%s: %s" % (type(e).__name__, e))
    f = out.fields
    expected = a.expect_code or f.pop("default_code", "OK")
    f.pop("default_code", None)
    f["expected_code"] = expected
    if f["code"] != expected:
        f["errors"].insert(0, "status %s (%s), expected %s" % (f["code"], f["details"], expected))
        f["ok"] = False
    elif expected == "OK" or not a.expect_code:
        f["ok"] = not f["errors"]
    else:
        f["ok"] = True  # --expect-code: only the code matters
        f["errors"] = []
    f["elapsed_ms"] = int((time.monotonic() - out.start) * 1000)
    return f


def make_channel(a):
    options = [("grpc.enable_http_proxy", 0),
               ("grpc.max_receive_message_length", common.MAX_MESSAGE),
               # The server enforces the limit: too_large must reach it.
               ("grpc.max_send_message_length", 4 * common.MAX_MESSAGE)]
    if a.authority:
        options.append(("grpc.default_authority", a.authority))
    if a.tls:
        with open(a.tls, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        options.append(("grpc.ssl_target_name_override", a.server_name))
        return grpc.secure_channel(a.target, creds, options=options)
    return grpc.insecure_channel(a.target, options=options)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True)
    ap.add_argument("--tls", metavar="CA", help="TLS, verifying the server against this CA file")
    ap.add_argument("--server-name", default="localhost", help="name checked in the server certificate")
    ap.add_argument("--authority", help=":authority of every call")
    ap.add_argument("--test", required=True, help="comma-separated: " + ", ".join(TESTS))
    ap.add_argument("--expect-code", help="the status every test must end with (e.g. UNAVAILABLE)")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--count", type=int)
    ap.add_argument("--lockstep", type=int, default=1000)
    ap.add_argument("--deadline-ms", type=int, default=300)
    ap.add_argument("--sleep-ms", type=int, default=10000)
    ap.add_argument("--headers-first", action="store_true")
    ap.add_argument("--code", default="NOT_FOUND")
    ap.add_argument("--message", default="not found: caf\u00e9 100% sure")
    ap.add_argument("--metadata", action="append", default=[], metavar="K=V")
    ap.add_argument("--service", default="")
    ap.add_argument("--expect-health", default="SERVING")
    a = ap.parse_args()
    names = [n for n in a.test.split(",") if n]
    unknown = [n for n in names if n not in TESTS]
    if unknown or not names:
        print("unknown test(s) %s; known: %s" % (unknown, ", ".join(TESTS)), file=sys.stderr)
        return 2
    with make_channel(a) as channel:
        ok = True
        for name in names:
            count_default = 5000 if name == "bidi" else 100
            args = argparse.Namespace(**vars(a))
            args.count = a.count if a.count is not None else count_default
            f = run(name, channel, args)
            ok = ok and f["ok"]
            print(json.dumps(f, sort_keys=True), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
