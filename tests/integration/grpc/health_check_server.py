#!/usr/bin/python3
"""A gRPC server that only answers grpc.health.v1.Health/Check, for the
proxy's gRPC health-check test (tests/integration/health_test.cpp).

Debian's python3-grpcio, no protoc: a generic handler takes and returns raw
bytes. The answer is read from --status-file on every call: "SERVING" (or a
missing file) answers HealthCheckResponse{status: SERVING} = b"\\x08\\x01",
"NOT_SERVING" answers b"\\x08\\x02". A request for a service other than
--service ends with NOT_FOUND, as the real health service does.

    /usr/bin/python3 health_check_server.py --port P --status-file F [--service NAME]
        [--tls-cert CHAIN.pem --tls-key KEY.pem]   (TLS: ALPN h2, as gRPC does)
"""
import argparse
import sys
import threading
from concurrent import futures

import grpc


def requested_service(request: bytes) -> str:
    """HealthCheckRequest.service (field 1, length-delimited), "" if absent."""
    if len(request) >= 2 and request[0] == 0x0A and request[1] < 0x80:
        return request[2:2 + request[1]].decode("utf-8", "replace")
    return ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status-file", required=True)
    ap.add_argument("--service", default="")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    calls = {"n": 0}
    lock = threading.Lock()

    def check(request: bytes, context: grpc.ServicerContext) -> bytes:
        with lock:
            calls["n"] += 1
        if requested_service(request) != args.service:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        try:
            with open(args.status_file, encoding="utf-8") as f:
                status = f.read().strip()
        except FileNotFoundError:
            status = "SERVING"
        return b"\x08\x01" if status == "SERVING" else b"\x08\x02"

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {"Check": grpc.unary_unary_rpc_method_handler(check)},  # bytes in, bytes out
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    if args.tls_cert:
        with open(args.tls_key, "rb") as k, open(args.tls_cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        server.add_secure_port(f"127.0.0.1:{args.port}", creds)
    else:
        server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"listening 127.0.0.1:{args.port}", flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
