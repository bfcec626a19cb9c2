"""What the gRPC test server and client agree on: method names, the message
size limit and the deterministic payload both sides checksum.

Run with Debian's /usr/bin/python3 (python3-grpcio). No protoc: every method
carries raw bytes (JSON for the small control requests).
"""

import hashlib
import random

SERVICE = "aegis.test.Echo"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"

# 16 MiB: large messages just under it must pass, one over it must be refused
# with RESOURCE_EXHAUSTED by the receiver.
MAX_MESSAGE = 16 * 1024 * 1024

# HealthCheckResponse { status = 1 (SERVING) | 2 (NOT_SERVING) } as protobuf.
HEALTH_RESPONSE = {"SERVING": b"\x08\x01", "NOT_SERVING": b"\x08\x02"}


def method(name):
    return "/%s/%s" % (SERVICE, name)


def payload(index, size):
    """Message `index` of a stream: `size` pseudo-random bytes seeded by the
    index, so both ends can build the same bytes without sharing them."""
    return random.Random(index).randbytes(size)


def sha256_of(chunks):
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def stream_message(index, max_size):
    """Message `index` of a streaming test: sizes vary from 1 to max_size
    bytes so gRPC frames straddle HTTP/2 DATA frames in every way."""
    return payload(index, 1 + (index * 7919) % max(1, max_size))
