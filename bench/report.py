#!/usr/bin/python3
"""The results pipeline of `make bench` (issue 8, "Output and targets").

1. With --jsonl: merge one run's rows (bench/lib.sh emit_row, one JSON object
   per line, plus one {"row": "run"} object per suite from
   bench/run_suites.sh) and the run's metadata (machine, versions, commit)
   into RESULTS_DIR/YYYY-MM-DD.json. A later run the same day replaces the
   suites it ran and keeps the others.
2. Always: regenerate the markdown (docs/benchmarks.md) and its SVG charts
   from every RESULTS_DIR/*.json, taking each suite's newest run.

Run it with Debian's /usr/bin/python3 (python3-matplotlib). The output paths
are options, so that the test (bench/report_test.py) never writes into the
repository. Charts are deterministic: the same JSON gives the same bytes.
"""

import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = "benchmark-methods.md"  # hand-written, next to the generated doc

# The issue's targets.
HTTP_RATIO = 1.2          # scenario 1: aegis-flow req/s >= 1.2 x HAProxy
ADDED_P50_1K_US = 100     # scenario 2, at 1k req/s
ADDED_P99_1K_US = 500
ADDED_P99_20K_US = 2000   # scenario 2, at 20k req/s
MESH_THROUGHPUT_RATIO = 1.2
TLS_RATIO = 0.80          # scenario 3: >= 80 % of openssl s_server
IDLE_RSS_MIB = 20         # scenario 5
KIB_PER_CONN = 10


# --- reading and merging ---------------------------------------------------------

def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"report.py: {path}:{n}: not a JSON object ({e})")
    return rows


def run_output(*cmd):
    """First line of a command's output (stdout or stderr), or None."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (p.stdout or p.stderr).strip()
    return text.splitlines()[0] if text else None


def aegis_version(binary):
    """The version line, the binary's path and its build time: the commit of the
    checkout that ran the suites need not be the one the binary was built from."""
    version = run_output(binary, "version")
    try:
        built = subprocess.run(["date", "-u", "-r", binary, "+%Y-%m-%d %H:%M UTC"], capture_output=True,
                               text=True, check=False).stdout.strip()
    except OSError:
        built = ""
    return f"{version} ({os.path.abspath(binary)}{', built ' + built if built else ''})" if version else None


def haproxy_version(binary):
    """ "HAProxy version 3.0.11-... on OpenSSL 3.5.7 ..." from haproxy -vv."""
    first = run_output(binary, "-v")
    try:
        vv = subprocess.run([binary, "-vv"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return first
    ssl = re.search(r"^Running on OpenSSL version : (.*)$", vv, re.MULTILINE)
    return f"{first}; running on {ssl.group(1)}" if first and ssl else first


def probe_metadata(args):
    """The machine, the tools' versions and the commit of this run."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_gib = None
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1048576, 1)
    uname = platform.uname()
    cache = os.environ.get("AEGIS_CACHE_DIR", os.path.expanduser("~/.cache/aegis-flow"))
    versions = {
        "aegis-flow": aegis_version(args.aegis_bin) if args.aegis_bin else None,
        "nginx": run_output("nginx", "-v"),
        "haproxy-2.6": haproxy_version("haproxy"),
        "haproxy-3.0": haproxy_version(args.haproxy3_bin) if args.haproxy3_bin else None,
        "openssl-system": run_output("openssl", "version"),
        "openssl-3.5": run_output(os.path.join(cache, "openssl-current/bin/openssl"), "version"),
        "wrk": run_output("wrk", "-v"),
        "h2load": run_output("h2load", "--version"),
    }
    commit = run_output("git", "-C", ROOT, "rev-parse", "--short", "HEAD") or "unknown"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return {
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
        "machine": {"cpu": model, "cpus": os.cpu_count(), "ram_gib": ram_gib,
                    "kernel": f"{uname.system} {uname.release} {uname.machine}"},
        "versions": versions,
    }


def split_run(rows, meta):
    """{suite: {"run": {...}, "rows": [...]}} from one run's rows."""
    suites = {}
    for row in rows:
        name = row.get("suite")
        if not name:
            continue
        entry = suites.setdefault(name, {"run": dict(meta), "rows": []})
        if row.get("row") == "run":
            entry["run"].update({k: v for k, v in row.items() if k not in ("suite", "row")})
        else:
            entry["rows"].append({k: v for k, v in row.items() if k != "suite"})
    for entry in suites.values():
        entry["run"].setdefault("started", meta.get("date"))
    return suites


