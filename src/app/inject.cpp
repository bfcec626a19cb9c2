#include "app/inject.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <optional>

#include "app/inject_yaml.h"

namespace aegis::app {

namespace {

constexpr const char* kInjectAnnotation = "aegis-flow.io/inject";
constexpr const char* kVersionAnnotation = "aegis-flow.io/version";
constexpr std::string_view kProxyName = "aegis-flow-proxy";
constexpr std::string_view kInitName = "aegis-flow-init";
constexpr std::string_view kConfigPath = "/etc/aegis-flow/config/config.yaml";

// Kinds whose pod template is at spec.template (CronJob: spec.jobTemplate.spec.template).
constexpr std::array kTemplateKinds = {"Deployment", "StatefulSet",           "DaemonSet",
                                       "ReplicaSet", "ReplicationController", "Job"};
// Kinds that never hold a pod template: passed through unchanged.
constexpr std::array kPassThroughKinds = {"Service",
                                          "ConfigMap",
                                          "Secret",
                                          "ServiceAccount",
                                          "Namespace",
                                          "Ingress",
                                          "IngressClass",
                                          "Role",
                                          "RoleBinding",
                                          "ClusterRole",
                                          "ClusterRoleBinding",
                                          "NetworkPolicy",
                                          "PersistentVolumeClaim",
                                          "PersistentVolume",
                                          "HorizontalPodAutoscaler",
                                          "PodDisruptionBudget",
                                          "Endpoints",
                                          "EndpointSlice",
                                          "LimitRange",
                                          "ResourceQuota",
                                          "StorageClass",
                                          "PriorityClass",
                                          "RuntimeClass",
                                          "VerticalPodAutoscaler",
                                          "Certificate",
                                          "Issuer",
                                          "ClusterIssuer"};

template <std::size_t N>
bool contains(const std::array<const char*, N>& kinds, const std::string& kind) {
  return std::any_of(kinds.begin(), kinds.end(), [&](const char* k) { return kind == k; });
}

// The fixed parts of the two containers; the values that depend on the
// options are set by code, through yaml_string so they stay strings.
constexpr const char* kInitTemplate = R"(name: aegis-flow-init
image: IMAGE
imagePullPolicy: IfNotPresent
args: []
env:
  - name: XTABLES_LOCKFILE
    value: /tmp/xtables.lock
resources:
  requests: {cpu: 10m, memory: 16Mi}
  limits: {cpu: 100m, memory: 64Mi}
securityContext:
  runAsUser: 0
  runAsNonRoot: false
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    add: [NET_ADMIN, NET_RAW]
    drop: [ALL]
volumeMounts:
  - name: aegis-flow-tmp
    mountPath: /tmp
)";

constexpr const char* kProxyTemplate = R"(name: aegis-flow-proxy
image: IMAGE
imagePullPolicy: IfNotPresent
args: []
env:
  - name: AEGIS_REGION
    valueFrom:
      fieldRef: {fieldPath: "metadata.labels['topology.kubernetes.io/region']"}
  - name: AEGIS_ZONE
    valueFrom:
      fieldRef: {fieldPath: "metadata.labels['topology.kubernetes.io/zone']"}
  - name: POD_NAME
    valueFrom:
      fieldRef: {fieldPath: metadata.name}
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef: {fieldPath: metadata.namespace}
  - name: POD_IP
    valueFrom:
      fieldRef: {fieldPath: status.podIP}
ports:
  - {name: aegis-outbound, containerPort: 15001, protocol: TCP}
  - {name: aegis-inbound, containerPort: 15006, protocol: TCP}
  - {name: aegis-admin, containerPort: 15000, protocol: TCP}
readinessProbe:
  httpGet: {path: /ready, port: 15000}
  initialDelaySeconds: 1
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: 15000}
  initialDelaySeconds: 10
  periodSeconds: 10
resources:
  requests: {cpu: 100m, memory: 64Mi}
  limits: {cpu: "1", memory: 256Mi}
securityContext:
  runAsUser: 1337
  runAsGroup: 1337
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
volumeMounts:
  - name: aegis-flow-identity
    mountPath: /etc/aegis-flow/identity
    readOnly: true
  - name: aegis-flow-config
    mountPath: /etc/aegis-flow/config
    readOnly: true
  - name: aegis-flow-tmp
    mountPath: /tmp
)";

YAML::Node string_list(std::initializer_list<std::string> items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& s : items) list.push_back(yaml_string(s));
  return list;
}

