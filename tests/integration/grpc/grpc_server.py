#!/usr/bin/python3
"""gRPC test server (Debian python3-grpcio, no protoc): the upstream the
HTTP/2 and gRPC tests put behind the proxy.

  grpc_server.py [--port P] [--tls CERT KEY] [--health SERVING|NOT_SERVING|HANG]
                 [--health-file PATH] [--buffer-bidi]

Prints `READY <port>` on stdout once it serves (--port 0, the default, picks
a free port), then one `RPC <method> <status>` line per finished call (tests
count health checks or see a cancellation reach the upstream), and `STOPPED`
after a clean SIGTERM/SIGINT shutdown (exit 0).

Methods of aegis.test.Echo (bytes in, bytes out):
  Unary         echoes the request; initial metadata x-initial: unary plus every
                x-echo-* request key; trailers x-trailer: unary, x-sha256 of
                the request and every x-echo-* key again
  ServerStream  {"count": N, "size": S, "interval_ms": 0} -> N messages
                (grpc_common.stream_message), trailers x-count, x-sha256
  ClientStream  consumes the stream -> {"count", "bytes", "sha256"}
  Bidi          echoes each message as it arrives; trailers x-count, x-sha256
                (--buffer-bidi: only after the client half-closed, to prove
                the client's bidi test catches a buffering hop)
  Slow          {"ms": N, "headers_first": false} sleeps N ms (stops early when
                the call is cancelled or its deadline passes) -> b"done"
  Error         {"code": "NOT_FOUND", "message": "...", "trailers": {k: v}}
                -> that status, message and trailing metadata
  Headers       -> JSON {"metadata": [[k, v]...], "time_remaining": s|null}
                (what the server saw: metadata after the proxy, grpc-timeout)
grpc.health.v1.Health/Check: the first word of --health-file when that file
exists (read on every check), else --health (default SERVING), which SIGUSR1
sets to NOT_SERVING and SIGUSR2 to SERVING. HANG never answers (the checker's
timeout fires). A service name other than "" and aegis.test.Echo gets
NOT_FOUND.
"""

import argparse
import base64
import hashlib
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

import grpc_common as common

_print_lock = threading.Lock()


def log(line):
    with _print_lock:
        print(line, flush=True)


def echo_keys(context):
    return [(k, v) for k, v in context.invocation_metadata() if k.startswith("x-echo-")]


def parse_json(request):
    return json.loads(request.decode("utf-8")) if request else {}


