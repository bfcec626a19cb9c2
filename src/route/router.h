// Route selection: picks the virtual host for a request's authority and the
// first route in it whose path and header matchers hold. Sits between the HTTP
// codec and upstream selection; built once per RouteConfiguration snapshot and
// immutable afterwards, so every worker can share one instance without locks.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/types.h"

namespace aegis::route {

struct Match {
  const config::VirtualHost* vhost;
  const config::Route* route;
};

// Looks up a request header by lower-case name; nullopt when absent.
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view)>;

class Router {
 public:
  // Keeps a pointer to `rc` (the snapshot owns both and `rc` outlives the router)
  // and precompiles the domain tables.
  explicit Router(const config::RouteConfiguration& rc);

  // Virtual host selection follows Envoy: exact domain, then the longest suffix
  // wildcard ("*.example.com"), then the longest prefix wildcard ("api.*"), then
  // "*". Domains compare case-insensitively. The full authority (host:port) is
  // tried first against the non-"*" domains; if none matches and the authority
  // carries a port, the host without the port is tried; "*" comes last.
  //
  // `target` is an origin-form request target; anything from '?' or '#' on is
  // ignored for matching. Path matching is case-sensitive (Envoy's default).
  // Allocation-free.
  std::optional<Match> match(std::string_view authority, std::string_view target,
                             const HeaderLookup& header) const;

  // The virtual host alone (exposed for tests and the admin route dump).
  const config::VirtualHost* find_virtual_host(std::string_view authority) const;

 private:
  struct DomainEntry {
    std::string key;  // lower-cased; the wildcard '*' stripped for wildcards
    std::size_t vhost;
  };

  const config::VirtualHost* find_specific(std::string_view host) const;

  const config::RouteConfiguration* rc_;
  std::vector<DomainEntry> exact_;     // sorted by key
  std::vector<DomainEntry> suffixes_;  // longest key first, config order on ties
  std::vector<DomainEntry> prefixes_;  // longest key first, config order on ties
  std::optional<std::size_t> catch_all_;
};

}  // namespace aegis::route
