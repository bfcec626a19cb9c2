#!/usr/bin/python3
"""The Helm chart with its default values, rendered by render_chart.py.

  check_chart.py CHART_DIR
      renderer self-test; every object valid (validate_objects.py); the
      ConfigMap's config.yaml is deploy/sidecar.yaml; the CA bootstrap's Role
      allows only get/create on secrets, in the release namespace; the hooks run
      the ServiceAccount and RBAC before the Job.
  check_chart.py CHART_DIR --validate-mesh-config AEGIS_FLOW
      the ConfigMap's config.yaml through `aegis-flow validate -c` (check_mesh_config.py).
"""
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import check_mesh_config  # noqa: E402
import render_chart  # noqa: E402
import validate_objects  # noqa: E402

NAMESPACE = "mesh-system"


def mesh_config(objects):
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return cm["data"]["config.yaml"]


def check(chart_dir):
    problems = []
    if render_chart.self_test() != 0:
        problems.append("the renderer's self-test failed")
    text = render_chart.render_chart(chart_dir, release="mesh", namespace=NAMESPACE)
    count, errors = validate_objects.validate_text(text, "chart")
    problems += errors
    objects = [o for o in yaml.safe_load_all(text) if o]
    kinds = sorted(o["kind"] for o in objects)
    if kinds != ["ConfigMap", "Job", "Role", "RoleBinding", "ServiceAccount"]:
        problems.append(f"unexpected objects: {kinds}")
    for o in objects:
        if o["metadata"].get("namespace") != NAMESPACE:
            problems.append(f"{o['kind']} is not in the release namespace")
    sidecar = yaml.safe_load((HERE.parent.parent / "deploy" / "sidecar.yaml").read_text())
    if yaml.safe_load(mesh_config(objects)) != sidecar:
        problems.append("the ConfigMap's config.yaml differs from deploy/sidecar.yaml")
    for o in objects:
        if o["kind"] == "Role" and o["rules"] != [{"apiGroups": [""], "resources": ["secrets"],
                                                  "verbs": ["get", "create"]}]:
            problems.append(f"the Role allows more than get/create on secrets: {o['rules']}")
        if o["kind"] in ("ServiceAccount", "Role", "RoleBinding", "Job"):
            ann = o["metadata"].get("annotations", {})
            want = "0" if o["kind"] == "Job" else "-10"
            if ann.get("helm.sh/hook") != "pre-install" or ann.get("helm.sh/hook-weight") != want:
                problems.append(f"{o['kind']}: not a pre-install hook of weight {want}")
    (job,) = [o for o in objects if o["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    script = pod["containers"][0]["args"][0]
    for needed in ("aegis-flow certs init-ca", "Authorization: Bearer", "-X POST", '"$code" = 200'):
        if needed not in script:
            problems.append(f"the CA bootstrap script lacks {needed!r}")
    if pod["containers"][0]["securityContext"].get("readOnlyRootFilesystem") is not True:
        problems.append("the CA bootstrap container's root filesystem is writable")
    for p in problems:
        print("FAIL", p)
    print(f"chart: {count} object(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def validate_mesh_config(chart_dir, binary):
    objects = [o for o in yaml.safe_load_all(render_chart.render_chart(chart_dir)) if o]
    return check_mesh_config.validate_mesh_config(binary, mesh_config(objects))


def main(argv):
    if len(argv) == 1:
        return check(argv[0])
    if len(argv) == 3 and argv[1] == "--validate-mesh-config":
        return validate_mesh_config(argv[0], argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
