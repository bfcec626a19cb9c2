#!/usr/bin/python3
"""A local stand-in for the paid / remote grid-intensity APIs, speaking each
provider's wire format, serving values from real CSV traces.

  GET /v3/carbon-intensity/latest?zone=Z                    Electricity Maps (header auth-token)
  GET /login (HTTP Basic)  →  {"token"}                     WattTime
  GET /v3/forecast?region=R&signal_type=co2_moer&horizon_hours=0   WattTime (Authorization: Bearer)
  GET /intensity, /regional/regionid/{id}                   UK Carbon Intensity
  GET /emissions/bylocation?location=L                      GSF Carbon Aware SDK WebAPI

Each request for an id serves the trace's next row (row 0 first), stamped
with the current time. With --replay-start T --replay-speed X the rows follow
an accelerated clock instead: a request at t seconds after start serves each
trace's row in force at T + X*t (the last row at or before it), so every
zone moves through the same stretch of real history together. Control and inspection (tests only):
  GET /_control?mode=ok|500|401|429|hang|malformed|html[&count=N]   the next N API requests (default: until changed)
  GET /_control?expire_tokens=1                                     WattTime tokens issued so far become invalid
  GET /_control?restart_clock=1                                     the accelerated clock starts again at --replay-start
  GET /_served?id=ID  →  {"values": [g/kWh served, in order]}
  GET /_stats  →  {"logins": n, "requests": n, "rejected_auth": n}

Usage: provider_server.py --trace ID=CSV [--trace ...] [--em-token T]
       [--wt-user U --wt-password P] [--cert C --key K]
       [--replay-start ISO8601 --replay-speed X]; prints "READY <port>".
"""
import argparse
import base64
import bisect
import csv
import datetime
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.parse

LBS_PER_MWH_TO_G_PER_KWH = 0.4536


