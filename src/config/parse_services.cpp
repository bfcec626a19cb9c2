// services[]: the destinations that transparent outbound listeners carry
// over the mesh (config/types.h Service).
#include "config/sections.h"

namespace aegis::config::detail {
namespace {

void parse_service(const YAML::Node& node, const std::string& path, const YAML::Mark& at, ParseContext& ctx,
                   Service& s) {
  Diagnostics& d = ctx.diags;
  const Object o(node, at, "service", path, {"name", "addresses", "ports", "cluster", "peer_spiffe_id", "protocol"}, d);
  if (!o.is_mapping()) return;
  o.read_name("name", s.name);
  if (o.require("addresses")) {
    std::vector<std::string> raw;
    if (o.read_strings("addresses", raw)) {
      if (raw.empty()) d.error(o.value_mark("addresses"), "addresses: needs at least one IP or CIDR");
      for (const auto& text : raw) {
        if (auto cidr = canonical_cidr(text)) {
          s.addresses.push_back(std::move(*cidr));
        } else {
          d.error(o.value_mark("addresses"),
                  "addresses: expected an IPv4 or IPv6 address or CIDR "
                  "(\"10.96.0.0/12\", \"fd00::/64\"), got '" +
                      text + "'");
        }
      }
    }
  }
  o.for_each("ports", [&](const YAML::Node& item, const std::string&, const YAML::Mark& item_at) {
    const auto port = item.IsScalar() ? parse_uint(item.Scalar(), 1, 65535) : std::nullopt;
    if (!port) {
      d.error(item_at, "ports: expected a port 1-65535, got " + describe(item));
      return;
    }
    s.ports.push_back(static_cast<std::uint16_t>(*port));
  });
  if (o.require("cluster")) o.read_string("cluster", s.cluster);
  if (o.read_string("peer_spiffe_id", s.peer_spiffe_id) && s.peer_spiffe_id.rfind("spiffe://", 0) != 0) {
    d.error(o.value_mark("peer_spiffe_id"),
            "peer_spiffe_id: expected a SPIFFE ID (spiffe://trust-domain/path), got '" + s.peer_spiffe_id + "'");
  }
  std::size_t protocol = 0;
  if (o.read_choice("protocol", {"auto", "http", "tcp", "tls"}, protocol))
    s.protocol = static_cast<ServiceProtocol>(protocol);
}

}  // namespace

void parse_services(const Object& top, ParseContext& ctx, Config& out) {
  top.for_each("services", [&](const YAML::Node& item, const std::string& path, const YAML::Mark& at) {
    parse_service(item, path, at, ctx, out.services.emplace_back());
  });
}

}  // namespace aegis::config::detail
