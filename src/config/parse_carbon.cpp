// carbon: {providers: [...]}: the grid-intensity feeds (config/carbon.h).
// Checks what can be known at load time: types, URLs, zones (one provider
// per zone), credentials present (the variable is set, the file readable;
// their contents are read only by the feed), trace files readable.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "config/sections.h"

namespace aegis::config {

const char* to_string(CarbonProviderType t) {
  switch (t) {
    case CarbonProviderType::kElectricityMaps: return "electricity_maps";
    case CarbonProviderType::kWattTime: return "watttime";
    case CarbonProviderType::kUkCarbonIntensity: return "uk_carbon_intensity";
    case CarbonProviderType::kCarbonAwareSdk: return "carbon_aware_sdk";
    case CarbonProviderType::kFile: return "file";
  }
  return "?";
}

std::string_view default_base_url(CarbonProviderType t) {
  switch (t) {
    case CarbonProviderType::kElectricityMaps: return "https://api.electricitymap.org";
    case CarbonProviderType::kWattTime: return "https://api.watttime.org";
    case CarbonProviderType::kUkCarbonIntensity: return "https://api.carbonintensity.org.uk";
    default: return "";
  }
}

core::Result<BaseUrl> parse_base_url(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return core::Error{"base_url '" + std::string(text.substr(0, 100)) + "': " + std::string(why) +
                       " (expected http[s]://host[:port][/prefix])"};
  };
  BaseUrl u;
  std::string_view rest = text;
  if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
    u.tls = false;
    u.port = 80;
  } else {
    return bad("the scheme must be http or https");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not allowed; use token_env or token_file");
  if (path.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment allowed");
  for (const char c : path)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("the path holds spaces or control characters");
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.prefix = std::string(path);
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after ']'");
      port = authority.substr(close + 2);
      has_port = true;
    }
    if (!is_ipv6_literal(host)) return bad("not an IPv6 address in '[...]'");
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return bad("no host");
    if (!canonical_ip(host) && !is_dns_name(host)) return bad("the host is not a DNS name or IP address");
  }
  u.host = std::string(host);
  if (has_port) {
    const auto p = parse_uint(port, 1, 65535);
    if (!p) return bad("the port must be 1-65535");
    u.port = static_cast<std::uint16_t>(*p);
  }
  return u;
}

namespace detail {
namespace {

bool valid_zone_name(std::string_view z) {
  if (z.empty() || z.size() > 64) return false;
  for (const char c : z) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string resolve_path(const ParseContext& ctx, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative() && !ctx.base_dir.empty()) path = std::filesystem::path(ctx.base_dir) / path;
  return path.string();
}

bool readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<bool>(in);
}

// zones: {ZONE: ID, ...} or [ZONE, ...] (the provider's id is the zone's name).
void parse_zones(const Object& o, ParseContext& ctx, CarbonProvider& p) {
  if (!o.require("zones")) return;
  const YAML::Node node = o.get("zones");
  const auto add = [&](const std::string& zone, const std::string& id, const YAML::Mark& at) {
    if (!valid_zone_name(zone)) {
      o.diags().error(at, "zones: zone name '" + zone.substr(0, 80) +
                              "' must be 1-64 letters, digits, '-', '_', '.' or ':'");
      return;
    }
    if (id.empty() || id.size() > 4096) {
      o.diags().error(at, "zones: zone '" + zone + "' needs a non-empty provider id");
      return;
    }
    std::string value = id;
    if (p.type == CarbonProviderType::kFile) {
      value = resolve_path(ctx, id);
      if (!readable(value)) {
        o.diags().error(at, "zones: zone '" + zone + "': cannot read the trace file '" + value + "'");
        return;
      }
    }
    if (!p.zones.emplace(zone, value).second) o.diags().error(at, "zones: zone '" + zone + "' is listed twice");
  };
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
        o.diags().error(kv.first.Mark(), "zones: expected ZONE: ID pairs of plain strings");
        continue;
      }
      add(kv.first.Scalar(), kv.second.Scalar(), kv.first.Mark());
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        o.diags().error(item.Mark(), "zones: expected a list of zone names");
        continue;
      }
      add(item.Scalar(), item.Scalar(), item.Mark());
    }
  } else {
    o.diags().error(o.value_mark("zones"), "zones: expected a mapping ZONE: ID (or a list of zones), got " +
                                               describe(node));
    return;
  }
  if (node.size() == 0) o.diags().error(o.value_mark("zones"), "zones: list at least one zone");
}

// Exactly one of FIELD_env / FIELD_file; the variable set, the file readable.
void parse_secret(const Object& o, ParseContext& ctx, std::string_view what, std::string& env, std::string& file,
                  bool required) {
  const std::string env_field = std::string(what) + "_env";
  const std::string file_field = std::string(what) + "_file";
  const bool has_env = o.read_string(env_field, env);
  const bool has_file = o.read_string(file_field, file);
  if (has_env && has_file) {
    o.diags().error(o.value_mark(file_field), "set one of " + env_field + " and " + file_field + ", not both");
    return;
  }
  if (!has_env && !has_file) {
    if (required)
      o.diags().error(o.mark(), "provider needs its " + std::string(what) + ": set " + env_field +
                                    " (an environment variable's name) or " + file_field + " (a file holding it)");
    return;
  }
  if (has_env) {
    const char* v = std::getenv(env.c_str());
    if (env.empty() || v == nullptr || *v == '\0')
      o.diags().error(o.value_mark(env_field), env_field + ": the environment variable '" + env + "' is not set");
  } else {
    file = resolve_path(ctx, file);
    if (!readable(file)) o.diags().error(o.value_mark(file_field), file_field + ": cannot read '" + file + "'");
  }
}

