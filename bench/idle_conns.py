#!/usr/bin/python3
"""Idle keep-alive connections for bench/memory.sh (a benchmark client, not a test).

Two modes, both against one HTTP/1.1 server (a proxy in front of nginx, whose
body is "hello\\n"):

  idle_conns.py --port P --requests 100
      warm-up: 100 sequential GETs on one keep-alive connection, then close.
  idle_conns.py --port P --conns 10000 --ready-file F
      open N connections in batches (so the listen backlog is never overrun),
      send one GET on each and read its whole response (status 200 and the body
      checked), then leave every connection open and idle; write
      "open=N failed=0" to F and wait for SIGUSR1 or SIGTERM; then close all
      of them and exit. Any failure: the summary says so and the exit is 1.

--tls speaks TLS 1.3 (no certificate check: the benchmark's own throwaway CA).
Uses only the standard library (Debian's /usr/bin/python3); raises its own
RLIMIT_NOFILE to fit N.
"""

import argparse
import asyncio
import resource
import signal
import ssl
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: aegis-bench-idle\r\n\r\n"
EXPECTED_BODY = b"hello\n"


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            sys.exit(f"idle_conns: need {needed} file descriptors, hard limit is {hard} "
                     "(raise it: ulimit -Hn, or run as root)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def exchange(reader, writer):
    """One GET on an open connection; return None if the response is a full 200
    with the expected body, else a short reason."""
    writer.write(REQUEST)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "transfer-encoding":
            return "chunked response (the benchmark expects Content-Length)"
    if length is None:
        return "no Content-Length"
    body = await reader.readexactly(length)
    if len(parts) < 2 or parts[1] != "200":
        # The proxy's own error replies name the reason in their body.
        return f"status line {lines[0]!r}, body {body[:80]!r}"
    if body != EXPECTED_BODY:
        return f"body {body[:40]!r}"
    return None


async def open_one(host, port, ctx, timeout):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost" if ctx else None),
            timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
        return None, f"connect: {e!r}"
    try:
        why = await asyncio.wait_for(exchange(reader, writer), timeout)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError, ValueError, ssl.SSLError) as e:
        why = f"request: {e!r}"
    if why is not None:
        writer.close()
        return None, why
    return (reader, writer), None


async def close_all(writers):
    for w in writers:
        w.close()
    for w in writers:
        try:
            await asyncio.wait_for(w.wait_closed(), 5)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass


async def warmup(args, ctx):
    reader, writer = await asyncio.open_connection(
        args.host, args.port, ssl=ctx, server_hostname="localhost" if ctx else None)
    for i in range(args.requests):
        why = await asyncio.wait_for(exchange(reader, writer), args.timeout)
        if why is not None:
            print(f"idle_conns: warm-up request {i + 1}: {why}", file=sys.stderr)
            return 1
    await close_all([writer])
    return 0


async def hold(args, ctx):
    conns, failures, reasons = [], 0, {}
    # Handlers first: the caller may signal as soon as the ready file exists.
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, release.set)
    for start in range(0, args.conns, args.batch):
        n = min(args.batch, args.conns - start)
        results = await asyncio.gather(*(open_one(args.host, args.port, ctx, args.timeout)
                                         for _ in range(n)))
        for conn, why in results:
            if conn is None:
                failures += 1
                reasons[why] = reasons.get(why, 0) + 1
            else:
                conns.append(conn)
        if failures:
            break  # the numbers would not be valid: stop early
    summary = f"open={len(conns)} failed={failures}"
    for why, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        summary += f"\n  {count} x {why}"
    with open(args.ready_file, "w", encoding="utf-8") as f:
        f.write(summary + "\n")
    if failures == 0:
        await release.wait()
    # Did the server keep every connection for the whole window? One it closed
    # has seen EOF by now (nothing else can arrive on an idle connection).
    closed = sum(1 for r, _ in conns if r.at_eof())
    print(f"closed_by_server={closed}", flush=True)
    await close_all([w for _, w in conns])
    return 1 if failures or closed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", action="store_true", help="TLS 1.3, certificate not verified")
    p.add_argument("--requests", type=int, default=0, help="warm-up mode: this many GETs on one connection")
    p.add_argument("--conns", type=int, default=0, help="hold mode: this many idle connections")
    p.add_argument("--batch", type=int, default=100, help="connections opened concurrently")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per connect and per request")
    p.add_argument("--ready-file", help="hold mode: where the summary goes once all are open")
    args = p.parse_args()
    if (args.requests > 0) == (args.conns > 0):
        p.error("give exactly one of --requests N or --conns N")
    if args.conns and not args.ready_file:
        p.error("--conns needs --ready-file")
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    raise_nofile(args.conns + 256)
    coro = warmup(args, ctx) if args.requests else hold(args, ctx)
    sys.exit(asyncio.run(coro))


if __name__ == "__main__":
    main()