YAML::Node init_container(const InjectOptions& o) {
  YAML::Node c = YAML::Load(kInitTemplate);
  c["image"] = yaml_string(o.image);
  std::string inbound_excluded = std::to_string(kInjectAdminPort);
  if (!o.exclude_inbound_ports.empty()) inbound_excluded += "," + o.exclude_inbound_ports;
  YAML::Node args =
      string_list({"redirect", "install", "--proxy-uid", std::to_string(o.proxy_uid), "--outbound-port",
                   std::to_string(kInjectOutboundPort), "--inbound-port", std::to_string(kInjectInboundPort),
                   "--inbound-ports", "*", "--exclude-inbound-ports", inbound_excluded});
  if (!o.exclude_outbound_ports.empty()) {
    args.push_back(yaml_string("--exclude-outbound-ports"));
    args.push_back(yaml_string(o.exclude_outbound_ports));
  }
  if (!o.exclude_outbound_cidrs.empty()) {
    args.push_back(yaml_string("--exclude-outbound-cidrs"));
    args.push_back(yaml_string(o.exclude_outbound_cidrs));
  }
  c["args"] = args;
  return c;
}

YAML::Node proxy_container(const InjectOptions& o) {
  YAML::Node c = YAML::Load(kProxyTemplate);
  c["image"] = yaml_string(o.image);
  c["args"] = string_list(
      {"run", "-c", std::string(kConfigPath), "--node-region", "$(AEGIS_REGION)", "--node-zone", "$(AEGIS_ZONE)"});
  c["securityContext"]["runAsUser"] = o.proxy_uid;
  c["securityContext"]["runAsGroup"] = o.proxy_uid;
  return c;
}

YAML::Node volumes(const InjectOptions& o, const std::string& secret) {
  YAML::Node v = YAML::Load(R"(- name: aegis-flow-identity
  secret: {secretName: SECRET, defaultMode: 256}
- name: aegis-flow-config
  configMap: {name: CONFIG}
- name: aegis-flow-tmp
  emptyDir: {}
)");
  v[0]["secret"]["secretName"] = yaml_string(secret);
  v[1]["configMap"]["name"] = yaml_string(o.config_map);
  return v;
}

std::string scalar_or(const YAML::Node& n, const std::string& fallback) {
  return n && n.IsScalar() ? n.Scalar() : fallback;
}

bool has_container(const YAML::Node& list, std::string_view name) {
  if (!list || !list.IsSequence()) return false;
  return std::any_of(list.begin(), list.end(), [&](const YAML::Node& c) {
    return c.IsMap() && c["name"] && c["name"].IsScalar() && c["name"].Scalar() == name;
  });
}

// The kubelet probes an app port from outside the pod, in plaintext: the
// inbound capture sends that to the mTLS listener, and the probe fails.
void warn_about_probes(const YAML::Node& containers, const InjectOptions& o, const std::string& where,
                       std::vector<std::string>& warnings) {
  if (!containers || !containers.IsSequence()) return;
  const std::string excluded = "," + o.exclude_inbound_ports + ",";
  for (const auto& c : containers) {
    if (!c.IsMap()) continue;
    for (const char* probe : {"readinessProbe", "livenessProbe", "startupProbe"}) {
      const YAML::Node p = c[probe];
      if (!p || !p.IsMap()) continue;
      for (const char* handler : {"httpGet", "tcpSocket", "grpc"}) {
        const YAML::Node port = p[handler] ? p[handler]["port"] : YAML::Node();
        if (!port || !port.IsScalar() || excluded.find("," + port.Scalar() + ",") != std::string::npos) continue;
        warnings.push_back(fmt::format(
            "{}: container '{}' {} goes to port {}, which the sidecar captures and serves with mTLS only; the "
            "kubelet's plaintext probe will fail unless you pass --exclude-inbound-ports {} (that port then "
            "bypasses the mesh)",
            where, scalar_or(c["name"], "?"), probe, port.Scalar(), port.Scalar()));
      }
    }
  }
}

// Adds the sidecar to one pod (its metadata and spec maps); false when it
// was injected already or opted out.
bool inject_pod(YAML::Node meta, YAML::Node spec, const InjectOptions& o, const std::string& where,
                std::vector<std::string>& warnings) {
  YAML::Node annotations = meta["annotations"];
  const std::string state =
      annotations && annotations.IsMap() ? scalar_or(annotations[kInjectAnnotation], "") : std::string();
  if (state == "injected" || state == "disabled" || has_container(spec["containers"], kProxyName) ||
      has_container(spec["initContainers"], kInitName)) {
    return false;  // already injected, or opted out: leave it byte for byte
  }
  warn_about_probes(spec["containers"], o, where, warnings);
  meta["annotations"][kInjectAnnotation] = yaml_string("injected");
  meta["annotations"][kVersionAnnotation] = yaml_string(o.version);

  std::string secret = o.identity_secret;
  if (secret.empty()) {
    secret =
        "aegis-flow-identity-" + scalar_or(spec["serviceAccountName"], scalar_or(spec["serviceAccount"], "default"));
  }
  // Appended: the app's own init containers run before the capture, with the network as usual.
  spec["initContainers"].push_back(init_container(o));
  spec["containers"].push_back(proxy_container(o));
  for (const auto& v : volumes(o, secret)) spec["volumes"].push_back(v);
  if (!o.runtime_class.empty()) spec["runtimeClassName"] = yaml_string(o.runtime_class);
  return true;
}

