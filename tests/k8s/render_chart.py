#!/usr/bin/python3
"""A test renderer for deploy/helm/aegis-flow: a small subset of Helm's templates.

Helm is not packaged in Debian 12, so the chart is written in a subset this
script implements exactly, and anything else is an error (so the chart cannot
drift into what is not tested here):

  {{ .Values.a.b }}  {{ .Release.Name }}  {{ .Release.Namespace }}
  {{ .Chart.Name }}  {{ .Chart.Version }}  {{ .Chart.AppVersion }}
  {{ X | quote }}  {{ toYaml X | nindent N }}  {{ X | indent N }}
  {{ include "name" . }} (of a {{ define "name" }} in a _*.tpl file, maybe | nindent N)
  {{ if .Values.x }} ... {{ end }}   {{/* comments */}}   {{- and -}} trimming

A value that is missing is an error too (Helm would print nothing).

  render_chart.py CHART_DIR [--release NAME] [--namespace NS]   rendered manifests on stdout
  render_chart.py --self-test
"""
import json
import pathlib
import re
import sys

import yaml

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


class TemplateError(Exception):
    pass


def tokenize(text, source):
    """Text and actions, with {{- and -}} applied to the neighbouring text."""
    tokens, pos = [], 0
    for m in ACTION.finditer(text):
        before = text[pos:m.start()]
        if m.group(1):
            before = before.rstrip(" \t\r\n")
        tokens.append(("text", before))
        tokens.append(("action", m.group(2).strip(), f"{source}:{text.count(chr(10), 0, m.start()) + 1}",
                       bool(m.group(3))))
        pos = m.end()
    tokens.append(("text", text[pos:]))
    # apply right trims
    out = []
    trim_next = False
    for t in tokens:
        if t[0] == "text":
            out.append(("text", t[1].lstrip(" \t\r\n") if trim_next else t[1]))
            trim_next = False
        else:
            out.append(t[:3])
            trim_next = t[3]
    return out


def parse(tokens, defines, i=0, closing=False):
    """A list of nodes: ("text", s), ("expr", pipeline, where), ("if", path, where, body)."""
    nodes = []
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t[0] == "text":
            nodes.append(t)
            continue
        action, where = t[1], t[2]
        if action.startswith("/*") and action.endswith("*/"):
            continue
        if action == "end":
            if not closing:
                raise TemplateError(f"{where}: end without if/define")
            return nodes, i
        m = re.fullmatch(r'define\s+"([^"]+)"', action)
        if m:
            body, i = parse(tokens, defines, i, closing=True)
            defines[m.group(1)] = body
            continue
        m = re.fullmatch(r"if\s+(\.Values(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", action)
        if m:
            body, i = parse(tokens, defines, i, closing=True)
            nodes.append(("if", m.group(1), where, body))
            continue
        nodes.append(("expr", action, where))
    if closing:
        raise TemplateError("a define or if is never closed with end")
    return nodes, i


def lookup(path, ctx, where):
    m = re.fullmatch(r"\.(Values|Release|Chart)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", path)
    if not m:
        raise TemplateError(f"{where}: {path!r} is not in the supported subset")
    value = ctx[m.group(1)]
    for key in m.group(2)[1:].split("."):
        if not isinstance(value, dict) or key not in value:
            raise TemplateError(f"{where}: {path} is not set")
        value = value[key]
    return value


def to_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) or value is None:
        raise TemplateError(f"printing {type(value).__name__} needs toYaml")
    return str(value)


def indent(text, n):
    return "\n".join((" " * n + line) if line else line for line in text.split("\n"))