class EchoService:
    def __init__(self, health, health_file, buffer_bidi):
        self.health = health
        self.health_file = health_file
        self.buffer_bidi = buffer_bidi

    # -- aegis.test.Echo ---------------------------------------------------
    def unary(self, request, context):
        echo = echo_keys(context)
        context.send_initial_metadata([("x-initial", "unary")] + echo)
        context.set_trailing_metadata(
            [("x-trailer", "unary"), ("x-sha256", hashlib.sha256(request).hexdigest())] + echo)
        log("RPC Unary OK")
        return request

    def server_stream(self, request, context):
        args = parse_json(request)
        count, size = int(args.get("count", 100)), int(args.get("size", 1024))
        interval = float(args.get("interval_ms", 0)) / 1000.0
        context.send_initial_metadata([("x-initial", "server_stream")])
        h = hashlib.sha256()
        for i in range(count):
            msg = common.stream_message(i, size)
            h.update(msg)
            yield msg
            if interval:
                time.sleep(interval)
        context.set_trailing_metadata([("x-count", str(count)), ("x-sha256", h.hexdigest())])
        log("RPC ServerStream OK")

    def client_stream(self, request_iterator, context):
        h, count, total = hashlib.sha256(), 0, 0
        for msg in request_iterator:
            h.update(msg)
            count += 1
            total += len(msg)
        log("RPC ClientStream OK")
        return json.dumps({"count": count, "bytes": total, "sha256": h.hexdigest()}).encode()

    def bidi(self, request_iterator, context):
        context.send_initial_metadata([("x-initial", "bidi")])
        h, count = hashlib.sha256(), 0
        # --buffer-bidi plays a buffering middlebox: nothing comes back
        # until the client half-closes (the client's bidi test must fail).
        messages = list(request_iterator) if self.buffer_bidi else request_iterator
        for msg in messages:
            h.update(msg)
            count += 1
            yield msg
        context.set_trailing_metadata([("x-count", str(count)), ("x-sha256", h.hexdigest())])
        log("RPC Bidi OK")

    def slow(self, request, context):
        args = parse_json(request)
        if args.get("headers_first"):
            context.send_initial_metadata([("x-initial", "slow")])
        end = time.monotonic() + float(args.get("ms", 1000)) / 1000.0
        while time.monotonic() < end:
            if not context.is_active():
                log("RPC Slow CANCELLED")
                return b""
            time.sleep(0.01)
        log("RPC Slow OK")
        return b"done"

    def error(self, request, context):
        args = parse_json(request)
        code = status_code(args.get("code", "NOT_FOUND"))
        trailers = [(k, base64.b64decode(v) if k.endswith("-bin") else v)
                    for k, v in args.get("trailers", {}).items()]
        context.set_trailing_metadata(trailers)
        log("RPC Error %s" % code.name)
        context.abort(code, args.get("message", "error requested"))

    def headers(self, request, context):
        md = [[k, base64.b64encode(v).decode() if isinstance(v, bytes) else v]
              for k, v in context.invocation_metadata()]
        log("RPC Headers OK")
        return json.dumps({"metadata": md, "time_remaining": context.time_remaining()}).encode()

    # -- grpc.health.v1.Health ---------------------------------------------
    def current_health(self):
        if self.health_file:
            try:
                with open(self.health_file, encoding="utf-8") as f:
                    word = f.read().split()
                if word:
                    return word[0]
            except OSError:
                pass
        return self.health

    def check(self, request, context):
        service = health_service_name(request)
        if service not in ("", common.SERVICE):
            log("RPC Check NOT_FOUND")
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service %r" % service)
        state = self.current_health()
        if state == "HANG":
            while context.is_active():
                time.sleep(0.01)
            log("RPC Check CANCELLED")
            return b""
        log("RPC Check %s" % state)
        return common.HEALTH_RESPONSE.get(state, common.HEALTH_RESPONSE["NOT_SERVING"])


def health_service_name(request):
    """HealthCheckRequest { string service = 1; } decoded by hand (bounds
    checked: a malformed request reads as the empty service)."""
    if len(request) < 2 or request[0] != 0x0A:
        return ""
    length, pos, shift = 0, 1, 0
    while pos < len(request) and shift < 35:
        b = request[pos]
        length |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80:
            break
    return request[pos:pos + length].decode("utf-8", "replace")


def status_code(value):
    if isinstance(value, int):
        return next(c for c in grpc.StatusCode if c.value[0] == value)
    return grpc.StatusCode[value]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--health", default="SERVING", choices=["SERVING", "NOT_SERVING", "HANG"])
    ap.add_argument("--health-file")
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--buffer-bidi", action="store_true", help="Bidi echoes only after the client is done")
    args = ap.parse_args()

    svc = EchoService(args.health, args.health_file, args.buffer_bidi)
    echo = grpc.method_handlers_generic_handler(common.SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(svc.unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(svc.server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(svc.client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(svc.bidi),
        "Slow": grpc.unary_unary_rpc_method_handler(svc.slow),
        "Error": grpc.unary_unary_rpc_method_handler(svc.error),
        "Headers": grpc.unary_unary_rpc_method_handler(svc.headers),
    })
    health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(svc.check),
    })
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers),
        handlers=[echo, health],
        options=[("grpc.max_receive_message_length", common.MAX_MESSAGE),
                 ("grpc.max_send_message_length", common.MAX_MESSAGE),
                 ("grpc.so_reuseport", 0)])
    address = "%s:%d" % (args.host, args.port)
    try:
        if args.tls:
            with open(args.tls[0], "rb") as c, open(args.tls[1], "rb") as k:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            port = server.add_secure_port(address, creds)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as e:
        port = 0
        print("cannot listen on %s: %s" % (address, e), file=sys.stderr)
    if port == 0:
        print("cannot listen on %s" % address, file=sys.stderr)
        return 1

    stop = threading.Event()

    def set_health(state):
        svc.health = state

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: set_health("NOT_SERVING"))
    signal.signal(signal.SIGUSR2, lambda *_: set_health("SERVING"))
    server.start()
    log("READY %d" % port)
    while not stop.wait(0.2):
        pass
    server.stop(grace=2).wait()
    log("STOPPED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
