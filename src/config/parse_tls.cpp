// `tls:` blocks of listeners (server side) and clusters (client side), and
// `allow_peers` lists of SPIFFE ID matchers (listeners, routes, clusters).
// Files named here must exist and be readable at load time, so a typo in a
// path is reported at its line; what is inside them (PEM, key match, group
// names) is checked when the TLS contexts are built.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "config/sections.h"

namespace aegis::config::detail {
namespace {

constexpr std::string_view kSpiffeScheme = "spiffe://";

void parse_peer_matcher(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                        PeerMatcher& m) {
  const Object o(node, at, "allow_peers entry", path, {"exact", "prefix"}, d);
  if (!o.is_mapping()) return;
  o.read_string("exact", m.exact);
  o.read_string("prefix", m.prefix);
  if (o.has("exact") == o.has("prefix")) {
    d.error(o.mark(), "allow_peers entry needs exactly one of 'exact' or 'prefix' (a SPIFFE ID or its start)");
    return;
  }
  const std::string& id = m.exact.empty() ? m.prefix : m.exact;
  const std::string_view field = m.exact.empty() ? "prefix" : "exact";
  if (id.substr(0, kSpiffeScheme.size()) != kSpiffeScheme || id.size() == kSpiffeScheme.size()) {
    d.error(o.value_mark(field), std::string(field) + ": expected a SPIFFE ID such as "
                                 "'spiffe://example.org/ns/default/sa/web', got '" + id + "'");
  }
}

}  // namespace

// A file path, made absolute against the config file's directory, that must
// be readable now.
void read_file_path(const Object& o, const ParseContext& ctx, std::string_view field, std::string& out) {
  std::string text;
  if (!o.read_string(field, text)) return;
  if (text.empty()) {
    o.diags().error(o.value_mark(field), std::string(field) + ": must not be empty");
    return;
  }
  std::filesystem::path p(text);
  if (p.is_relative() && !ctx.base_dir.empty()) p = std::filesystem::path(ctx.base_dir) / p;
  out = p.lexically_normal().string();
  if (::access(out.c_str(), R_OK) != 0) {
    o.diags().error(o.value_mark(field), std::string(field) + ": cannot read '" + out + "': " +
                                             std::strerror(errno));
  }
}

void read_peer_matchers(const Object& o, std::string_view field, std::vector<PeerMatcher>& out) {
  o.for_each(field, [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
    parse_peer_matcher(item, p, at, o.diags(), out.emplace_back());
  });
  if (o.has(field) && out.empty()) {
    o.diags().error(o.value_mark(field), std::string(field) +
                                             ": an empty list would deny every peer; remove the field to allow any");
  }
}

void parse_tls(const Object& parent, ParseContext& ctx, TlsSide side, std::optional<TlsConfig>& out) {
  if (!parent.has("tls")) return;
  const bool server = side == TlsSide::kListener;
  const Object o =
      server ? Object(parent.get("tls"), parent.value_mark("tls"), "listener tls", parent.path("tls"),
                      {"cert_file", "key_file", "identity", "trust_bundle", "require_client_cert", "pq_policy",
                       "groups", "session_resumption", "handshake_timeout", "allow_peers", "attestation"},
                      ctx.diags)
             : Object(parent.get("tls"), parent.value_mark("tls"), "cluster tls", parent.path("tls"),
                      {"cert_file", "key_file", "identity", "trust_bundle", "pq_policy", "groups", "server_name",
                       "session_resumption", "allow_peers", "attestation"},
                      ctx.diags);
  if (!o.is_mapping()) return;
  TlsConfig& t = out.emplace();
  std::size_t identity = 0;
  if (o.read_choice("identity", {"files", "attested"}, identity) && identity == 1) {
    // The sidecar's own attested certificate (attestation.identity), which
    // it writes before the listeners start: not read here.
    if (o.has("cert_file") || o.has("key_file"))
      o.diags().error(o.value_mark("identity"),
                      "identity: attested presents attestation.identity's certificate and key; remove cert_file and "
                      "key_file");
    else if (ctx.identity_dir.empty())
      o.diags().error(o.value_mark("identity"),
                      "identity: attested needs a top-level attestation.identity (the sidecar's own attested "
                      "certificate)");
    t.attested_identity = true;
    if (!ctx.identity_dir.empty()) {
      t.cert_file = (std::filesystem::path(ctx.identity_dir) / "cert.pem").string();
      t.key_file = (std::filesystem::path(ctx.identity_dir) / "key.pem").string();
    }
  }
  read_file_path(o, ctx, "cert_file", t.cert_file);
  read_file_path(o, ctx, "key_file", t.key_file);
  read_file_path(o, ctx, "trust_bundle", t.trust_bundle);
  std::size_t policy = 0;
  if (o.read_choice("pq_policy", {"hybrid", "pq_only_1024", "compat"}, policy))
    t.pq_policy = std::array<const char*, 3>{"hybrid", "pq_only_1024", "compat"}.at(policy);
  if (o.has("groups") && o.read_strings("groups", t.groups)) {
    if (t.groups.empty()) o.diags().error(o.value_mark("groups"), "groups: needs at least one group (or remove it to use pq_policy)");
    for (std::size_t i = 0; i < t.groups.size(); ++i) {
      const auto& g = t.groups[i];
      if (g.empty() || g.find_first_of(":, \t") != std::string::npos)
        o.diags().error_at(o.path("groups") + "[" + std::to_string(i) + "]",
                           "groups: '" + g + "' is not a group name (one name per list entry, e.g. MLKEM1024)");
    }
  }
  read_peer_matchers(o, "allow_peers", t.allow_peers);
  if (o.has("attestation"))
    parse_attestation_policy(o.get("attestation"), o.value_mark("attestation"), o.path("attestation"), o.diags(),
                             t.attestation.emplace());

  o.read_bool("session_resumption", t.session_resumption);
  if (server) {
    o.read_bool("require_client_cert", t.require_client_cert);
    if (o.read_duration("handshake_timeout", t.handshake_timeout) && t.handshake_timeout.count() == 0)
      o.diags().error(o.value_mark("handshake_timeout"), "handshake_timeout: must be greater than 0");
    if (!t.attested_identity && (!o.has("cert_file") || !o.has("key_file")))
      o.diags().error(o.mark(),
                      "listener tls needs 'cert_file' and 'key_file' (the server certificate), or 'identity: "
                      "attested'");
    if (t.require_client_cert && !o.has("trust_bundle"))
      o.diags().error(o.value_mark("require_client_cert"),
                      "require_client_cert: needs 'trust_bundle' (the roots client certificates must chain to)");
    if (!t.allow_peers.empty() && !t.require_client_cert)
      o.diags().error(o.value_mark("allow_peers"),
                      "allow_peers: needs 'require_client_cert: true' (peers are identified by their certificate)");
    if (t.attestation && t.attestation->mode != AttestationPolicy::Mode::kOff && !t.require_client_cert)
      o.diags().error(o.value_mark("attestation"),
                      "attestation: needs 'require_client_cert: true' (the evidence is in the client's certificate)");
  } else {
    o.read_string("server_name", t.server_name);
    if (!o.has("trust_bundle"))
      o.diags().error(o.mark(), "cluster tls needs 'trust_bundle' (the roots the server's certificate must chain to)");
    if (o.has("cert_file") != o.has("key_file"))
      o.diags().error(o.mark(), "cluster tls: a client certificate needs both 'cert_file' and 'key_file'");
  }
}

}  // namespace aegis::config::detail
