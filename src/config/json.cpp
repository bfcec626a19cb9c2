// to_json: the config as /config_dump shows it. Field names and shapes are
// those of the YAML schema (endpoints always in load_assignment form), so a
// dump with "source" removed loads back as the same config.
#include <array>

#include <nlohmann/json.hpp>

#include "config/loader.h"

namespace aegis::config {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json optional_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json address_json(const SocketAddress& a) { return Json{{"address", a.address}, {"port", a.port}}; }

Json limits_json(const HttpLimits& l) {
  return Json{{"max_request_header_bytes", l.max_request_header_bytes},
              {"max_request_headers", l.max_request_headers},
              {"max_request_line_bytes", l.max_request_line_bytes},
              {"max_request_body_bytes", l.max_request_body_bytes},
              {"max_response_header_bytes", l.max_response_header_bytes}};
}

Json http2_json(const Http2Options& h) {
  return Json{{"max_concurrent_streams", h.max_concurrent_streams},
              {"initial_stream_window_size", h.initial_stream_window_size},
              {"initial_connection_window_size", h.initial_connection_window_size},
              {"max_header_list_size", h.max_header_list_size},
              {"max_frame_size", h.max_frame_size},
              {"max_continuation_frames", h.max_continuation_frames},
              {"flood_window", format_duration(h.flood_window)},
              {"max_resets_per_window", h.max_resets_per_window},
              {"max_pings_per_window", h.max_pings_per_window},
              {"max_settings_per_window", h.max_settings_per_window},
              {"max_consecutive_empty_frames", h.max_consecutive_empty_frames},
              {"max_outbound_control_frames", h.max_outbound_control_frames},
              {"max_window_updates_per_data_frame_sent", h.max_window_updates_per_data_frame_sent},
              {"max_priority_frames_per_stream", h.max_priority_frames_per_stream}};
}

Json peers_json(const std::vector<PeerMatcher>& peers) {
  Json j = Json::array();
  for (const auto& m : peers) j.push_back(m.exact.empty() ? Json{{"prefix", m.prefix}} : Json{{"exact", m.exact}});
  return j;
}

Json attestation_policy_json(const AttestationPolicy& p) {
  static constexpr std::array<const char*, 3> kModes = {"off", "optional", "require"};
  static constexpr std::array<const char*, 3> kTees = {"any", "snp", "tdx"};
  Json j{{"mode", kModes.at(static_cast<std::size_t>(p.mode))},
         {"tee", kTees.at(static_cast<std::size_t>(p.tee))},
         {"allow_debug", p.allow_debug},
         {"accepted_tcb_status", p.accepted_tcb_status}};
  if (!p.measurements.empty()) j["measurements"] = p.measurements;
  if (!p.rtmrs.empty()) j["rtmrs"] = p.rtmrs;
  if (!p.min_tcb.empty()) j["min_tcb"] = p.min_tcb;
  return j;
}

// Paths and settings only: the CA's and the identity's keys stay in their files.
Json identity_json(const AttestedIdentity& id) {
  Json j{{"state_dir", id.state_dir},
         {"ca_dir", id.ca_dir},
         {"spiffe_id", id.spiffe_id},
         {"key_type", id.key_type},
         {"evidence_ttl", format_duration(id.evidence_ttl)},
         {"source", id.source}};
  if (!id.dns.empty()) j["dns"] = id.dns;
  if (id.source == "simulated") {
    Json sim{{"roots", id.simulated_roots}, {"tee", id.simulated_tee}, {"debug", id.simulated_debug}};
    if (!id.simulated_measurement.empty()) sim["measurement"] = id.simulated_measurement;
    j["simulated"] = std::move(sim);
  } else {
    j["tsm_root"] = id.tsm_root;
    j["sev_guest_device"] = id.sev_guest_device;
  }
  return j;
}

// Paths only (never key material); fields that are unset are left out so that
// the dump loads back.
Json tls_json(const TlsConfig& t, bool listener) {
  Json j = Json::object();
  if (t.attested_identity) {
    j["identity"] = "attested";  // cert_file and key_file are attestation.identity's
  } else {
    if (!t.cert_file.empty()) j["cert_file"] = t.cert_file;
    if (!t.key_file.empty()) j["key_file"] = t.key_file;
  }
  if (!t.trust_bundle.empty()) j["trust_bundle"] = t.trust_bundle;
  j["pq_policy"] = t.pq_policy;
  if (!t.groups.empty()) j["groups"] = t.groups;
  j["session_resumption"] = t.session_resumption;
  if (listener) {
    j["require_client_cert"] = t.require_client_cert;
    j["handshake_timeout"] = format_duration(t.handshake_timeout);
  } else if (!t.server_name.empty()) {
    j["server_name"] = t.server_name;
  }
  if (!t.allow_peers.empty()) j["allow_peers"] = peers_json(t.allow_peers);
  if (t.attestation) j["attestation"] = attestation_policy_json(*t.attestation);
  return j;
}

Json listener_json(const Listener& l) {
  Json j{
      {"name", l.name}, {"address", l.address.address}, {"port", l.address.port}, {"protocol", to_string(l.protocol)}};
  if (l.protocol == ListenerProtocol::kHttp) {
    j["route_config"] = l.route_config;
  } else if (l.transparent == TransparentMode::kNone) {
    j["cluster"] = l.cluster;
  } else {
    j["transparent"] = to_string(l.transparent);
    if (l.transparent == TransparentMode::kOutbound) {
      j["outbound_policy"] = to_string(l.outbound_policy);
      j["detect_timeout"] = format_duration(l.detect_timeout);
    }
  }
  j["idle_timeout"] = format_duration(l.idle_timeout);
  if (l.protocol == ListenerProtocol::kHttp) {
    j["request_headers_timeout"] = format_duration(l.request_headers_timeout);
    j["xff_trust_downstream"] = l.xff_trust_downstream;
    j["normalize_path"] = l.normalize_path;
    j["merge_slashes"] = l.merge_slashes;
    static constexpr std::array<const char*, 3> kSlashes = {"keep_unchanged", "reject_request", "unescape_and_forward"};
    j["path_with_escaped_slashes_action"] = kSlashes.at(static_cast<std::size_t>(l.path_with_escaped_slashes_action));
    j["limits"] = limits_json(l.limits);
    j["codec"] = to_string(l.codec);
    j["http2"] = http2_json(l.http2);
  }
  if (l.tls) j["tls"] = tls_json(*l.tls, true);
  return j;
}

Json headers_json(const std::vector<HeaderValue>& headers) {
  Json j = Json::array();
  for (const auto& h : headers) j.push_back(Json{{"name", h.name}, {"value", h.value}});
  return j;
}

Json hash_policy_json(const std::vector<HashPolicy>& rules) {
  Json j = Json::array();
  for (const auto& h : rules) {
    switch (h.kind) {
      case HashPolicy::Kind::kHeader:
        j.push_back(Json{{"header", Json{{"name", h.name}}}});
        break;
      case HashPolicy::Kind::kCookie:
        j.push_back(Json{{"cookie", Json{{"name", h.name}}}});
        break;
      case HashPolicy::Kind::kSourceIp:
        j.push_back(Json{{"source_ip", true}});
        break;
    }
  }
  return j;
}

Json retry_policy_json(const RetryPolicy& p) {
  Json on = Json::array();
  unsigned bit = 0;
  for (const char* name : kRetryOnNames) {
    if (p.retry_on & (1u << bit)) on.push_back(name);
    ++bit;
  }
  return Json{{"retry_on", std::move(on)},
              {"num_retries", p.num_retries},
              {"per_try_timeout", format_duration(p.per_try_timeout)},
              {"retriable_status_codes", p.retriable_status_codes},
              {"retry_back_off", Json{{"base_interval", format_duration(p.back_off.base_interval)},
                                      {"max_interval", format_duration(p.back_off.max_interval)}}},
              {"retry_non_idempotent", p.retry_non_idempotent},
              {"retry_buffer_limit", p.retry_buffer_limit}};
}

Json route_json(const Route& r) {
  Json match{{"prefix", optional_json(r.match.prefix)}, {"path", optional_json(r.match.path)}};
  Json headers = Json::array();
  for (const auto& h : r.match.headers) {
    headers.push_back(Json{{"name", h.name},
                           {"exact", optional_json(h.exact)},
                           {"prefix", optional_json(h.prefix)},
                           {"invert", h.invert}});
  }
  match["headers"] = std::move(headers);
  const RouteAction& a = r.action;
  Json action{{"cluster", a.cluster},
              {"timeout", format_duration(a.timeout)},
              {"max_request_body_bytes", optional_json(a.max_request_body_bytes)},
              {"request_headers_to_add", headers_json(a.request_headers_to_add)},
              {"request_headers_to_remove", a.request_headers_to_remove},
              {"response_headers_to_add", headers_json(a.response_headers_to_add)},
              {"response_headers_to_remove", a.response_headers_to_remove}};
  action["idle_timeout"] = format_duration(a.idle_timeout);
  if (a.retry_policy) action["retry_policy"] = retry_policy_json(*a.retry_policy);
  if (a.rate_limit)
    action["rate_limit"] =
        Json{{"requests_per_second", a.rate_limit->requests_per_second}, {"burst", a.rate_limit->burst}};
  if (!a.hash_policy.empty()) action["hash_policy"] = hash_policy_json(a.hash_policy);
  Json j{{"name", r.name}, {"match", std::move(match)}, {"route", std::move(action)}};
  if (!r.allow_peers.empty()) j["allow_peers"] = peers_json(r.allow_peers);
  return j;
}

Json route_config_json(const RouteConfiguration& rc) {
  Json vhosts = Json::array();
  for (const auto& vh : rc.virtual_hosts) {
    Json routes = Json::array();
    for (const auto& r : vh.routes) routes.push_back(route_json(r));
    vhosts.push_back(Json{{"name", vh.name}, {"domains", vh.domains}, {"routes", std::move(routes)}});
  }
  return Json{{"name", rc.name}, {"virtual_hosts", std::move(vhosts)}};
}

Json health_check_json(const HealthCheck& hc) {
  Json j{{"timeout", format_duration(hc.timeout)},
         {"interval", format_duration(hc.interval)},
         {"interval_jitter", format_duration(hc.interval_jitter)},
         {"healthy_threshold", hc.healthy_threshold},
         {"unhealthy_threshold", hc.unhealthy_threshold}};
  switch (hc.kind) {
    case HealthCheckKind::kTcp:
      j["tcp"] = Json::object();
      break;
    case HealthCheckKind::kHttp: {
      Json statuses = Json::array();
      for (const auto& r : hc.expected_statuses) statuses.push_back(Json{{"start", r.start}, {"end", r.end}});
      j["http"] = Json{{"path", hc.path}, {"expected_statuses", std::move(statuses)}};
      if (!hc.host.empty()) j["http"]["host"] = hc.host;
      break;
    }
    case HealthCheckKind::kGrpc:
      j["grpc"] = Json{{"service_name", hc.service_name}};
      if (!hc.authority.empty()) j["grpc"]["authority"] = hc.authority;
      break;
  }
  return j;
}

Json outlier_json(const OutlierDetection& od) {
  return Json{{"consecutive_5xx", od.consecutive_5xx},
              {"consecutive_gateway_failure", od.consecutive_gateway_failure},
              {"interval", format_duration(od.interval)},
              {"base_ejection_time", format_duration(od.base_ejection_time)},
              {"max_ejection_time", format_duration(od.max_ejection_time)},
              {"max_ejection_percent", od.max_ejection_percent},
              {"always_eject_one_host", od.always_eject_one_host},
              {"success_rate_minimum_hosts", od.success_rate_minimum_hosts},
              {"success_rate_request_volume", od.success_rate_request_volume},
              {"success_rate_stdev_factor", od.success_rate_stdev_factor}};
}

Json cluster_json(const Cluster& c) {
  Json groups = Json::array();
  for (const auto& g : c.load_assignment.localities) {
    Json eps = Json::array();
    for (const auto& e : g.endpoints) {
      Json ep{{"address", e.host}, {"port", e.port}, {"weight", e.weight}};
      // Not a YAML field: shows which name an address came from.
      if (!e.hostname.empty()) ep["hostname"] = e.hostname;
      eps.push_back(std::move(ep));
    }
    Json group{{"locality", Json{{"region", g.region}, {"zone", g.zone}}},
               {"priority", g.priority},
               {"lb_endpoints", std::move(eps)}};
    if (!g.grid_zone.empty()) group["grid_zone"] = g.grid_zone;
    if (g.capacity > 0) group["capacity"] = g.capacity;
    groups.push_back(std::move(group));
  }
  Json j{{"name", c.name},
         {"lb_policy", to_string(c.lb_policy)},
         {"connect_timeout", format_duration(c.connect_timeout)},
         {"max_connections", c.max_connections},
         {"max_idle_connections", c.max_idle_connections},
         {"idle_timeout", format_duration(c.idle_timeout)},
         {"circuit_breakers", Json{{"max_connections", c.circuit_breakers.max_connections},
                                   {"max_pending_requests", c.circuit_breakers.max_pending_requests},
                                   {"max_requests", c.circuit_breakers.max_requests},
                                   {"max_retries", c.circuit_breakers.max_retries}}},
         {"load_assignment", Json{{"endpoints", std::move(groups)}}}};
  if (c.retry_budget)
    j["retry_budget"] = Json{{"budget_percent", c.retry_budget->budget_percent},
                             {"min_retry_concurrency", c.retry_budget->min_retry_concurrency}};
  if (c.tls) j["tls"] = tls_json(*c.tls, false);
  // The chosen policy's options only (a block for another policy is refused).
  switch (c.lb_policy) {
    case LbPolicy::kLeastRequest:
      j["least_request"] = Json{{"choice_count", c.least_request.choice_count}};
      break;
    case LbPolicy::kPeakEwma:
      j["peak_ewma"] = Json{{"decay_time", format_duration(c.peak_ewma.decay_time)},
                            {"default_rtt", format_duration(c.peak_ewma.default_rtt)}};
      break;
    case LbPolicy::kRingHash:
      j["ring_hash"] = Json{{"minimum_ring_size", c.ring_hash.minimum_ring_size},
                            {"maximum_ring_size", c.ring_hash.maximum_ring_size}};
      break;
    case LbPolicy::kCarbonAware:
      j["carbon_aware"] = Json{{"max_utilization", c.carbon_aware.max_utilization},
                               {"latency_slo", format_duration(c.carbon_aware.latency_slo)},
                               {"rebalance_interval", format_duration(c.carbon_aware.rebalance_interval)},
                               {"max_step", c.carbon_aware.max_step}};
      if (c.carbon_aware.max_age) j["carbon_aware"]["max_age"] = format_duration(*c.carbon_aware.max_age);
      break;
    default:
      break;
  }
  if (c.carbon_accounting) {
    j["carbon_accounting"] = Json{{"joules_per_request", c.carbon_accounting->joules_per_request},
                                  {"joules_per_upstream_second", c.carbon_accounting->joules_per_upstream_second}};
  }
  if (c.locality_aware.enabled) {
    j["locality_aware"] = Json{{"enabled", true},
                               {"overprovisioning_factor", c.locality_aware.overprovisioning_factor},
                               {"min_local_healthy_percent", c.locality_aware.min_local_healthy_percent}};
  }
  j["healthy_panic_threshold"] = c.healthy_panic_threshold;
  if (!c.health_checks.empty()) {
    Json checks = Json::array();
    for (const auto& hc : c.health_checks) checks.push_back(health_check_json(hc));
    j["health_checks"] = std::move(checks);
  }
  if (c.outlier_detection) j["outlier_detection"] = outlier_json(*c.outlier_detection);
  if (c.type == ClusterType::kOriginalDst) {
    // Only what applies (and what the loader accepts back) for original_dst.
    for (const char* field : {"lb_policy", "load_assignment", "healthy_panic_threshold"}) j.erase(field);
    j["type"] = "original_dst";
  }
  return j;
}

Json service_json(const Service& s) {
  Json j{{"name", s.name},
         {"addresses", s.addresses},
         {"ports", s.ports},
         {"cluster", s.cluster},
         {"protocol", to_string(s.protocol)}};
  if (!s.peer_spiffe_id.empty()) j["peer_spiffe_id"] = s.peer_spiffe_id;
  return j;
}

// Credentials appear only as references (the variable's name, the file's
// path): the config never holds a secret, so there is nothing to redact.
Json carbon_json(const CarbonConfig& c) {
  Json providers = Json::array();
  for (const auto& p : c.providers) {
    Json j{{"name", p.name}, {"type", to_string(p.type)}};
    if (!p.base_url.empty()) j["base_url"] = p.base_url;
    Json zones = Json::object();
    for (const auto& [zone, id] : p.zones) zones[zone] = id;
    j["zones"] = std::move(zones);
    j["poll_interval"] = format_duration(p.poll_interval);
    j["max_age"] = format_duration(p.max_age);
    j["timeout"] = format_duration(p.timeout);
    j["initial_backoff"] = format_duration(p.initial_backoff);
    j["max_backoff"] = format_duration(p.max_backoff);
    for (auto [name, value] : {std::pair{"token_env", &p.token_env}, std::pair{"token_file", &p.token_file},
                               std::pair{"username", &p.username}, std::pair{"password_env", &p.password_env},
                               std::pair{"password_file", &p.password_file}, std::pair{"ca_file", &p.ca_file}})
      if (!value->empty()) j[name] = *value;
    if (p.type == CarbonProviderType::kFile) {
      j["emission_factor"] = p.lifecycle ? "lifecycle" : "direct";
      j["time_offset"] = format_duration(p.time_offset);
      j["speed"] = p.speed;
      j["loop"] = p.loop;
    }
    providers.push_back(std::move(j));
  }
  return Json{{"providers", std::move(providers)}};
}

}  // namespace

