// app/inject.h: the pure transform behind `aegis-flow inject`. The golden
// files and schema checks of whole manifests are in tests/k8s (ctest -R K8s).
#include "app/inject.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace aegis::app {
namespace {

InjectOptions options() {
  InjectOptions o;
  o.image = "aegis-flow:test";
  o.version = "9.9.9";
  return o;
}

constexpr const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: api
      containers:
        - name: web
          image: web:1
          env:
            - {name: PORT, value: "8080"}
)";

YAML::Node pod_spec(const std::string& yaml) { return YAML::Load(yaml)["spec"]["template"]["spec"]; }

TEST(Inject, AddsInitAndProxyContainersVolumesAndAnnotations) {
  const auto r = inject_manifests(kDeployment, options());
  ASSERT_TRUE(r.ok());
  const YAML::Node doc = YAML::Load(r.yaml);
  const YAML::Node spec = doc["spec"]["template"]["spec"];
  ASSERT_EQ(spec["containers"].size(), 2U);
  EXPECT_EQ(spec["containers"][0]["name"].as<std::string>(), "web");
  EXPECT_EQ(spec["containers"][1]["name"].as<std::string>(), "aegis-flow-proxy");
  EXPECT_EQ(spec["containers"][1]["image"].as<std::string>(), "aegis-flow:test");
  EXPECT_EQ(spec["containers"][1]["securityContext"]["runAsUser"].as<int>(), 1337);
  ASSERT_EQ(spec["initContainers"].size(), 1U);
  EXPECT_EQ(spec["initContainers"][0]["name"].as<std::string>(), "aegis-flow-init");
  EXPECT_EQ(spec["volumes"][0]["secret"]["secretName"].as<std::string>(), "aegis-flow-identity-api");
  EXPECT_EQ(spec["volumes"][1]["configMap"]["name"].as<std::string>(), "aegis-flow-mesh");
  const YAML::Node ann = doc["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(ann["aegis-flow.io/inject"].as<std::string>(), "injected");
  EXPECT_EQ(ann["aegis-flow.io/version"].as<std::string>(), "9.9.9");
  EXPECT_FALSE(spec["runtimeClassName"]);
}

TEST(Inject, RedirectArgsExcludeTheAdminPortAndCarryTheExclusions) {
  auto o = options();
  o.exclude_inbound_ports = "9090";
  o.exclude_outbound_cidrs = "169.254.169.254/32";
  o.runtime_class = "kata-qemu-snp";
  o.proxy_uid = 2000;
  const auto r = inject_manifests(kDeployment, o);
  ASSERT_TRUE(r.ok());
  const YAML::Node spec = pod_spec(r.yaml);
  const auto args = spec["initContainers"][0]["args"].as<std::vector<std::string>>();
  const std::vector<std::string> want = {"redirect",
                                         "install",
                                         "--proxy-uid",
                                         "2000",
                                         "--outbound-port",
                                         "15001",
                                         "--inbound-port",
                                         "15006",
                                         "--inbound-ports",
                                         "*",
                                         "--exclude-inbound-ports",
                                         "15000,9090",
                                         "--exclude-outbound-cidrs",
                                         "169.254.169.254/32"};
  EXPECT_EQ(args, want);
  EXPECT_EQ(spec["containers"][1]["securityContext"]["runAsGroup"].as<int>(), 2000);
  EXPECT_EQ(spec["runtimeClassName"].as<std::string>(), "kata-qemu-snp");
}

TEST(Inject, KeepsQuotedStringsStringsAndIsIdempotent) {
  const auto once = inject_manifests(kDeployment, options());
  ASSERT_TRUE(once.ok());
  EXPECT_NE(once.yaml.find("value: \"8080\""), std::string::npos) << once.yaml;
  EXPECT_NE(once.yaml.find("- \"1337\""), std::string::npos) << once.yaml;  // the uid argument is a string
  const auto twice = inject_manifests(once.yaml, options());
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice.yaml, once.yaml);
}

TEST(Inject, PassesThroughKindsWithoutPodsAndKeepsDocumentOrder) {
  const std::string in =
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
      "spec:\n  containers: [{name: c, image: i}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
  const auto r = inject_manifests(in, options());
  ASSERT_TRUE(r.ok());
  const auto docs = YAML::LoadAll(r.yaml);
  ASSERT_EQ(docs.size(), 3U);
  EXPECT_EQ(docs[0]["kind"].as<std::string>(), "Service");
  EXPECT_EQ(docs[1]["spec"]["containers"].size(), 2U);
  EXPECT_EQ(docs[1]["metadata"]["annotations"]["aegis-flow.io/inject"].as<std::string>(), "injected");
  EXPECT_EQ(docs[2]["kind"].as<std::string>(), "ConfigMap");
}

TEST(Inject, CronJobListAndOptOut) {
  const std::string in = R"(kind: List
apiVersion: v1
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: n}
    spec:
      schedule: "* * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              containers: [{name: c, image: i}]
  - apiVersion: v1
    kind: Pod
    metadata:
      name: skip
      annotations: {aegis-flow.io/inject: disabled}
    spec:
      containers: [{name: c, image: i}]
)";
  const auto r = inject_manifests(in, options());
  ASSERT_TRUE(r.ok());
  const YAML::Node items = YAML::Load(r.yaml)["items"];
  EXPECT_EQ(items[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"].size(), 2U);
  EXPECT_EQ(items[0]["spec"]["schedule"].as<std::string>(), "* * * * *");
  EXPECT_EQ(items[1]["spec"]["containers"].size(), 1U);
  ASSERT_EQ(r.warnings.size(), 1U);  // the CronJob's pod will not complete
  EXPECT_NE(r.warnings[0].find("CronJob 'n'"), std::string::npos);
}

TEST(Inject, RefusesUnknownKindsMissingTemplatesAndBadYaml) {
  auto r = inject_manifests(
      "kind: Service\nmetadata: {name: s}\n---\napiVersion: x/v1\nkind: Widget\nmetadata: "
      "{name: gizmo}\n",
      options(), "in.yaml");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_NE(r.errors[0].find("in.yaml: document 2 (Widget 'gizmo'): unknown kind Widget"), std::string::npos)
      << r.errors[0];
  EXPECT_TRUE(r.yaml.empty());

  r = inject_manifests("kind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n", options());
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_NE(r.errors[0].find("spec.template is missing"), std::string::npos) << r.errors[0];

  r = inject_manifests("kind: Pod\nmetadata: {name: p}\nspec: {volumes: []}\n", options());
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_NE(r.errors[0].find("spec.containers is missing"), std::string::npos) << r.errors[0];

  r = inject_manifests("kind: Pod\nmetadata:\n  name: [x\n", options(), "bad.yaml");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].rfind("bad.yaml:", 0), 0U) << r.errors[0];
}

TEST(Inject, WarnsAboutProbesOnCapturedPorts) {
  const std::string in = R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: i
      readinessProbe: {httpGet: {path: /, port: 8080}}
      livenessProbe: {tcpSocket: {port: 9090}}
)";
  auto o = options();
  o.exclude_inbound_ports = "9090";
  const auto r = inject_manifests(in, o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1U);
  EXPECT_NE(r.warnings[0].find("readinessProbe goes to port 8080"), std::string::npos) << r.warnings[0];
}

}  // namespace
}  // namespace aegis::app