def results_text(data):
    """The dated JSON: one row per line, so that diffs stay readable."""
    out = ["{", f'  "date": {json.dumps(data["date"])},', '  "suites": {']
    names = sorted(data["suites"])
    for i, name in enumerate(names):
        suite = data["suites"][name]
        out.append(f"    {json.dumps(name)}: {{")
        out.append(f'      "run": {json.dumps(suite["run"], sort_keys=True)},')
        out.append('      "rows": [')
        rows = suite["rows"]
        out += ["        " + json.dumps(r) + ("," if j < len(rows) - 1 else "") for j, r in enumerate(rows)]
        out.append("      ]")
        out.append("    }" + ("," if i < len(names) - 1 else ""))
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


def merge_run(args):
    rows = read_jsonl(args.jsonl)
    if args.meta:
        with open(args.meta, encoding="utf-8") as f:
            meta = json.load(f)
    else:
        meta = probe_metadata(args)
    runs = [r for r in rows if r.get("row") == "run" and r.get("started")]
    meta.setdefault("date", min((r["started"] for r in runs), default=None)
                    or subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"], capture_output=True,
                                      text=True, check=False).stdout.strip())
    suites = split_run(rows, meta)
    if not suites:
        print(f"report.py: no rows in {args.jsonl}; nothing merged", file=sys.stderr)
        return
    day = meta["date"][:10]
    path = os.path.join(args.results_dir, f"{day}.json")
    data = {"date": day, "suites": {}}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    for name, suite in suites.items():
        # A suite that failed before measuring anything does not wipe a measured run of the same day.
        if suite["rows"] or not data["suites"].get(name, {}).get("rows"):
            data["suites"][name] = suite
    os.makedirs(args.results_dir, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(results_text(data))
    print(f"report.py: {', '.join(sorted(suites))} merged into {path}", file=sys.stderr)


def newest_runs(results_dir):
    """{suite: {"run", "rows", "file"}}: each suite's newest run over every dated file."""
    newest = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", os.path.basename(path)):
            continue
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for name, suite in data.get("suites", {}).items():
            # The newest run with rows; a run without any only when no run has rows.
            key = (bool(suite["rows"]), suite["run"].get("started") or "")
            if name not in newest or key >= newest[name]["key"]:
                newest[name] = dict(suite, file=os.path.basename(path), key=key)
    return newest


# --- formatting ------------------------------------------------------------------

def num(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def find(rows, **match):
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def one(rows, **match):
    found = find(rows, **match)
    return found[0] if found else None


def run_label(run):
    when = (run.get("started") or "?").replace("T", " ").replace("Z", " UTC")
    return when + (", QUICK" if run.get("quick") else "")


def run_line(run):
    m = run.get("machine", {})
    machine = f"{m.get('cpus', '?')} CPUs ({m.get('cpu', '?')}), {m.get('ram_gib', '?')} GiB RAM, {m.get('kernel', '?')}"
    parts = [f"**Run** {run_label(run)}", f"commit {run.get('commit', '?')}", f"machine: {machine}",
             f"load before {run.get('load_before', '?')} (1/5/15 min)",
             f"took {run.get('seconds', '?')} s"]
    if run.get("quick"):
        parts.append("**QUICK run** (short mode: indicative only)")
    if run.get("exit") not in (0, None):
        parts.append(f"**the suite failed (exit {run.get('exit')}): these numbers are not valid**")
    return " · ".join(parts)


# --- charts ------------------------------------------------------------------------

class Charts:
    """Grouped bar charts as SVG, byte-identical for the same input."""

    NAMES = ("http", "mesh-rates-added", "mesh-rates-throughput", "mesh", "tls", "attest", "h2", "grpc",
             "memory", "scale")

    def __init__(self, directory, doc_dir):
        self.directory = directory
        self.link_dir = os.path.relpath(directory, doc_dir)
        self.written = set()
        plt.rcParams.update({"svg.hashsalt": "aegis-flow-bench", "svg.fonttype": "none",
                             "font.size": 9, "figure.dpi": 100})

    def bars(self, name, title, ylabel, categories, series, line=None):
        """series: [(label, [value or None per category])]; line: (y, label) drawn across."""
        os.makedirs(self.directory, exist_ok=True)
        width_in = max(5, 1.1 * len(categories) + 2, 0.5 * len(categories) * len(series) + 2.5)
        fig, ax = plt.subplots(figsize=(width_in, 3.2))
        width = 0.8 / max(1, len(series))
        for i, (label, values) in enumerate(series):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(categories))]
            ax.bar(xs, [v if v is not None else 0 for v in values], width, label=label)
        if line:
            ax.axhline(line[0], color="black", linestyle="--", linewidth=0.8, label=line[1])
        ax.set_xticks(range(len(categories)))
        crowded = len(categories) > 4
        ax.set_xticklabels(categories, rotation=20 if crowded else 0, ha="right" if crowded else "center")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if len(series) > 1 or line:
            ax.legend(fontsize=8)
        ax.grid(axis="y", linewidth=0.3)
        fig.tight_layout()
        path = os.path.join(self.directory, name + ".svg")
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
        self.written.add(name)
        alt = title.replace("\n", " ")
        return f"![{alt}]({self.link_dir}/{name}.svg)"

    def remove_stale(self):
        for name in self.NAMES:
            path = os.path.join(self.directory, name + ".svg")
            if name not in self.written and os.path.exists(path):
                os.remove(path)