// The map entry `key` of `node`, or an invalid node when node is not a map.
YAML::Node child(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node[key];
}

struct DocumentError {
  std::string message;
};

// Injects the pod template(s) of one object; returns an error for a kind it
// cannot handle or a pod kind without its template.
std::optional<DocumentError> inject_object(YAML::Node object, const InjectOptions& o, const std::string& label,
                                           std::vector<std::string>& warnings) {
  if (!object.IsMap()) return DocumentError{label + ": not a mapping (a Kubernetes object is a map with kind)"};
  const std::string kind = scalar_or(object["kind"], "");
  const YAML::Node metadata = object["metadata"];
  const std::string name =
      metadata && metadata.IsMap() ? scalar_or(metadata["name"], scalar_or(metadata["generateName"], "")) : "";
  const std::string where = fmt::format("{} ({} '{}')", label, kind.empty() ? "no kind" : kind, name);
  if (kind.empty()) return DocumentError{where + ": has no kind"};
  if (kind == "List") {
    YAML::Node items = object["items"];
    if (!items) return std::nullopt;
    if (!items.IsSequence()) return DocumentError{where + ": items is not a list"};
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto e = inject_object(items[i], o, fmt::format("{} item {}", label, i + 1), warnings);
      if (e) return e;
    }
    return std::nullopt;
  }
  if (contains(kPassThroughKinds, kind)) return std::nullopt;

  YAML::Node pod_meta;
  YAML::Node pod_spec;
  std::string path;
  if (kind == "Pod") {
    path = "spec";
    if (!object["metadata"] || !object["metadata"].IsMap()) object["metadata"] = YAML::Node(YAML::NodeType::Map);
    pod_meta.reset(object["metadata"]);
    pod_spec.reset(object["spec"]);
  } else if (kind == "CronJob" || contains(kTemplateKinds, kind)) {
    path = kind == "CronJob" ? "spec.jobTemplate.spec.template" : "spec.template";
    // A fresh handle, never reassigned: yaml-cpp's Node::operator= overwrites the node it refers to.
    const YAML::Node spec = kind == "CronJob" ? child(child(object, "spec"), "jobTemplate") : object;
    YAML::Node holder = child(spec, "spec");
    const YAML::Node tmpl = child(holder, "template");
    if (!tmpl || !tmpl.IsMap()) return DocumentError{fmt::format("{}: {} is missing", where, path)};
    if (!tmpl["metadata"] || !tmpl["metadata"].IsMap())
      holder["template"]["metadata"] = YAML::Node(YAML::NodeType::Map);
    pod_meta.reset(holder["template"]["metadata"]);
    pod_spec.reset(holder["template"]["spec"]);
    path += ".spec";
  } else {
    return DocumentError{fmt::format(
        "{}: unknown kind {}: aegis-flow inject knows the pod kinds Pod, Deployment, StatefulSet, DaemonSet, "
        "ReplicaSet, ReplicationController, Job, CronJob and List, and passes through kinds without pods "
        "(Service, ConfigMap, Secret, ...); remove this document from the input or inject its pods by hand",
        where, kind)};
  }
  if (!pod_spec || !pod_spec.IsMap()) return DocumentError{fmt::format("{}: {} is missing", where, path)};
  if (!pod_spec["containers"] || !pod_spec["containers"].IsSequence()) {
    return DocumentError{fmt::format("{}: {}.containers is missing or not a list", where, path)};
  }
  if (inject_pod(pod_meta, pod_spec, o, where, warnings) && (kind == "Job" || kind == "CronJob")) {
    warnings.push_back(where +
                       ": the pod will not complete when its app exits, because aegis-flow-proxy keeps "
                       "running (a native sidecar, Kubernetes 1.29+, is not emitted yet); annotate its pod template "
                       "aegis-flow.io/inject: disabled to leave it out of the mesh");
  }
  return std::nullopt;
}

}  // namespace

InjectResult inject_manifests(std::string_view yaml_text, const InjectOptions& options, std::string_view source) {
  InjectResult result;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    result.errors.push_back(fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
    return result;
  }
  std::string out;
  bool first = true;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;  // an empty document ("---" twice) carries nothing
    auto error = inject_object(documents[i], options, fmt::format("{}: document {}", source, i + 1), result.warnings);
    if (error) {
      result.errors.push_back(error->message);
      continue;
    }
    if (!first) out += "---\n";
    first = false;
    out += emit_yaml_document(documents[i]);
  }
  if (result.ok()) result.yaml = std::move(out);
  return result;
}

}  // namespace aegis::app
