// clusters[].health_checks, clusters[].outlier_detection and
// clusters[].healthy_panic_threshold: how endpoints are judged fit for
// traffic (active checks, passive ejection) and when the judgement is set
// aside (panic). Shaped on Envoy's HealthCheck and OutlierDetection.
#include <algorithm>

#include "config/sections.h"

namespace aegis::config::detail {
namespace {

// A duration that must be set and greater than 0.
void read_positive_duration(const Object& o, std::string_view field, bool required, Millis& out) {
  if (required && !o.require(field)) return;
  if (o.read_duration(field, out) && out.count() == 0)
    o.diags().error(o.value_mark(field), std::string(field) + ": must be greater than 0");
}

void parse_status_range(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                        std::vector<StatusRange>& out) {
  const Object o(node, at, "expected_statuses entry", path, {"start", "end"}, d);
  if (!o.is_mapping()) return;
  StatusRange r;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  bool ok = o.require("start") && o.read_uint("start", 100, 599, start);
  ok = o.require("end") && o.read_uint("end", 101, 600, end) && ok;
  if (!ok) return;
  if (end <= start) {
    d.error(o.value_mark("end"), "end: must be greater than start (" + std::to_string(start) +
                                     "); the range is [start, end), so {start: 200, end: 300} is 2xx");
    return;
  }
  r.start = static_cast<std::uint32_t>(start);
  r.end = static_cast<std::uint32_t>(end);
  out.push_back(r);
}

void parse_http_check(const Object& check, HealthCheck& hc) {
  const Object o(check.get("http"), check.value_mark("http"), "http health check", check.path("http"),
                 {"path", "host", "expected_statuses"}, check.diags());
  if (!o.is_mapping()) return;
  if (o.require("path") && o.read_string("path", hc.path) && (hc.path.empty() || hc.path.front() != '/' ||
                                                              !is_safe_header_value(hc.path) ||
                                                              hc.path.find(' ') != std::string::npos)) {
    o.diags().error(o.value_mark("path"), "path: must start with '/' and contain no spaces or line breaks, got '" +
                                              hc.path + "'");
  }
  if (o.read_string("host", hc.host) && (hc.host.empty() || !is_safe_header_value(hc.host)))
    o.diags().error(o.value_mark("host"), "host: must be a non-empty header value without line breaks");
  if (o.has("expected_statuses")) {
    o.for_each("expected_statuses", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
      parse_status_range(item, p, at, o.diags(), hc.expected_statuses);
    });
  }
}

void parse_grpc_check(const Object& check, HealthCheck& hc) {
  const Object o(check.get("grpc"), check.value_mark("grpc"), "grpc health check", check.path("grpc"),
                 {"service_name", "authority"}, check.diags());
  if (!o.is_mapping()) return;
  o.read_string("service_name", hc.service_name);
  if (o.read_string("authority", hc.authority) && (hc.authority.empty() || !is_safe_header_value(hc.authority)))
    o.diags().error(o.value_mark("authority"), "authority: must be a non-empty header value without line breaks");
}

void parse_health_check(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                        HealthCheck& hc) {
  const Object o(node, at, "health check", path,
                 {"timeout", "interval", "interval_jitter", "healthy_threshold", "unhealthy_threshold", "tcp", "http",
                  "grpc"},
                 d);
  if (!o.is_mapping()) return;
  read_positive_duration(o, "timeout", true, hc.timeout);
  read_positive_duration(o, "interval", true, hc.interval);
  o.read_duration("interval_jitter", hc.interval_jitter);
  if (o.require("healthy_threshold")) o.read_u32("healthy_threshold", 1, hc.healthy_threshold);
  if (o.require("unhealthy_threshold")) o.read_u32("unhealthy_threshold", 1, hc.unhealthy_threshold);
  const int kinds = int(o.present("tcp")) + int(o.present("http")) + int(o.present("grpc"));
  if (kinds != 1) {
    d.error(o.mark(), kinds == 0 ? "health check needs one of 'tcp: {}', 'http: {path: ...}' or 'grpc: {}'"
                                 : "health check sets more than one of 'tcp', 'http' and 'grpc'; use one");
    return;
  }
  if (o.present("tcp")) {
    hc.kind = HealthCheckKind::kTcp;
    const Object tcp(o.get("tcp"), o.value_mark("tcp"), "tcp health check", o.path("tcp"), {}, d);
  } else if (o.present("http")) {
    hc.kind = HealthCheckKind::kHttp;
    parse_http_check(o, hc);
  } else {
    hc.kind = HealthCheckKind::kGrpc;
    parse_grpc_check(o, hc);
  }
}

void parse_outlier_detection(const Object& cluster, Cluster& c) {
  const Object o(cluster.get("outlier_detection"), cluster.value_mark("outlier_detection"), "outlier_detection",
                 cluster.path("outlier_detection"),
                 {"consecutive_5xx", "consecutive_gateway_failure", "interval", "base_ejection_time",
                  "max_ejection_time", "max_ejection_percent", "always_eject_one_host", "success_rate_minimum_hosts",
                  "success_rate_request_volume", "success_rate_stdev_factor"},
                 cluster.diags());
  if (!o.is_mapping()) return;
  OutlierDetection od;
  o.read_u32("consecutive_5xx", 0, od.consecutive_5xx);
  o.read_u32("consecutive_gateway_failure", 0, od.consecutive_gateway_failure);
  read_positive_duration(o, "interval", false, od.interval);
  read_positive_duration(o, "base_ejection_time", false, od.base_ejection_time);
  // Envoy: max_ejection_time defaults to the larger of 300s and base_ejection_time.
  od.max_ejection_time = std::max(od.max_ejection_time, od.base_ejection_time);
  read_positive_duration(o, "max_ejection_time", false, od.max_ejection_time);
  if (o.has("max_ejection_time") && od.max_ejection_time < od.base_ejection_time) {
    o.diags().error(o.value_mark("max_ejection_time"), "max_ejection_time: must be at least base_ejection_time (" +
                                                           format_duration(od.base_ejection_time) + ")");
  }
  std::uint64_t pct = od.max_ejection_percent;
  if (o.read_uint("max_ejection_percent", 0, 100, pct)) od.max_ejection_percent = static_cast<std::uint32_t>(pct);
  o.read_bool("always_eject_one_host", od.always_eject_one_host);
  o.read_u32("success_rate_minimum_hosts", 0, od.success_rate_minimum_hosts);
  o.read_u32("success_rate_request_volume", 1, od.success_rate_request_volume);
  o.read_u32("success_rate_stdev_factor", 0, od.success_rate_stdev_factor);
  c.outlier_detection = od;
}

}  // namespace

void parse_cluster_health(const Object& o, Cluster& c) {
  if (o.has("health_checks")) {
    o.for_each("health_checks", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
      if (c.health_checks.size() == 1) {
        o.diags().error(at, "health_checks: only one health check per cluster is supported");
        return;
      }
      parse_health_check(item, p, at, o.diags(), c.health_checks.emplace_back());
    });
  }
  if (o.present("outlier_detection")) parse_outlier_detection(o, c);
  std::uint64_t panic = c.healthy_panic_threshold;
  if (o.read_uint("healthy_panic_threshold", 0, 100, panic)) c.healthy_panic_threshold = static_cast<std::uint32_t>(panic);
}

}  // namespace aegis::config::detail