# --- targets ---------------------------------------------------------------------------

def verdict(ok, run):
    if ok is None:
        return "not measured"
    if run.get("exit") not in (0, None):
        return f"not valid (suite exit {run['exit']})"
    return "PASS" if ok else "MISS"


def targets(runs):
    """Rows of the targets table: (scenario, target, measured, status, run)."""
    out = []

    def rows_of(suite):
        return runs.get(suite, {}).get("rows", [])

    def add(scenario, target, suite, measured, ok):
        """A target with a number: PASS/MISS from ok (None: not measured)."""
        run = runs.get(suite, {}).get("run")
        if run is None or measured is None:
            out.append((scenario, target, "not measured yet", "not measured", "–"))
        else:
            out.append((scenario, target, measured, verdict(ok, run), run_label(run)))

    def info(scenario, target, suite, measured):
        """A scenario the issue gives no number for: the measured value only."""
        if measured is None:
            out.append((scenario, target, "not measured yet", "not measured", "–"))
        else:
            out.append((scenario, target, measured, "info", run_label(runs[suite]["run"])))

    def ratio_text(a, b, unit="req/s"):
        return f"{num(a)} / {num(b)} {unit} = {a / b:.2f}×"

    # Scenario 1: HTTP/1.1 keep-alive.
    a, h = one(rows_of("http"), target="aegis"), one(rows_of("http"), target="haproxy")
    r = ratio(a and a.get("rps"), h and h.get("rps"))
    add("1 HTTP/1.1 keep-alive", f"aegis-flow req/s ≥ {HTTP_RATIO}× HAProxy 2.6", "http",
        None if r is None else ratio_text(a["rps"], h["rps"]), r is not None and r >= HTTP_RATIO)

    # Scenario 2: the two-hop mesh with MLKEM1024 + ML-DSA-65.
    rows = rows_of("mesh-rates")
    pq = {"row": "rate", "group": "MLKEM1024", "keytype": "mldsa65"}
    a1 = one(rows, mesh="aegis-flow", rate_target=1000, **pq) or {}
    h1 = one(rows, mesh="haproxy-3.0", rate_target=1000, **pq) or {}
    d1 = one(rows, mesh="direct", rate_target=1000, **pq) or {}
    # An added latency against (or of) a saturated row is queueing, not what a hop adds.
    saturated = [f"{label} {num(r.get('rate_achieved'), 1)}" for label, r in
                 (("aegis-flow", a1), ("HAProxy 3.0", h1), ("direct", d1)) if r.get("saturated")]
    for field, limit in (("added_p50_us", ADDED_P50_1K_US), ("added_p99_us", ADDED_P99_1K_US)):
        name, v, hv = field[6:9], a1.get(field), h1.get(field)
        target = f"added {name} ≤ {limit} µs (MLKEM1024 + ML-DSA-65)"
        # A negative added latency: the direct run's percentile was above the
        # mesh's, so noise on the machine was larger than what the hops add.
        negative = [f"{label} {num(x)} µs" for label, x in (("aegis-flow", v), ("HAProxy 3.0", hv))
                    if x is not None and x < 0]
        if a1.get("saturated") or d1.get("saturated"):
            add("2 mesh, 1k req/s", target, "mesh-rates", f"saturated (req/s achieved: {', '.join(saturated)})", False)
        else:
            if v is not None and v < 0:
                out.append(("2 mesh, 1k req/s", target, f"{num(v)} µs: the direct run's {name} was above the mesh's",
                            "not valid (noise)", run_label(runs["mesh-rates"]["run"])))
            else:
                add("2 mesh, 1k req/s", target, "mesh-rates", None if v is None else f"{num(v)} µs",
                    v is not None and v <= limit)
        target = f"added {name} below HAProxy 3.0's two-hop mesh"
        if v is not None and hv is not None and negative and not saturated:
            out.append(("2 mesh, 1k req/s", target, f"{num(v)} µs vs {num(hv)} µs; negative: {', '.join(negative)} "
                        f"(the direct run's {name} was above the mesh's)", "not valid (noise)",
                        run_label(runs["mesh-rates"]["run"])))
        elif v is not None and hv is not None and saturated:
            out.append(("2 mesh, 1k req/s", target, f"{num(v)} µs vs {num(hv)} µs; saturated rows, req/s achieved: "
                        f"{', '.join(saturated)} of 1,000", "not valid (saturated)", run_label(runs["mesh-rates"]["run"])))
        else:
            both = v is not None and hv is not None
            add("2 mesh, 1k req/s", target, "mesh-rates", f"{num(v)} µs vs {num(hv)} µs" if both else None,
                both and v < hv)
    a20 = one(rows, mesh="aegis-flow", rate_target=20000, **pq)
    d20 = one(rows, mesh="direct", rate_target=20000, **pq) or {}
    target = f"added p99 ≤ {ADDED_P99_20K_US / 1000:g} ms"
    if a20 and (a20.get("saturated") or d20.get("saturated")):
        # Saturated: the difference of two queueing delays is no added latency.
        add("2 mesh, 20k req/s", target, "mesh-rates",
            f"saturated: {num(a20.get('rate_achieved'))} req/s achieved through the mesh, "
            f"{num(d20.get('rate_achieved'))} direct", False)
    else:
        v = (a20 or {}).get("added_p99_us")
        add("2 mesh, 20k req/s", target, "mesh-rates", None if v is None else f"{num(v)} µs",
            v is not None and v <= ADDED_P99_20K_US)
    ta = one(rows, row="throughput", mesh="aegis-flow")
    th = one(rows, row="throughput", mesh="haproxy-3.0")
    r = ratio(ta and ta.get("rps"), th and th.get("rps"))
    add("2 mesh throughput", f"two-hop req/s ≥ {MESH_THROUGHPUT_RATIO}× HAProxy 3.0's two-hop mesh", "mesh-rates",
        None if r is None else ratio_text(ta["rps"], th["rps"]), r is not None and r >= MESH_THROUGHPUT_RATIO)

    # Scenario 3: the worst certificate + group combination decides.
    rows = rows_of("tls")
    ratios = []
    for a in find(rows, server="aegis", resumed=False):
        s = one(rows, server="s_server", resumed=False, cert=a.get("cert"), group=a.get("group")) or {}
        r = ratio(a.get("hs_per_s"), s.get("hs_per_s"))
        if r is not None:
            ratios.append((r, a["cert"], a["group"]))
    worst = min(ratios) if ratios else None
    add("3 TLS handshakes", f"full handshakes/s ≥ {TLS_RATIO:.0%} of openssl s_server (worst combination)", "tls",
        worst and f"{worst[0]:.2f}× ({worst[1]} + {worst[2]}; {len(ratios)} combination(s), best {max(ratios)[0]:.2f}×)",
        worst is not None and worst[0] >= TLS_RATIO)

    # Scenario 4: no numbers in the issue.
    a, h = one(rows_of("h2"), target="aegis"), one(rows_of("h2"), target="haproxy")
    r = ratio(a and a.get("rps"), h and h.get("rps"))
    info("4 HTTP/2", "no numeric target: aegis-flow vs HAProxy 2.6, h2c → h1", "h2",
         None if r is None else f"{r:.2f}× HAProxy's req/s")
    d, m = one(rows_of("grpc"), target="direct"), one(rows_of("grpc"), target="mesh-pq")
    r = ratio(m and m.get("calls_per_s"), d and d.get("calls_per_s"))
    info("4 gRPC", "no numeric target: calls/s through the PQC mesh vs direct", "grpc",
         None if r is None else f"{r:.2f}× direct")

    # Scenario 5: aegis-flow with a plain HTTP listener.
    a = one(rows_of("memory"), target="aegis") or {}
    v = a.get("idle_rss_kib")
    add("5 memory", f"idle RSS ≤ {IDLE_RSS_MIB} MiB (plain HTTP, one worker)", "memory",
        None if v is None else f"{v / 1024:.1f} MiB", v is not None and v / 1024 <= IDLE_RSS_MIB)
    v = a.get("kib_per_conn_rss")
    add("5 memory", f"≤ {KIB_PER_CONN} KiB RSS per idle keep-alive connection", "memory",
        None if v is None else f"{v:.2f} KiB ({num(a.get('connections'))} connections)",
        v is not None and v <= KIB_PER_CONN)

    # Scenario 6: no number in the issue ("the per-core model holds").
    rows = rows_of("scale")

    def factor(target):
        return ratio((one(rows, target=target, workers=2) or {}).get("rps"),
                     (one(rows, target=target, workers=1) or {}).get("rps"))
    f_a, f_h = factor("aegis"), factor("haproxy")
    info("6 scale", "no numeric target: req/s(2 workers) / req/s(1), aegis-flow vs HAProxy 2.6", "scale",
         None if f_a is None or f_h is None else f"{f_a:.2f} vs {f_h:.2f}")
    return out