def parse_time(text):
    t = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def load_trace(path):
    """Rows as (time, value, unit): unit 'g' (g/kWh) or 'lbs' (lbs/MWh, WattTime CSV)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header = [h.strip().lower() for h in rows[0]]
    if header == ["time", "carbon intensity"]:
        return [(parse_time(r[0]), float(r[1]), "g") for r in rows[1:] if r]
    if header[0].startswith("datetime (utc)"):
        col = next(i for i, h in enumerate(header) if h.startswith("carbon intensity") and h.endswith("(direct)"))
        return [(parse_time(r[0]), float(r[col]), "g") for r in rows[1:] if r and r[col]]
    if len(header) == 2 and header[0].endswith("time"):
        return [(parse_time(r[0]), float(r[1]), "lbs") for r in rows[1:] if r]
    raise SystemExit("unknown trace format: " + path)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.traces = {}
        for spec in args.trace:
            ident, path = spec.split("=", 1)
            self.traces[ident] = load_trace(path)
        self.next_row = {k: 0 for k in self.traces}
        self.replay_start = parse_time(args.replay_start) if args.replay_start else None
        self.replay_speed = args.replay_speed
        self.t0 = time.monotonic()
        self.served = {k: [] for k in self.traces}
        self.mode = "ok"
        self.mode_left = None  # None: until changed
        self.em_token = args.em_token
        self.wt_basic = None
        if args.wt_user is not None:
            self.wt_basic = "Basic " + base64.b64encode(f"{args.wt_user}:{args.wt_password}".encode()).decode()
        self.tokens = set()
        self.logins = 0
        self.requests = 0
        self.rejected_auth = 0

    def take_mode(self):
        with self.lock:
            self.requests += 1
            mode = self.mode
            if self.mode_left is not None:
                self.mode_left -= 1
                if self.mode_left <= 0:
                    self.mode, self.mode_left = "ok", None
            return mode

    def next_value(self, ident, want_unit):
        """The next row for ident in the API's unit (and the g/kWh it stands for), or None."""
        with self.lock:
            rows = self.traces.get(ident)
            if rows is None:
                return None
            if self.replay_start is not None:
                sim = self.replay_start + datetime.timedelta(
                    seconds=(time.monotonic() - self.t0) * self.replay_speed)
                row = max(bisect.bisect_right([r[0] for r in rows], sim) - 1, 0)
            else:
                row = self.next_row[ident] % len(rows)
                self.next_row[ident] += 1
            _, value, unit = rows[row]
            grams = value * LBS_PER_MWH_TO_G_PER_KWH if unit == "lbs" else value
            if want_unit == unit:
                served = value
            elif want_unit == "lbs":
                served = value / LBS_PER_MWH_TO_G_PER_KWH
            else:
                served = grams
            self.served[ident].append(grams)
            return served


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "carbon-provider-fake/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send_json(self, status, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/_control":
            with st.lock:
                if "mode" in q:
                    st.mode = q["mode"]
                    st.mode_left = int(q["count"]) if "count" in q else None
                if q.get("expire_tokens"):
                    st.tokens.clear()
                if q.get("restart_clock"):
                    st.t0 = time.monotonic()
            return self.send_json(200, {"ok": True})
        if url.path == "/_served":
            with st.lock:
                return self.send_json(200, {"values": list(st.served.get(q.get("id", ""), []))})
        if url.path == "/_stats":
            with st.lock:
                return self.send_json(200, {"logins": st.logins, "requests": st.requests,
                                            "rejected_auth": st.rejected_auth})

        mode = st.take_mode()
        if mode == "hang":
            time.sleep(20)
            return
        if mode in ("500", "429"):
            return self.send_json(int(mode), {"error": "simulated " + mode})
        if mode == "401":
            return self.send_json(401, {"error": "simulated 401"})
        if mode == "malformed":
            return self.send_json(200, None, raw=b'{"carbonIntensity": 12, "data": [')
        if mode == "html":
            body = b"<html><body>maintenance</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return

        t = now_utc()
        if url.path == "/v3/carbon-intensity/latest":
            if st.em_token is not None and self.headers.get("auth-token") != st.em_token:
                with st.lock:
                    st.rejected_auth += 1
                return self.send_json(401, {"message": "Invalid authentication credentials"})
            v = st.next_value(q.get("zone", ""), "g")
            if v is None:
                return self.send_json(404, {"error": "Zone '%s' does not exist" % q.get("zone")})
            stamp = t.replace(minute=0).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return self.send_json(200, {"zone": q["zone"], "carbonIntensity": v, "datetime": stamp,
                                        "updatedAt": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                        "createdAt": stamp, "emissionFactorType": "lifecycle",
                                        "isEstimated": False, "estimationMethod": None})
        if url.path == "/login":
            if st.wt_basic is None or self.headers.get("authorization") != st.wt_basic:
                with st.lock:
                    st.rejected_auth += 1
                return self.send_json(403, {"error": "invalid credentials"})
            with st.lock:
                st.logins += 1
                token = "tok-%d-%d" % (st.logins, int(time.time()))
                st.tokens.add(token)
            return self.send_json(200, {"token": token})
        if url.path == "/v3/forecast":
            auth = self.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in st.tokens:
                with st.lock:
                    st.rejected_auth += 1
                return self.send_json(401, {"error": "token expired or invalid"})
            if q.get("signal_type") != "co2_moer" or q.get("horizon_hours") != "0":
                return self.send_json(400, {"error": "bad query"})
            v = st.next_value(q.get("region", ""), "lbs")
            if v is None:
                return self.send_json(400, {"error": "unknown region"})
            points = [{"point_time": (t + datetime.timedelta(minutes=5 * i)).isoformat(), "value": v}
                      for i in range(3)]
            return self.send_json(200, {"data": points, "meta": {
                "data_point_period_seconds": 300, "region": q["region"], "warnings": [],
                "signal_type": "co2_moer", "model": {"date": "2023-03-01", "type": "binned_regression"},
                "units": "lbs_co2_per_mwh", "generated_at_period_seconds": 300,
                "generated_at": t.isoformat()}})
        if url.path == "/intensity" or url.path.startswith("/regional/regionid/"):
            regional = url.path != "/intensity"
            ident = url.path.rsplit("/", 1)[1] if regional else "national"
            v = st.next_value(ident, "g")
            if v is None:
                return self.send_json(400, {"error": {"code": "400 Bad Request", "message": "Invalid region"}})
            start = t.replace(minute=(t.minute // 30) * 30)
            period = {"from": start.strftime("%Y-%m-%dT%H:%MZ"),
                      "to": (start + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%MZ")}
            if regional:  # the regional API has forecasts only
                period["intensity"] = {"forecast": v, "index": "moderate"}
                period["generationmix"] = [{"fuel": "gas", "perc": 40.0}, {"fuel": "wind", "perc": 60.0}]
                return self.send_json(200, {"data": [{"regionid": int(ident), "dnoregion": "Test DNO",
                                                      "shortname": "Test", "data": [period]}]})
            period["intensity"] = {"forecast": v + 7, "actual": v, "index": "moderate"}
            return self.send_json(200, {"data": [period]})
        if url.path == "/emissions/bylocation":
            loc = q.get("location", "")
            v = st.next_value(loc, "g")
            if v is None:
                return self.send_json(400, {"title": "Invalid location"})
            return self.send_json(200, [{"location": loc, "time": t.isoformat(), "rating": v,
                                         "duration": "00:05:00"}])
        return self.send_json(404, {"error": "no such path"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", action="append", default=[])
    ap.add_argument("--em-token")
    ap.add_argument("--wt-user")
    ap.add_argument("--wt-password")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--replay-start")
    ap.add_argument("--replay-speed", type=float, default=1.0)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
