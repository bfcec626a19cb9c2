// Resilience fields: a route's retry_policy and idle_timeout, a cluster's
// circuit_breakers and retry_budget (Envoy's shapes).
#include "config/sections.h"

namespace aegis::config::detail {
namespace {

std::string retry_on_names() {
  std::string out;
  for (const char* name : kRetryOnNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

void add_retry_on(const Object& o, const YAML::Mark& at, std::string_view name, RetryPolicy& p) {
  unsigned bit = 0;
  for (const char* known : kRetryOnNames) {
    if (name == known) {
      p.retry_on |= 1u << bit;
      return;
    }
    ++bit;
  }
  o.diags().error(at, "retry_on: unknown condition '" + std::string(name) + "'; expected: " + retry_on_names());
}

// A list of names, or Envoy's comma-separated string ("5xx,reset").
void read_retry_on(const Object& o, RetryPolicy& p) {
  const std::size_t errors_before = o.diags().count();
  const YAML::Node node = o.get("retry_on");
  if (node.IsScalar()) {
    std::string_view rest = node.Scalar();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      add_retry_on(o, o.value_mark("retry_on"), name, p);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else {
    o.for_each("retry_on", [&](const YAML::Node& item, const std::string&, const YAML::Mark& at) {
      if (!item.IsScalar()) {
        o.diags().error(at, "retry_on: expected condition names, got " + describe(item));
        return;
      }
      add_retry_on(o, at, item.Scalar(), p);
    });
  }
  if (p.retry_on == 0 && o.diags().count() == errors_before) {
    o.diags().error(o.value_mark("retry_on"), "retry_on: needs at least one condition (" + retry_on_names() + ")");
  }
}

void read_back_off(const Object& policy, RetryBackOff& b) {
  const Object o(policy.get("retry_back_off"), policy.value_mark("retry_back_off"), "retry_back_off",
                 policy.path("retry_back_off"), {"base_interval", "max_interval"}, policy.diags());
  if (!o.is_mapping()) return;
  if (o.read_duration("base_interval", b.base_interval) && b.base_interval.count() == 0) {
    o.diags().error(o.value_mark("base_interval"), "base_interval: must be greater than 0");
  }
  b.max_interval = b.base_interval * 10;
  if (o.read_duration("max_interval", b.max_interval) && b.max_interval < b.base_interval) {
    o.diags().error(o.value_mark("max_interval"), "max_interval: must not be less than base_interval (" +
                                                      format_duration(b.base_interval) + ")");
  }
}

}  // namespace

void parse_retry_policy(const Object& action, RetryPolicy& p) {
  const Object o(action.get("retry_policy"), action.value_mark("retry_policy"), "retry_policy",
                 action.path("retry_policy"),
                 {"retry_on", "num_retries", "per_try_timeout", "retriable_status_codes", "retry_back_off",
                  "retry_non_idempotent", "retry_buffer_limit"},
                 action.diags());
  if (!o.is_mapping()) return;
  if (o.require("retry_on")) read_retry_on(o, p);
  std::uint64_t n = 0;
  if (o.read_uint("num_retries", 0, 100, n)) p.num_retries = static_cast<std::uint32_t>(n);
  o.read_duration("per_try_timeout", p.per_try_timeout);
  o.for_each("retriable_status_codes", [&](const YAML::Node& item, const std::string&, const YAML::Mark& at) {
    const auto code = item.IsScalar() ? parse_uint(item.Scalar(), 100, 599) : std::nullopt;
    if (!code) {
      o.diags().error(at, "retriable_status_codes: expected HTTP status codes 100-599, got " + describe(item));
      return;
    }
    p.retriable_status_codes.push_back(static_cast<unsigned>(*code));
  });
  if ((p.retry_on & kRetryOnRetriableStatusCodes) && p.retriable_status_codes.empty()) {
    o.diags().error(o.value_mark("retry_on"),
                    "retry_on: 'retriable-status-codes' needs a non-empty retriable_status_codes list");
  }
  if (o.has("retry_back_off")) read_back_off(o, p.back_off);
  o.read_bool("retry_non_idempotent", p.retry_non_idempotent);
  o.read_uint("retry_buffer_limit", 0, 64ull << 20, p.retry_buffer_limit);
}

void parse_circuit_breakers(const Object& cluster, CircuitBreakers& cb) {
  const Object o(cluster.get("circuit_breakers"), cluster.value_mark("circuit_breakers"), "circuit_breakers",
                 cluster.path("circuit_breakers"),
                 {"max_connections", "max_pending_requests", "max_requests", "max_retries"}, cluster.diags());
  if (!o.is_mapping()) return;
  o.read_u32("max_connections", 1, cb.max_connections);
  o.read_u32("max_pending_requests", 1, cb.max_pending_requests);
  o.read_u32("max_requests", 1, cb.max_requests);
  o.read_u32("max_retries", 0, cb.max_retries);
}

void parse_retry_budget(const Object& cluster, std::optional<RetryBudget>& out) {
  const Object o(cluster.get("retry_budget"), cluster.value_mark("retry_budget"), "retry_budget",
                 cluster.path("retry_budget"), {"budget_percent", "min_retry_concurrency"}, cluster.diags());
  if (!o.is_mapping()) return;
  RetryBudget b;
  std::uint64_t percent = b.budget_percent;
  if (o.read_uint("budget_percent", 1, 100, percent)) b.budget_percent = static_cast<std::uint32_t>(percent);
  o.read_u32("min_retry_concurrency", 0, b.min_retry_concurrency);
  out = b;
}

}  // namespace aegis::config::detail