# --- sections -----------------------------------------------------------------------------

def section_http(run, rows, charts):
    order = [t for t in ("nginx", "aegis", "haproxy") if one(rows, target=t)]
    label = {"nginx": "nginx direct", "aegis": "aegis-flow", "haproxy": "HAProxy 2.6"}
    lines = [table(["target", "req/s", "p50 µs", "p99 µs", "errors", "proxy CPU %", "nginx CPU %"],
                   [[label[t], num(r["rps"]), num(r["p50_us"], 1), num(r["p99_us"], 1), num(r["errors"]),
                     num(r.get("proxy_cpu_pct")), num(r.get("nginx_cpu_pct"))] for t in order for r in [one(rows, target=t)]])]
    a, h = one(rows, target="aegis"), one(rows, target="haproxy")
    r = ratio(a and a["rps"], h and h["rps"])
    if r is not None:
        lines.append(f"aegis-flow / HAProxy req/s: **{r:.2f}×** (target ≥ {HTTP_RATIO}×).")
    lines.append(charts.bars("http", "HTTP/1.1 keep-alive, wrk", "req/s", [label[t] for t in order],
                             [("req/s", [one(rows, target=t)["rps"] for t in order])]))
    return lines


def section_mesh_rates(run, rows, charts):
    rate_rows = find(rows, row="rate")
    lines = [table(["mesh", "group", "cert", "rate", "achieved", "p50 µs", "p99 µs", "p99.9 µs", "+p50 µs", "+p99 µs"],
                   [[r["mesh"], r["group"], r["keytype"], num(r["rate_target"]),
                     num(r["rate_achieved"]) + (" *" if r.get("saturated") else ""), num(r["p50_us"]), num(r["p99_us"]),
                     num(r["p999_us"]), num(r.get("added_p50_us")), num(r.get("added_p99_us"))] for r in rate_rows]),
             "`+p50`/`+p99`: added latency, the mesh row minus the direct row measured just before it at the same "
             "rate. `*`: achieved below 95 % of the target rate (saturated: the latency is queueing)."]
    tput = find(rows, row="throughput")
    if tput:
        lines.append(table(["two-hop throughput, MLKEM1024 + ML-DSA-65", "req/s", "p99 µs", "tool"],
                           [[r["mesh"], num(r["rps"]), num(r["p99_us"]), f"`{r.get('tool', '?')}`"] for r in tput]))
    hs = find(rows, row="handshakes")
    if hs:
        lines.append("aegis-flow inbound handshakes per pass (pooling check): "
                     + ", ".join(f"{r['group']} + {r['keytype']}: {num(r['inbound_handshakes'])}" for r in hs) + ".")
    pq = [r for r in rate_rows if r["group"] == "MLKEM1024" and r["keytype"] == "mldsa65" and r["mesh"] != "direct"]
    rates = sorted({r["rate_target"] for r in pq})
    meshes = [m for m in ("aegis-flow", "haproxy-3.0") if any(r["mesh"] == m for r in pq)]
    if rates and meshes:
        def added(mesh, rate, field):  # None where the mesh or its direct baseline saturated
            r = one(pq, mesh=mesh, rate_target=rate) or {}
            d = one(rate_rows, mesh="direct", group="MLKEM1024", keytype="mldsa65", rate_target=rate) or {}
            return None if r.get("saturated") or d.get("saturated") else r.get(field)
        series = [(f"{m} {field[6:9]}", [added(m, x, field) for x in rates])
                  for m in meshes for field in ("added_p50_us", "added_p99_us")]
        lines.append(charts.bars("mesh-rates-added", "Added latency, MLKEM1024 + ML-DSA-65\n(saturated rows not drawn)",
                                 "µs", [f"{num(x)} req/s" for x in rates], series))
    if tput:
        lines.append(charts.bars("mesh-rates-throughput", "Two-hop throughput, MLKEM1024 + ML-DSA-65", "req/s",
                                 [r["mesh"] for r in tput], [("req/s", [r["rps"] for r in tput])]))
    return lines


