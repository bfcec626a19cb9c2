#!/usr/bin/python3
"""Strict schema check of Kubernetes objects, without a cluster.

Each object (multi-document YAML files, or `-` for stdin) is walked against the
API models of Debian's python3-kubernetes (the client generated from the
Kubernetes OpenAPI spec): apiVersion/kind pick the model class (V1Deployment...),
every field must be in the model's attribute_map (unknown fields are errors,
as with `kubectl apply --validate=strict`), every value must have the model's
type (str, int, bool, float, dict(str, X), list[X], nested models), and the
fields whose setter refuses None (client_side_validation) must be present.
Errors carry the path, e.g. `spec.template.spec.containers[1].ports[0].containerPort`.

  validate_objects.py FILE...      exit 0 if every object is valid, 1 otherwise
  validate_objects.py --self-test  checks that wrong objects are refused
"""
import datetime
import re
import sys

import yaml
from kubernetes import client

# apiVersion, kind -> model class. Only these are accepted: an object of any
# other kind is an error (we would not be checking it).
MODELS = {
    ("v1", "Pod"): "V1Pod",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("v1", "ReplicationController"): "V1ReplicationController",
    ("v1", "List"): None,  # items checked one by one
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("apps/v1", "ReplicaSet"): "V1ReplicaSet",
    ("batch/v1", "Job"): "V1Job",
    ("batch/v1", "CronJob"): "V1CronJob",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
    ("networking.k8s.io/v1", "Ingress"): "V1Ingress",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "V1HorizontalPodAutoscaler",
    ("node.k8s.io/v1", "RuntimeClass"): "V1RuntimeClass",
}

_required_cache = {}


def _config():
    c = client.Configuration()
    c.client_side_validation = True
    return c


def _blank(cls):
    obj = cls.__new__(cls)
    obj.local_vars_configuration = _config()
    obj.discriminator = None
    for attr in cls.openapi_types:
        setattr(obj, "_" + attr, None)
    return obj


def required_fields(cls):
    """The attributes whose setter raises on None: the model's required fields."""
    if cls not in _required_cache:
        req = set()
        obj = _blank(cls)
        for attr in cls.openapi_types:
            try:
                setattr(obj, attr, None)
            except ValueError:
                req.add(attr)
        _required_cache[cls] = req
    return _required_cache[cls]


def type_name(v):
    return {dict: "map", list: "list", str: "string", bool: "bool", int: "int", float: "float"}.get(
        type(v), type(v).__name__)


def check(value, typ, path, errors):
    if value is None:
        return  # null is "absent" in the API; required fields are checked by the parent
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type_name(value)}")
            return
        for i, item in enumerate(value):
            if item is None:
                errors.append(f"{path}[{i}]: null list item")
            else:
                check(item, m.group(1), f"{path}[{i}]", errors)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type_name(value)}")
            return
        for k, v in value.items():
            if not isinstance(k, str):
                errors.append(f"{path}: key {k!r} is a {type_name(k)}, not a string")
            check(v, m.group(1), f"{path}.{k}", errors)
        return
    if typ == "str":
        ok = isinstance(value, str)
    elif typ == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif typ == "bool":
        ok = isinstance(value, bool)
    elif typ == "datetime":
        ok = isinstance(value, (str, datetime.datetime, datetime.date))
    elif typ == "object":
        ok = True  # IntOrString and free-form fields
    else:
        cls = getattr(client, typ, None)
        if cls is None:
            errors.append(f"{path}: the model {typ} is not in python3-kubernetes")
            return
        check_model(value, cls, path, errors)
        return
    if not ok:
        errors.append(f"{path}: expected {typ}, got {type_name(value)} {value!r}")


def check_model(value, cls, path, errors):
    if not isinstance(value, dict):
        errors.append(f"{path or '.'}: expected a {cls.__name__} map, got {type_name(value)}")
        return
    by_key = {key: attr for attr, key in cls.attribute_map.items()}
    prefix = path + "." if path else ""
    for key, v in value.items():
        attr = by_key.get(key)
        if attr is None:
            errors.append(f"{prefix}{key}: unknown field of {cls.__name__}")
            continue
        before = len(errors)
        check(v, cls.openapi_types[attr], prefix + key, errors)
        if len(errors) == before and isinstance(v, (str, int, bool)):
            try:  # the setter's own checks (allowed values) on scalars
                setattr(_blank(cls), attr, v)
            except ValueError as e:
                errors.append(f"{prefix}{key}: {e}")
    for attr in sorted(required_fields(cls)):
        key = cls.attribute_map[attr]
        if value.get(key) is None:
            errors.append(f"{prefix}{key}: required field of {cls.__name__} is missing")


def validate(obj, label="object"):
    """The errors of one object, each prefixed with its label, kind and name."""
    if not isinstance(obj, dict):
        return [f"{label}: not a map"]
    api, kind = obj.get("apiVersion"), obj.get("kind")
    name = (obj.get("metadata") or {}).get("name", "")
    where = f"{label} ({kind} {name})"
    if (api, kind) not in MODELS:
        return [f"{where}: apiVersion {api!r} kind {kind!r} is not one this validator knows"]
    if kind == "List":
        errors = []
        for i, item in enumerate(obj.get("items") or []):
            errors += validate(item, f"{label} item {i + 1}")
        return errors
    errors = []
    check_model(obj, getattr(client, MODELS[(api, kind)]), "", errors)
    return [f"{where}: {e}" for e in errors]


def validate_text(text, source):
    errors, count = [], 0
    for i, doc in enumerate(yaml.safe_load_all(text)):
        if doc is None:
            continue
        count += 1
        errors += validate(doc, f"{source}: document {i + 1}")
    return count, errors


def self_test():
    good = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}}
    cases = {
        "unknown field": ({"spec": {"containers": [{"name": "c", "image": "i", "bogus": 1}]}},
                          "spec.containers[0].bogus: unknown field"),
        "wrong type": ({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}},
                       "spec.containers[0].ports[0].containerPort: expected int"),
        "missing containers": ({"spec": {"volumes": []}}, "spec.containers: required field"),
        "missing container name": ({"spec": {"containers": [{"image": "i"}]}},
                                   "spec.containers[0].name: required field"),
        "string where bool": ({"spec": {"containers": [{"name": "c", "tty": "true"}]}},
                              "spec.containers[0].tty: expected bool"),
        "map value type": ({"metadata": {"name": "p", "labels": {"a": 1}}}, "metadata.labels.a: expected str"),
        "unknown kind": ({"apiVersion": "v1", "kind": "Widget"}, "is not one this validator knows"),
    }
    failures = []
    if validate(good):
        failures.append(f"a valid Pod was refused: {validate(good)}")
    for what, (patch, expected) in cases.items():
        obj = dict(good, **patch)
        errors = validate(obj)
        if not any(expected in e for e in errors):
            failures.append(f"{what}: expected an error containing {expected!r}, got {errors}")
    for f in failures:
        print("FAIL", f)
    print("self-test:", "FAILED" if failures else f"OK ({len(cases) + 1} cases)")
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv:
        print(__doc__)
        return 2
    total, errors = 0, []
    for path in argv:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        n, e = validate_text(text, path)
        total += n
        errors += e
    for e in errors:
        print(e)
    print(f"{total} object(s), {len(errors)} error(s)")
    return 1 if errors or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
