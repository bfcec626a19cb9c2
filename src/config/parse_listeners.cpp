// admin, access_log and listeners[]: the sockets Aegis-Flow binds.
#include "config/sections.h"

namespace aegis::config::detail {
namespace {

// An address field: an IP literal or "localhost", stored canonically.
bool read_ip(const Object& obj, std::string_view field, std::string& out) {
  std::string text;
  if (!obj.read_string(field, text)) return false;
  if (auto ip = canonical_ip(text)) {
    out = *ip;
    return true;
  }
  std::string hint;
  if (parse_host_port(text)) hint = " (set the port in the 'port' field)";
  obj.diags().error(obj.value_mark(field), std::string(field) +
                                               ": expected an IPv4 or IPv6 address or 'localhost', got '" +
                                               text + "'" + hint);
  return false;
}

void parse_limits(const Object& listener, HttpLimits& limits) {
  if (!listener.present("limits")) return;
  const Object o(listener.get("limits"), listener.value_mark("limits"), "limits", listener.path("limits"),
                 {"max_request_header_bytes", "max_request_headers", "max_request_line_bytes",
                  "max_request_body_bytes", "max_response_header_bytes"},
                 listener.diags());
  o.read_u32("max_request_header_bytes", 1, limits.max_request_header_bytes);
  o.read_u32("max_request_headers", 1, limits.max_request_headers);
  o.read_u32("max_request_line_bytes", 1, limits.max_request_line_bytes);
  o.read_uint("max_request_body_bytes", 0, UINT64_MAX, limits.max_request_body_bytes);
  o.read_u32("max_response_header_bytes", 1, limits.max_response_header_bytes);
}

}  // namespace

void parse_http2(const Object& listener, Http2Options& h) {
  if (!listener.present("http2")) return;
  const Object o(listener.get("http2"), listener.value_mark("http2"), "http2", listener.path("http2"),
                 {"max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size",
                  "max_header_list_size", "max_frame_size", "max_continuation_frames", "flood_window",
                  "max_resets_per_window", "max_pings_per_window", "max_settings_per_window",
                  "max_consecutive_empty_frames", "max_outbound_control_frames",
                  "max_window_updates_per_data_frame_sent", "max_priority_frames_per_stream"},
                 listener.diags());
  auto read_range = [&](std::string_view field, std::uint64_t min, std::uint64_t max, std::uint32_t& out) {
    std::uint64_t v = out;
    if (o.read_uint(field, min, max, v)) out = static_cast<std::uint32_t>(v);
  };
  constexpr std::uint64_t kMaxWindow = 2147483647;  // RFC 9113 §6.9.1
  read_range("max_concurrent_streams", 1, UINT32_MAX, h.max_concurrent_streams);
  read_range("initial_stream_window_size", 65535, kMaxWindow, h.initial_stream_window_size);
  read_range("initial_connection_window_size", 65535, kMaxWindow, h.initial_connection_window_size);
  read_range("max_header_list_size", 1, UINT32_MAX, h.max_header_list_size);
  read_range("max_frame_size", 16384, 16777215, h.max_frame_size);  // RFC 9113 §6.5.2
  read_range("max_continuation_frames", 0, UINT32_MAX, h.max_continuation_frames);
  if (o.read_duration("flood_window", h.flood_window) && h.flood_window.count() == 0)
    o.diags().error(o.value_mark("flood_window"), "flood_window: must be greater than 0 (e.g. 10s)");
  read_range("max_resets_per_window", 1, UINT32_MAX, h.max_resets_per_window);
  read_range("max_pings_per_window", 1, UINT32_MAX, h.max_pings_per_window);
  read_range("max_settings_per_window", 1, UINT32_MAX, h.max_settings_per_window);
  read_range("max_consecutive_empty_frames", 0, UINT32_MAX, h.max_consecutive_empty_frames);
  read_range("max_outbound_control_frames", 1, UINT32_MAX, h.max_outbound_control_frames);
  read_range("max_window_updates_per_data_frame_sent", 1, UINT32_MAX, h.max_window_updates_per_data_frame_sent);
  read_range("max_priority_frames_per_stream", 0, UINT32_MAX, h.max_priority_frames_per_stream);
}

namespace {

void check_protocol_fields(const Object& o, const Listener& l) {
  Diagnostics& d = o.diags();
  if (l.protocol == ListenerProtocol::kHttp) {
    if (o.has("cluster")) {
      d.error(o.value_mark("cluster"),
              "cluster: an http listener routes through 'route_config'; 'cluster' is for protocol: tcp");
    }
    if (!o.has("route_config") && o.is_mapping()) {
      d.error(o.mark(), "missing required field 'route_config' in listener (protocol: http)");
    }
    return;
  }
  if (o.has("route_config")) {
    d.error(o.value_mark("route_config"),
            "route_config: a tcp listener forwards to 'cluster'; 'route_config' is for protocol: http");
  }
  for (std::string_view http_only : {"request_headers_timeout", "limits", "xff_trust_downstream", "codec", "http2",
                                     "normalize_path", "merge_slashes", "path_with_escaped_slashes_action"}) {
    if (o.has(http_only)) {
      d.error(o.value_mark(http_only), std::string(http_only) + ": applies only to protocol: http");
    }
  }
  if (l.transparent != TransparentMode::kNone) {
    if (o.has("cluster")) {
      d.error(o.value_mark("cluster"),
              "cluster: a transparent listener sends each connection where its original "
              "destination leads (services, or 127.0.0.1 for inbound); remove 'cluster'");
    }
  } else if (!o.has("cluster") && o.is_mapping()) {
    d.error(o.mark(), "missing required field 'cluster' in listener (protocol: tcp)");
  }
}

void parse_transparent(const Object& o, Listener& l) {
  Diagnostics& d = o.diags();
  std::size_t mode = 0;
  if (o.read_choice("transparent", {"outbound", "inbound"}, mode)) {
    l.transparent = mode == 0 ? TransparentMode::kOutbound : TransparentMode::kInbound;
    if (l.protocol != ListenerProtocol::kTcp) {
      d.error(o.value_mark("transparent"),
              "transparent: needs protocol: tcp (the listener takes whole connections "
              "redirected by netfilter)");
    }
  }
  std::size_t policy = 0;
  if (o.read_choice("outbound_policy", {"allow_any", "registry_only"}, policy)) {
    l.outbound_policy = policy == 0 ? OutboundPolicy::kAllowAny : OutboundPolicy::kRegistryOnly;
  }
  if (o.read_duration("detect_timeout", l.detect_timeout) && l.detect_timeout.count() == 0) {
    d.error(o.value_mark("detect_timeout"), "detect_timeout: must be greater than 0");
  }
  for (std::string_view outbound_only : {"outbound_policy", "detect_timeout"}) {
    if (o.has(outbound_only) && l.transparent != TransparentMode::kOutbound) {
      d.error(o.value_mark(outbound_only), std::string(outbound_only) + ": applies only to transparent: outbound");
    }
  }
}

void parse_listener(const YAML::Node& node, const std::string& path, const YAML::Mark& at, ParseContext& ctx,
                    Listener& l) {
  Diagnostics& d = ctx.diags;
  const Object o(
      node, at, "listener", path,
      {"name", "address", "port", "protocol", "route_config", "cluster", "idle_timeout", "request_headers_timeout",
       "xff_trust_downstream", "limits", "codec", "http2", "tls", "normalize_path", "merge_slashes",
       "path_with_escaped_slashes_action", "transparent", "outbound_policy", "detect_timeout"},
      d);
  if (!o.is_mapping()) return;
  o.read_name("name", l.name);
  read_ip(o, "address", l.address.address);
  if (o.require("port")) o.read_port("port", l.address.port);
  std::size_t protocol = 0;
  if (o.read_choice("protocol", {"http", "tcp"}, protocol)) {
    l.protocol = protocol == 0 ? ListenerProtocol::kHttp : ListenerProtocol::kTcp;
  }
  o.read_string("route_config", l.route_config);
  o.read_string("cluster", l.cluster);
  // 0 is refused rather than read as "no limit": the http session arms its
  // timers with these values directly, so 0 would close every connection.
  for (auto [field, value] : {std::pair{"idle_timeout", &l.idle_timeout},
                              std::pair{"request_headers_timeout", &l.request_headers_timeout}}) {
    if (o.read_duration(field, *value) && value->count() == 0) {
      d.error(o.value_mark(field), std::string(field) + ": must be greater than 0 (use a long duration such as 1h)");
    }
  }
  o.read_bool("xff_trust_downstream", l.xff_trust_downstream);
  o.read_bool("normalize_path", l.normalize_path);
  o.read_bool("merge_slashes", l.merge_slashes);
  std::size_t slashes = 0;
  if (o.read_choice("path_with_escaped_slashes_action", {"keep_unchanged", "reject_request", "unescape_and_forward"},
                    slashes))
    l.path_with_escaped_slashes_action = static_cast<EscapedSlashesAction>(slashes);
  parse_limits(o, l.limits);
  std::size_t codec = 0;
  if (o.read_choice("codec", {"auto", "http1", "http2"}, codec))
    l.codec = codec == 0 ? HttpCodec::kAuto : codec == 1 ? HttpCodec::kHttp1 : HttpCodec::kHttp2;
  parse_http2(o, l.http2);
  parse_tls(o, ctx, TlsSide::kListener, l.tls);
  parse_transparent(o, l);
  check_protocol_fields(o, l);
}

}  // namespace

void parse_admin(const Object& top, Config& out) {
  if (!top.present("admin")) return;
  const Object o(top.get("admin"), top.value_mark("admin"), "admin", "admin", {"address", "port"}, top.diags());
  read_ip(o, "address", out.admin.address.address);
  o.read_port("port", out.admin.address.port);
}

void parse_node(const Object& top, Config& out) {
  if (!top.present("node")) return;
  const Object o(top.get("node"), top.value_mark("node"), "node", "node", {"region", "zone"}, top.diags());
  o.read_string("region", out.node.region);
  o.read_string("zone", out.node.zone);
  if (out.node.region.empty() && !out.node.zone.empty()) {
    o.diags().error(o.value_mark("zone"), "node: zone '" + out.node.zone +
                                              "' needs its region (a zone is matched within its region)");
  }
}

void parse_process(const Object& top, Config& out) {
  if (!top.present("process")) return;
  const Object o(top.get("process"), top.value_mark("process"), "process", "process",
                 {"dumpable", "user", "group", "seccomp"}, top.diags());
  o.read_bool("dumpable", out.process.dumpable);
  o.read_string("user", out.process.user);
  o.read_string("group", out.process.group);
  o.read_bool("seccomp", out.process.seccomp);
  if (out.process.user.empty() && !out.process.group.empty())
    o.diags().error(o.value_mark("group"), "process: group '" + out.process.group +
                                               "' needs a user to drop to (set process.user)");
}

void parse_access_log(const Object& top, Config& out) {
  if (!top.present("access_log")) return;
  const Object o(top.get("access_log"), top.value_mark("access_log"), "access_log", "access_log", {"path"},
                 top.diags());
  o.read_string("path", out.access_log.path);
}

void parse_listeners(const Object& top, ParseContext& ctx, Config& out) {
  top.for_each("listeners", [&](const YAML::Node& item, const std::string& path, const YAML::Mark& at) {
    parse_listener(item, path, at, ctx, out.listeners.emplace_back());
  });
}

}  // namespace aegis::config::detail