def section_mesh(run, rows, charts):
    lines = []
    conns = sorted({r["connections"] for r in rows})
    for c in conns:
        rs = find(rows, connections=c)
        direct = one(rs, target="direct")
        lines.append(f"wrk -c{c}:")
        lines.append(table(["target", "req/s", "p50 µs", "p99 µs", "added p50 µs", "added p99 µs", "errors",
                            "server CPU µs/req", "handshakes/req"],
                           [[r["target"], num(r["rps"]), num(r["p50_us"], 1), num(r["p99_us"], 1),
                             num(r["p50_us"] - direct["p50_us"]) if direct and r["target"] != "direct" else "–",
                             num(r["p99_us"] - direct["p99_us"]) if direct and r["target"] != "direct" else "–",
                             num(r["errors"]), num(r["cpu_us_per_req"], 1), num(r.get("handshakes_per_req"), 2)] for r in rs]))
    if conns:
        rs = find(rows, connections=conns[0])
        lines.append(charts.bars("mesh", f"Two-sidecar mesh, wrk -c{conns[0]}", "µs", [r["target"] for r in rs],
                                 [("p50", [r["p50_us"] for r in rs]), ("p99", [r["p99_us"] for r in rs])]))
    return lines


def section_tls(run, rows, charts):
    lines = []
    for resumed in (False, True):
        combos = []
        for r in find(rows, resumed=resumed):
            if (r["cert"], r["group"]) not in combos:
                combos.append((r["cert"], r["group"]))
        if not combos:
            continue
        body = []
        for cert, group in combos:
            s = one(rows, server="s_server", resumed=resumed, cert=cert, group=group) or {}
            a = one(rows, server="aegis", resumed=resumed, cert=cert, group=group) or {}
            r = ratio(a.get("hs_per_s"), s.get("hs_per_s"))
            body.append([cert, group, num(s.get("hs_per_s")), num(a.get("hs_per_s")), "–" if r is None else f"{r:.2f}",
                         num(s.get("server_us_per_hs")), num(a.get("server_us_per_hs")), num(a.get("p50_us")),
                         num(a.get("client_cpu_pct"))] + ([num(a.get("resumed_pct"), 1)] if resumed else []))
        lines.append("Resumed handshakes (TLS 1.3 tickets):" if resumed else "Full handshakes (no resumption):")
        lines.append(table(["cert", "group", "s_server hs/s", "aegis-flow hs/s", "aegis / s_server", "s_server µs/hs",
                            "aegis µs/hs", "aegis p50 µs", "client CPU %"] + (["resumed %"] if resumed else []), body))
        if not resumed:
            lines.append(charts.bars("tls", "Full TLS 1.3 handshakes/s", "handshakes/s", [f"{c}\n{g}" for c, g in combos],
                                     [(srv, [(one(rows, server=key, resumed=False, cert=c, group=g) or {}).get("hs_per_s")
                                             for c, g in combos]) for srv, key in (("openssl s_server", "s_server"),
                                                                                    ("aegis-flow", "aegis"))]))
    lines.append("µs/hs: the server's CPU per handshake; client CPU % near 100 × its CPUs means the load "
                 "generator, not the server, was the limit.")
    wire = []
    for r in find(rows, server="aegis", resumed=False):
        res = one(rows, server="aegis", resumed=True, cert=r["cert"], group=r["group"]) or {}
        wire.append([r["cert"], r["group"], num(r.get("c2s_bytes")), num(r.get("s2c_bytes")),
                     num(res.get("c2s_bytes")), num(res.get("s2c_bytes"))])
    if wire:
        lines.append("TLS bytes on the wire per aegis-flow handshake (records, no TCP/IP headers):")
        lines.append(table(["cert", "group", "full c→s", "full s→c", "resumed c→s", "resumed s→c"], wire))
    return lines