std::string to_json(const Config& config, int indent) {
  Json listeners = Json::array();
  for (const auto& l : config.listeners) listeners.push_back(listener_json(l));
  Json route_configs = Json::array();
  for (const auto& rc : config.route_configs) route_configs.push_back(route_config_json(rc));
  Json clusters = Json::array();
  for (const auto& c : config.clusters) clusters.push_back(cluster_json(c));
  Json j{{"source", config.source},
         {"node", Json{{"region", config.node.region}, {"zone", config.node.zone}}},
         {"admin", address_json(config.admin.address)},
         {"access_log", Json{{"path", config.access_log.path}}},
         {"drain_timeout", format_duration(config.drain_timeout)},
         {"process", Json{{"dumpable", config.process.dumpable},
                          {"user", config.process.user},
                          {"group", config.process.group},
                          {"seccomp", config.process.seccomp}}},
         {"listeners", std::move(listeners)},
         {"route_configs", std::move(route_configs)},
         {"clusters", std::move(clusters)}};
  if (!config.services.empty()) {
    Json services = Json::array();
    for (const auto& s : config.services) services.push_back(service_json(s));
    j["services"] = std::move(services);
  }
  if (!config.carbon.providers.empty()) j["carbon"] = carbon_json(config.carbon);
  const auto& at = config.attestation;
  if (!at.test_roots.empty() || !at.snp_vcek_dir.empty() || !at.snp_cert_chain.empty() || !at.tdx_collateral.empty() ||
      at.identity) {
    Json a = Json::object();
    if (!at.test_roots.empty()) a["test_roots"] = at.test_roots;
    for (auto [name, value] :
         {std::pair{"snp_vcek_dir", &at.snp_vcek_dir}, std::pair{"snp_cert_chain", &at.snp_cert_chain},
          std::pair{"tdx_collateral", &at.tdx_collateral}})
      if (!value->empty()) a[name] = *value;
    if (at.identity) a["identity"] = identity_json(*at.identity);
    j["attestation"] = std::move(a);
  }
  // Replace invalid UTF-8 instead of throwing: the dump must never fail.
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace aegis::config
