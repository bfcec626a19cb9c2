#!/usr/bin/python3
"""A static check of the Dockerfile (no container engine here to build it).

  check_dockerfile.py DOCKERFILE AEGIS_FLOW

- two stages: `FROM debian:12 AS build` that runs `make build`, then a
  `FROM debian:12-slim` runtime stage;
- the runtime stage installs, with apt-get, a package for every shared library
  `ldd AEGIS_FLOW` reports (mapped with `dpkg -S` on this Debian 12 host), plus
  iptables, ca-certificates and curl; OpenSSL is not among the libraries (it is
  linked statically);
- it copies only the binary from the build stage, to /usr/local/bin/aegis-flow,
  creates user and group 1337, ends as `USER 1337:1337` with
  `ENTRYPOINT ["/usr/local/bin/aegis-flow"]`.
"""
import json
import os
import re
import shlex
import subprocess
import sys


def instructions(text):
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(instrs):
    result = []
    for word, rest in instrs:
        if word == "FROM":
            result.append({"from": rest, "instrs": []})
        elif result:
            result[-1]["instrs"].append((word, rest))
    return result


def apt_packages(stage):
    pkgs = set()
    for word, rest in stage["instrs"]:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            args = shlex.split(command)
            if "apt-get" in args and "install" in args:
                pkgs.update(a for a in args[args.index("install") + 1:] if not a.startswith("-"))
    return pkgs


def library_packages(binary):
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = {}
    for line in ldd.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if not m:
            continue
        path = m.group(1)
        owner = None
        for candidate in (os.path.realpath(path), path, "/usr" + path):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        libs[path] = owner
    return libs


def check(dockerfile, binary):
    problems = []
    st = stages(instructions(open(dockerfile, encoding="utf-8").read()))
    if len(st) != 2:
        return [f"expected 2 stages, found {len(st)}"]
    build, runtime = st
    if not re.fullmatch(r"debian:12 AS build", build["from"], re.I):
        problems.append(f"build stage is FROM {build['from']!r}, expected 'debian:12 AS build'")
    if not any(w == "RUN" and "make build" in r for w, r in build["instrs"]):
        problems.append("the build stage does not run `make build`")
    if not runtime["from"].startswith("debian:12-slim"):
        problems.append(f"runtime stage is FROM {runtime['from']!r}, expected debian:12-slim")

    pkgs = apt_packages(runtime)
    for needed in ("iptables", "ca-certificates", "curl"):
        if needed not in pkgs:
            problems.append(f"the runtime stage does not install {needed}")
    libs = library_packages(binary)
    for lib, owner in sorted(libs.items()):
        if re.search(r"lib(ssl|crypto)\.so", lib):
            problems.append(f"{lib}: OpenSSL should be linked statically")
        if owner is None:
            problems.append(f"{lib}: no Debian package owns it (dpkg -S)")
        elif owner not in pkgs:
            problems.append(f"{lib} comes from {owner}, which the runtime stage does not install")
    unused = pkgs - set(libs.values()) - {"iptables", "ca-certificates", "curl"}
    if unused:
        problems.append(f"the runtime stage installs packages the binary does not need: {sorted(unused)}")

    rt = runtime["instrs"]
    copies = [r for w, r in rt if w == "COPY"]
    if copies != ["--from=build /src/build/release/aegis-flow /usr/local/bin/aegis-flow"]:
        problems.append(f"the runtime stage should copy only the binary; COPY lines: {copies}")
    runs = " ".join(r for w, r in rt if w == "RUN")
    if not re.search(r"groupadd .*--gid 1337 aegis", runs) or not re.search(r"useradd .*--uid 1337 .*aegis", runs):
        problems.append("the runtime stage does not create group and user 1337 (aegis)")
    users = [r for w, r in rt if w == "USER"]
    if users[-1:] != ["1337:1337"]:
        problems.append(f"the image must end as USER 1337:1337, has {users}")
    entry = [r for w, r in rt if w == "ENTRYPOINT"]
    if not entry or json.loads(entry[-1]) != ["/usr/local/bin/aegis-flow"]:
        problems.append(f"ENTRYPOINT should be [\"/usr/local/bin/aegis-flow\"], is {entry}")
    if any(w == "VOLUME" for w, _ in rt):
        problems.append("no VOLUME: the pod mounts /tmp as an emptyDir")
    print(f"libraries: {', '.join(sorted(set(v for v in libs.values() if v)))}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check(*argv)
    for p in problems:
        print("FAIL", p)
    print("Dockerfile:", "FAILED" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