void refuse(const Object& o, std::initializer_list<std::string_view> fields, const char* type) {
  for (const auto f : fields)
    if (o.present(f))
      o.diags().error(o.value_mark(f), std::string(f) + ": not used by provider type " + type);
}

void read_positive(const Object& o, std::string_view field, Millis& out) {
  if (o.read_duration(field, out) && out.count() <= 0)
    o.diags().error(o.value_mark(field), std::string(field) + ": must be greater than 0");
}

void parse_provider(const YAML::Node& node, const std::string& path, const YAML::Mark& at, ParseContext& ctx,
                    CarbonProvider& p) {
  const Object o(node, at, "carbon provider", path,
                 {"name", "type", "base_url", "zones", "poll_interval", "max_age", "timeout", "initial_backoff",
                  "max_backoff", "token_env", "token_file", "username", "password_env", "password_file", "ca_file",
                  "emission_factor", "time_offset", "speed", "loop"},
                 ctx.diags);
  if (!o.is_mapping()) return;
  std::size_t type = 0;
  if (!o.require("type") ||
      !o.read_choice("type", {"electricity_maps", "watttime", "uk_carbon_intensity", "carbon_aware_sdk", "file"}, type))
    return;
  p.type = static_cast<CarbonProviderType>(type);
  p.name = to_string(p.type);
  if (o.has("name")) o.read_name("name", p.name);
  const bool file = p.type == CarbonProviderType::kFile;
  if (file) p.poll_interval = Millis(10'000);
  read_positive(o, "poll_interval", p.poll_interval);
  read_positive(o, "max_age", p.max_age);
  read_positive(o, "timeout", p.timeout);
  read_positive(o, "initial_backoff", p.initial_backoff);
  read_positive(o, "max_backoff", p.max_backoff);
  if (o.has("max_backoff") && p.max_backoff < p.initial_backoff)
    o.diags().error(o.value_mark("max_backoff"), "max_backoff: must be at least initial_backoff");
  parse_zones(o, ctx, p);

  if (file) {
    refuse(o, {"base_url", "token_env", "token_file", "username", "password_env", "password_file", "ca_file"}, "file");
    std::size_t factor = 0;
    if (o.read_choice("emission_factor", {"direct", "lifecycle"}, factor)) p.lifecycle = factor == 1;
    o.read_duration("time_offset", p.time_offset);
    o.read_decimal("speed", 0.001, 1'000'000, p.speed);
    o.read_bool("loop", p.loop);
    return;
  }
  refuse(o, {"emission_factor", "time_offset", "speed", "loop"}, to_string(p.type));
  p.base_url = std::string(default_base_url(p.type));
  if (o.read_string("base_url", p.base_url) || !p.base_url.empty()) {
    if (auto u = parse_base_url(p.base_url); !u)
      o.diags().error(o.has("base_url") ? o.value_mark("base_url") : o.mark(), u.error().message);
  } else if (p.type == CarbonProviderType::kCarbonAwareSdk && !o.has("base_url")) {
    o.diags().error(o.mark(), "carbon_aware_sdk has no public endpoint: set base_url to your Carbon Aware WebAPI");
  }
  if (o.read_string("ca_file", p.ca_file)) {
    p.ca_file = resolve_path(ctx, p.ca_file);
    if (!readable(p.ca_file)) o.diags().error(o.value_mark("ca_file"), "ca_file: cannot read '" + p.ca_file + "'");
  }
  switch (p.type) {
    case CarbonProviderType::kElectricityMaps:
      refuse(o, {"username", "password_env", "password_file"}, "electricity_maps");
      parse_secret(o, ctx, "token", p.token_env, p.token_file, /*required=*/true);
      break;
    case CarbonProviderType::kWattTime:
      refuse(o, {"token_env", "token_file"}, "watttime");
      if (o.require("username")) o.read_name("username", p.username);
      parse_secret(o, ctx, "password", p.password_env, p.password_file, /*required=*/true);
      break;
    case CarbonProviderType::kUkCarbonIntensity:  // no account
      refuse(o, {"username", "password_env", "password_file", "token_env", "token_file"}, "uk_carbon_intensity");
      break;
    default:  // Carbon Aware SDK: a bearer token if something in front of it wants one
      refuse(o, {"username", "password_env", "password_file"}, to_string(p.type));
      parse_secret(o, ctx, "token", p.token_env, p.token_file, /*required=*/false);
      break;
  }
}

}  // namespace

void parse_carbon(const Object& top, ParseContext& ctx, Config& out) {
  if (!top.present("carbon")) return;
  const Object o(top.get("carbon"), top.value_mark("carbon"), "carbon", "carbon", {"providers"}, ctx.diags);
  if (!o.is_mapping()) return;
  o.for_each("providers", [&](const YAML::Node& item, const std::string& path, const YAML::Mark& at) {
    parse_provider(item, path, at, ctx, out.carbon.providers.emplace_back());
  });
  // One name per provider, one provider per zone.
  std::map<std::string, std::size_t> names;
  std::map<std::string, std::size_t> zone_owner;
  for (std::size_t i = 0; i < out.carbon.providers.size(); ++i) {
    const auto& p = out.carbon.providers[i];
    const std::string path = "carbon.providers[" + std::to_string(i) + "]";
    if (!names.emplace(p.name, i).second)
      ctx.diags.error_at(path, "duplicate carbon provider name '" + p.name + "'; give each provider its own name");
    for (const auto& [zone, id] : p.zones) {
      const auto [it, fresh] = zone_owner.emplace(zone, i);
      if (!fresh)
        ctx.diags.error_at(path, "zone '" + zone + "' is already fed by provider '" +
                                     out.carbon.providers[it->second].name + "'; a zone has one source");
    }
  }
}

}  // namespace detail
}  // namespace aegis::config
