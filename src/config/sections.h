// The parsers for each top-level section of a config file, and the checks
// that span sections. Internal to config/. Each parser appends one element
// per list item (even a broken one) so that Config indices line up with the
// paths remembered in Diagnostics ("clusters[3]"), which validate() uses.
#pragma once

#include <map>
#include <string>

#include "config/types.h"
#include "config/values.h"
#include "config/yaml_reader.h"

namespace aegis::config::detail {

struct ParseContext {
  Diagnostics& diags;
  const HostResolver& resolve;
  std::map<std::string, core::Result<std::string>> resolved;  // one lookup per name per load
  std::string base_dir;  // relative file paths (TLS certificates) are resolved against it
  std::string identity_dir;  // attestation.identity's state_dir, once parsed (tls `identity: attested`)
};

void parse_node(const Object& top, Config& out);
void parse_admin(const Object& top, Config& out);
void parse_access_log(const Object& top, Config& out);
void parse_process(const Object& top, Config& out);
void parse_listeners(const Object& top, ParseContext& ctx, Config& out);
void parse_route_configs(const Object& top, Config& out);
// `http2:` of a listener or cluster (HTTP/2 settings and flood limits), if present.
void parse_http2(const Object& parent, Http2Options& h);

enum class TlsSide { kListener, kCluster };
// `tls:` of a listener or cluster, if present.
void parse_tls(const Object& parent, ParseContext& ctx, TlsSide side, std::optional<TlsConfig>& out);
// An attestation policy mapping (parse_attestation.cpp): a tls block's
// `attestation:`, or the whole of a policy file.
void parse_attestation_policy(const YAML::Node& node, const YAML::Mark& at, const std::string& path, Diagnostics& d,
                              AttestationPolicy& out);
// Top-level `attestation:` (parse_attestation.cpp); before the listeners
// and clusters, whose tls blocks may present attestation.identity's files.
void parse_attestation_trust(const Object& top, ParseContext& ctx, Config& out);
// A file path made absolute against the config's directory, readable now (parse_tls.cpp).
void read_file_path(const Object& o, const ParseContext& ctx, std::string_view field, std::string& out);
// A list of {exact|prefix: spiffe://...}; an explicitly empty list is an error.
void read_peer_matchers(const Object& o, std::string_view field, std::vector<PeerMatcher>& out);
void parse_clusters(const Object& top, ParseContext& ctx, Config& out);
// services: the service table of transparent outbound listeners (parse_services.cpp).
void parse_services(const Object& top, ParseContext& ctx, Config& out);
// parse_resilience.cpp: route retry_policy, cluster circuit_breakers and retry_budget.
void parse_retry_policy(const Object& action, RetryPolicy& out);
void parse_circuit_breakers(const Object& cluster, CircuitBreakers& out);
void parse_retry_budget(const Object& cluster, std::optional<RetryBudget>& out);
// health_checks, outlier_detection and healthy_panic_threshold of one cluster.
void parse_cluster_health(const Object& cluster, Cluster& c);

// carbon: the grid-intensity providers (parse_carbon.cpp).
void parse_carbon(const Object& top, ParseContext& ctx, Config& out);

// Header names in route actions and matchers: lower-cased, must be tokens.
bool read_header_name(const Object& obj, std::string_view field, std::string& out);

// Names unique, references resolve, listener addresses distinct.
void validate_across_sections(const Config& config, Diagnostics& diags);

}  // namespace aegis::config::detail
