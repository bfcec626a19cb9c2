#!/usr/bin/python3
"""`aegis-flow validate` on the sidecars' mesh config (deploy/sidecar.yaml).

  check_mesh_config.py AEGIS_FLOW CONFIG

validate reads the certificate files, so this mints an identity in the
cert-manager layout (tls.crt, tls.key, ca.crt) with `aegis-flow certs` into a
temporary directory and points /etc/aegis-flow/identity/ there. The config
uses transparent listeners, original_dst clusters and services:, which other
branches add: until they are merged this fails on those fields.
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

IDENTITY_DIR = "/etc/aegis-flow/identity/"


def validate_mesh_config(binary, text):
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        run = lambda *args: subprocess.run([binary, "certs", *args], check=True, capture_output=True)  # noqa: E731
        run("init-ca", "--trust-domain", "cluster.local", "--key-type", "mldsa65", "--out", str(d / "ca"))
        run("issue", "--ca", str(d / "ca"), "--spiffe-id", "spiffe://cluster.local/ns/default/sa/example",
            "--key-type", "mldsa65", "--days", "30", "--out", str(d / "id"))
        identity = d / "identity"
        identity.mkdir()
        shutil.copy(d / "id" / "cert.pem", identity / "tls.crt")
        shutil.copy(d / "id" / "key.pem", identity / "tls.key")
        shutil.copy(d / "ca" / "ca.crt", identity / "ca.crt")
        config = d / "config.yaml"
        config.write_text(text.replace(IDENTITY_DIR, str(identity) + "/"))
        return subprocess.run([binary, "validate", "-c", str(config)]).returncode


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    return validate_mesh_config(argv[0], pathlib.Path(argv[1]).read_text())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