def evaluate(pipeline, ctx, defines, where):
    commands = [c.strip() for c in pipeline.split("|")]
    head = commands[0]
    m = re.fullmatch(r'include\s+"([^"]+)"\s+\.', head)
    if m:
        if m.group(1) not in defines:
            raise TemplateError(f"{where}: include of undefined {m.group(1)!r}")
        value = render_nodes(defines[m.group(1)], ctx, defines)
    elif head.startswith("toYaml "):
        value = yaml.safe_dump(lookup(head[len("toYaml "):].strip(), ctx, where), default_flow_style=False,
                               sort_keys=True).rstrip("\n")
    else:
        value = lookup(head, ctx, where)
    for command in commands[1:]:
        words = command.split()
        if words == ["quote"]:
            value = json.dumps(to_text(value))
        elif len(words) == 2 and words[0] in ("nindent", "indent") and words[1].isdigit():
            value = ("\n" if words[0] == "nindent" else "") + indent(to_text(value), int(words[1]))
        else:
            raise TemplateError(f"{where}: {command!r} is not in the supported subset (quote, nindent N, indent N)")
    return to_text(value)


def truthy(value):
    return value not in (None, False, 0, "", [], {})


def render_nodes(nodes, ctx, defines):
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "expr":
            out.append(evaluate(node[1], ctx, defines, node[2]))
        elif truthy(lookup(node[1], ctx, node[2])):
            out.append(render_nodes(node[3], ctx, defines))
    return "".join(out)


def render_chart(chart_dir, release="aegis-flow", namespace="aegis-flow", values=None):
    chart_dir = pathlib.Path(chart_dir)
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    ctx = {
        "Values": values if values is not None else yaml.safe_load((chart_dir / "values.yaml").read_text()),
        "Release": {"Name": release, "Namespace": namespace},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    }
    defines, files = {}, []
    for path in sorted((chart_dir / "templates").iterdir()):
        nodes, _ = parse(tokenize(path.read_text(), path.name), defines)
        if path.name.startswith("_"):
            if "".join(n[1] for n in nodes if n[0] == "text").strip():
                raise TemplateError(f"{path.name}: a helper file may hold only defines")
        else:
            files.append((path, nodes))
    out = []
    for path, nodes in files:
        text = render_nodes(nodes, ctx, defines)
        if text.strip():
            out.append(f"---\n# Source: {chart['name']}/templates/{path.name}\n{text.strip(chr(10))}\n")
    return "".join(out)


def self_test():
    import tempfile
    failures = []
    refused = ['{{ default "x" .Values.a }}', "{{ range .Values.l }}{{ end }}", "{{ .Values.missing }}",
               "{{ .Values.a | upper }}", "{{ if .Values.a }}", "{{ $x := 1 }}", "{{ .Capabilities.KubeVersion }}"]
    with tempfile.TemporaryDirectory() as d:
        chart = pathlib.Path(d)
        (chart / "templates").mkdir()
        (chart / "Chart.yaml").write_text("name: c\nversion: 1.0.0\nappVersion: '2'\n")
        (chart / "values.yaml").write_text("a: x\nm: {k: [1, 2]}\nflag: false\n")
        tpl = chart / "templates" / "t.yaml"
        for text in refused:
            tpl.write_text(text)
            try:
                render_chart(chart)
                failures.append(f"rendered {text!r}")
            except TemplateError:
                pass
        (chart / "templates" / "_h.tpl").write_text('{{- define "n" -}}\nname: {{ .Chart.Name }}\n{{- end }}\n')
        tpl.write_text('a: {{ .Values.a | quote }}\nm:\n  {{- toYaml .Values.m | nindent 2 }}\n'
                       'meta:\n  {{- include "n" . | nindent 2 }}\n{{- if .Values.flag }}\nno: 1\n{{- end }}\n'
                       'r: {{ .Release.Name }}-{{ .Chart.AppVersion }}\n')
        got = render_chart(chart, release="rel")
        want = '---\n# Source: c/templates/t.yaml\na: "x"\nm:\n  k:\n  - 1\n  - 2\nmeta:\n  name: c\nr: rel-2\n'
        if got != want:
            failures.append(f"rendered {got!r}, expected {want!r}")
    for f in failures:
        print("FAIL", f)
    print("render_chart self-test:", "FAILED" if failures else "OK")
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    opts = dict(zip(argv[1::2], argv[2::2]))
    try:
        sys.stdout.write(render_chart(argv[0], opts.get("--release", "aegis-flow"),
                                      opts.get("--namespace", "aegis-flow")))
    except TemplateError as e:
        print(f"render_chart: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