def section_attest(run, rows, charts):
    lines = [table(["listener", "handshakes/s", "server µs/hs", "errors"],
                   [[r["listener"], num(r["hs_per_s"]), num(r["server_us_per_hs"]), num(r["errors"])] for r in rows])]
    p, a = one(rows, listener="plain"), one(rows, listener="attested")
    if p and a and ratio(a["server_us_per_hs"], p["server_us_per_hs"]) is not None:
        lines.append(f"attested / plain: {ratio(a['hs_per_s'], p['hs_per_s']):.2f}× handshakes/s, "
                     f"{ratio(a['server_us_per_hs'], p['server_us_per_hs']):.2f}× server CPU per handshake.")
    lines.append(charts.bars("attest", "Attested vs plain mTLS handshakes", "handshakes/s", [r["listener"] for r in rows],
                             [("handshakes/s", [r["hs_per_s"] for r in rows])]))
    return lines


def section_h2(run, rows, charts):
    label = {"nginx": "nginx h2c direct", "aegis": "aegis-flow h2c→h1", "haproxy": "HAProxy 2.6 h2c→h1",
             "aegis_h2": "aegis-flow h2c→h2c", "haproxy_h2": "HAProxy 2.6 h2c→h2c"}
    lines = [table(["target", "req/s", "mean µs", "errors", "proxy CPU %", "nginx CPU %"],
                   [[label.get(r["target"], r["target"]), num(r["rps"]), num(r["mean_us"], 1), num(r["errors"]),
                     num(r.get("proxy_cpu_pct")), num(r.get("nginx_cpu_pct"))] for r in rows])]
    lines.append(charts.bars("h2", "HTTP/2 (h2load)", "req/s", [label.get(r["target"], r["target"]) for r in rows],
                             [("req/s", [r["rps"] for r in rows])]))
    return lines


