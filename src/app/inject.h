// `aegis-flow inject`: adds the sidecar to Kubernetes manifests, like `linkerd
// inject`. A pure transform, YAML text in and YAML text out: every pod template
// (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob, bare Pod; the items of a List) gets the `aegis-flow-init` init
// container (`aegis-flow redirect install`: iptables capture), the
// `aegis-flow-proxy` container (`aegis-flow run` on the mesh ConfigMap, identity
// from a cert-manager-layout Secret) and their volumes. Kinds without pods pass
// through; unknown kinds are refused. Injecting injected output changes nothing.
// The deployment story is in docs/kubernetes.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aegis::app {

struct InjectOptions {
  std::string image;    // the proxy and init image, e.g. aegis-flow:0.1.0
  std::string version;  // written to the aegis-flow.io/version annotation
  int proxy_uid = 1337;
  std::string identity_secret;  // empty: aegis-flow-identity-<serviceAccountName or "default">
  std::string config_map = "aegis-flow-mesh";
  std::string runtime_class;           // empty: the pod's own runtimeClassName (if any) stays
  std::string exclude_inbound_ports;   // comma-separated; the admin port 15000 is always excluded
  std::string exclude_outbound_ports;  // comma-separated
  std::string exclude_outbound_cidrs;  // comma-separated
};

struct InjectResult {
  std::string yaml;                   // the documents, in order; empty when there are errors
  std::vector<std::string> errors;    // each names the document (1-based), its kind and name
  std::vector<std::string> warnings;  // injected anyway (e.g. a probe the capture will break)
  bool ok() const { return errors.empty(); }
};

// The ports the sidecar uses; the redirect and the mesh config agree on them.
inline constexpr int kInjectOutboundPort = 15001;
inline constexpr int kInjectInboundPort = 15006;
inline constexpr int kInjectAdminPort = 15000;

// `source` names the input in parse errors ("app.yaml:3:7: ..."; "-" for stdin).
InjectResult inject_manifests(std::string_view yaml_text, const InjectOptions& options, std::string_view source = "-");

}  // namespace aegis::app
