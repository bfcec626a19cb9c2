#!/usr/bin/python3
"""`aegis-flow inject` on one fixture: golden output, valid objects, idempotence.

  check_inject.py AEGIS_FLOW FIXTURE              compare with golden/<fixture>
  AEGIS_UPDATE_GOLDEN=1 check_inject.py ...       rewrite golden/<fixture> instead
  check_inject.py AEGIS_FLOW --refused FIXTURE TEXT...
      inject must exit 2, write nothing on stdout, and say each TEXT on stderr

The version in the aegis-flow.io/version annotation and the default image is
written as @VERSION@ in the golden files, so a version bump does not touch them.
"""
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import validate_objects  # noqa: E402

# Extra inject options per fixture (the others get the defaults).
OPTIONS = {
    "deployment.yaml": ["--exclude-inbound-ports", "9090", "--exclude-outbound-cidrs", "169.254.169.254/32",
                        "--exclude-outbound-ports", "5432,6379", "--runtime-class", "kata-qemu-snp"],
    "statefulset.yaml": ["--image", "registry.example/aegis-flow:1.0", "--proxy-uid", "2000",
                         "--identity-secret", "db-identity", "--config-map", "mesh-db"],
}


def run(binary, args, stdin=None):
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True)


def version(binary):
    return run(binary, ["version"]).stdout.split()[1]


def fail(msg):
    print("FAIL:", msg)
    return 1


def check_fixture(binary, fixture):
    name = pathlib.Path(fixture).name
    first = run(binary, ["inject", "-f", fixture, *OPTIONS.get(name, [])])
    if first.returncode != 0:
        return fail(f"inject exited {first.returncode}: {first.stderr}")
    if first.stderr:
        print("stderr:", first.stderr, end="")
    out = first.stdout.replace(version(binary), "@VERSION@")
    golden = HERE / "golden" / name
    if os.environ.get("AEGIS_UPDATE_GOLDEN"):
        golden.write_text(out)
        print(f"wrote {golden}")
    elif not golden.exists() or golden.read_text() != out:
        subprocess.run(["diff", "-u", str(golden), "-"], input=out, text=True)
        return fail(f"output differs from {golden} (AEGIS_UPDATE_GOLDEN=1 rewrites it after review)")

    count, errors = validate_objects.validate_text(first.stdout, name)
    for e in errors:
        print(e)
    if errors or count == 0:
        return fail(f"{len(errors)} schema error(s) in the injected objects")

    second = run(binary, ["inject", "-f", "-", *OPTIONS.get(name, [])], stdin=first.stdout)
    if second.returncode != 0 or second.stdout != first.stdout:
        subprocess.run(["diff", "-u", "-", "/dev/stdin"], input=first.stdout, text=True)
        return fail("injecting the injected output changed it (or failed: " + second.stderr + ")")
    print(f"{name}: golden, {count} valid object(s), idempotent")
    return 0


def check_refused(binary, fixture, expected):
    r = run(binary, ["inject", "-f", fixture])
    if r.returncode != 2:
        return fail(f"exit {r.returncode}, expected 2; stderr: {r.stderr}")
    if r.stdout:
        return fail(f"wrote output although refused: {r.stdout[:200]}")
    missing = [t for t in expected if t not in r.stderr]
    if missing:
        return fail(f"stderr lacks {missing}: {r.stderr}")
    print("refused as expected:", r.stderr, end="")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--refused":
        return check_refused(argv[0], argv[2], argv[3:])
    if len(argv) == 2:
        return check_fixture(argv[0], argv[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