def section_grpc(run, rows, charts):
    lines = [table(["path", "calls/s", "mean µs", "non-2xx", "h2load done", "server OK"],
                   [[r["target"], num(r["calls_per_s"]), num(r["mean_us"], 1), num(r["non2xx"]), num(r["h2load_done"]),
                     num(r["server_ok"])] for r in rows]),
             "The Python gRPC server is the ceiling of both rows; the ratio is what the mesh costs under it."]
    lines.append(charts.bars("grpc", "gRPC unary calls/s", "calls/s", [r["target"] for r in rows],
                             [("calls/s", [r["calls_per_s"] for r in rows])]))
    return lines


def section_memory(run, rows, charts):
    lines = [table(["target", "idle RSS MiB", "RSS with N MiB", "KiB/conn RSS", "idle PSS MiB", "KiB/conn PSS",
                    "after close MiB", "N", "server conns"],
                   [[r["target"], num(r["idle_rss_kib"] / 1024, 1), num(r["n_rss_kib"] / 1024, 1),
                     num(r["kib_per_conn_rss"], 2), num(r["idle_pss_kib"] / 1024, 1), num(r["kib_per_conn_pss"], 2),
                     num(r["closed_rss_kib"] / 1024, 1), num(r["connections"]), num(r["server_conns"])] for r in rows])]
    names = [r["target"] for r in rows]
    lines.append(charts.bars("memory", "Memory per idle keep-alive connection", "KiB RSS per connection", names,
                             [("KiB/conn", [r["kib_per_conn_rss"] for r in rows])], line=(KIB_PER_CONN, "target")))
    return lines


def section_scale(run, rows, charts):
    lines = [table(["target", "workers", "req/s", "p50 µs", "p99 µs", "mean µs", "proxy CPU %", "req/s per proxy core",
                    "req/s min–max"],
                   [[r["target"], r["workers"], num(r["rps"]), num(r.get("p50_us"), 1), num(r.get("p99_us"), 1),
                     num(r.get("mean_us")), num(r["proxy_cpu_pct"]), num(r["req_per_core"]),
                     f"{num(r.get('rps_min'))}–{num(r.get('rps_max'))}"] for r in rows])]
    targets_ = []
    for r in rows:
        if r["target"] not in targets_:
            targets_.append(r["target"])
    factors = []
    for t in targets_:
        f = ratio((one(rows, target=t, workers=2) or {}).get("rps"), (one(rows, target=t, workers=1) or {}).get("rps"))
        if f is not None:
            factors.append(f"{t} {f:.2f}")
    if factors:
        lines.append("Scaling factor req/s(W=2) / req/s(W=1): " + ", ".join(factors)
                     + " (on 2 CPUs shared with the load generator and nginx, 2.00 is out of reach; compare the proxies).")
    workers = sorted({r["workers"] for r in rows})
    lines.append(charts.bars("scale", "req/s with 1 and 2 workers", "req/s", targets_,
                             [(f"W={w}", [(one(rows, target=t, workers=w) or {}).get("rps") for t in targets_])
                              for w in workers]))
    return lines


# (suite, heading, script, method anchor, section writer), in the doc's order.
SECTIONS = [
    ("http", "1. HTTP/1.1 keep-alive", "bench/run.sh", "http11-keep-alive-benchrunsh", section_http),
    ("mesh-rates", "2. Two-hop mesh: added latency at fixed rates and throughput", "bench/mesh_rates.sh",
     "added-latency-at-fixed-rates-benchmesh_ratessh", section_mesh_rates),
    ("mesh", "2b. Two-sidecar mesh, closed loop", "bench/mesh.sh", "two-sidecar-mesh-latency-benchmeshsh",
     section_mesh),
    ("tls", "3. TLS 1.3 handshakes", "bench/tls.sh", "tls-handshake-rates-benchtlssh", section_tls),
    ("attest", "3b. Attested handshakes", "bench/attest.sh", "attested-handshakes-benchattestsh", section_attest),
    ("h2", "4. HTTP/2", "bench/h2.sh", "http2-benchh2sh", section_h2),
    ("grpc", "4b. gRPC through the mesh", "bench/grpc.sh", "grpc-through-the-mesh-benchgrpcsh", section_grpc),
    ("memory", "5. Memory, idle and per connection", "bench/memory.sh", "memory-benchmemorysh", section_memory),
    ("scale", "6. One and two workers", "bench/scale.sh", "scale-one-and-two-workers-benchscalesh", section_scale),
]


def anchor(heading):
    """GitHub's heading anchor."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def render(runs, charts):
    out = ["# Benchmarks", "",
           "<!-- generated by bench/report.py from bench/results/*.json; do not edit -->",
           "Generated by `bench/report.py`; do not edit. `make bench` regenerates it from every "
           "`bench/results/YYYY-MM-DD.json`, taking each suite's newest run; how the suites measure, how to run "
           f"them and their limitations are in [{METHODS}]({METHODS}).", "",
           "## Targets (issue 8)", "",
           "Status: PASS or MISS against the issue's target, computed from the newest run of the suite; "
           "`info` where the issue sets no number. A QUICK run's numbers are indicative only.", ""]
    out.append(table(["scenario", "target", "measured", "status", "run"], targets(runs)))
    out += ["", "Why targets are missed on this machine, what the profiles show and what was fixed: "
            f"[{METHODS}, where the time goes]({METHODS}#where-the-time-goes-profiles-issue-8)."]
    out += ["", "## Runs", ""]
    out.append(table(["suite", "run (UTC)", "commit", "load before", "exit", "took", "results file"],
                     [[f"[{name}](#{anchor(h)})", run_label(runs[name]["run"]), runs[name]["run"].get("commit", "?"),
                       runs[name]["run"].get("load_before", "?"), runs[name]["run"].get("exit", "?"),
                       f"{runs[name]['run'].get('seconds', '?')} s", f"`bench/results/{runs[name]['file']}`"]
                      if name in runs else [name, "not measured yet", "", "", "", "", ""]
                      for name, h, *_ in SECTIONS]))
    for name, heading, script, method, writer in SECTIONS:
        out += ["", f"## {heading}", "", f"`{script}`; how it measures: [{METHODS}]({METHODS}#{method}).", ""]
        if name not in runs:
            out.append("Not measured yet: no run in `bench/results/` has rows of this suite.")
            continue
        if not runs[name]["rows"]:
            run = runs[name]["run"]
            out.append(f"Not measured yet: the newest run ({run_label(run)}, exit {run.get('exit', '?')}) "
                       "failed before it measured anything.")
            continue
        run = runs[name]["run"]
        out += [run_line(run), ""]
        for block in writer(run, runs[name]["rows"], charts):
            out += [block, ""]
        out.pop()
    out += ["", "## Machines, versions and commands", ""]
    if not runs:
        out.append("No run yet.")
        return "\n".join(out) + "\n"
    groups = {}
    for name, *_ in SECTIONS:
        if name in runs:
            run = runs[name]["run"]
            key = json.dumps([run.get("machine"), run.get("versions")], sort_keys=True)
            groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        machine, versions = json.loads(key)
        m = machine or {}
        out.append(f"Suites {', '.join(names)}: {m.get('cpus', '?')} CPUs, {m.get('cpu', '?')}, "
                   f"{m.get('ram_gib', '?')} GiB RAM, {m.get('kernel', '?')}; versions:")
        out.append("")
        out += [f"- {tool}: {v or 'not found'}" for tool, v in sorted((versions or {}).items())]
        out.append("")
    out.append("Exact commands (run by `bench/run_suites.sh`, the `make bench` recipe, from the repository root):")
    out += ["", "```"]
    for name, *_ in SECTIONS:
        if name in runs:
            run = runs[name]["run"]
            out += [f"# {name}, {run_label(run)}",
                    run.get("command", "(not recorded: the rows did not come from make bench)")]
    out.append("```")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jsonl", help="one run's rows to merge first (bench/run_suites.sh writes them)")
    p.add_argument("--meta", help="a JSON object with the run's metadata instead of probing this machine (tests)")
    p.add_argument("--aegis-bin", help="the aegis-flow binary measured (its version is recorded)")
    p.add_argument("--haproxy3-bin", help="the HAProxy 3.0 binary of bench/haproxy3.sh (its version is recorded)")
    p.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    p.add_argument("--charts-dir", default=os.path.join(ROOT, "docs", "bench"))
    args = p.parse_args()
    if args.jsonl:
        merge_run(args)
    runs = newest_runs(args.results_dir)
    charts = Charts(args.charts_dir, os.path.dirname(os.path.abspath(args.doc)))
    text = render(runs, charts)
    charts.remove_stale()
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"report.py: wrote {args.doc} ({len(runs)} suite(s) with results) and {len(charts.written)} chart(s) "
          f"in {args.charts_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
