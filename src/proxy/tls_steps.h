// The TLS steps the HTTP and the TCP sessions share: finishing a downstream
// handshake (metrics, compat warning, what the access log needs) and the
// whole upstream one (TLS client of the cluster, the endpoint's ticket, the
// server's identity check).
#pragma once

#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>

#include "core/io.h"
#include "net/stream.h"
#include "proxy/access_log.h"
#include "tls/runtime.h"
#include "tls/session_cache.h"

namespace aegis::proxy {

// After `s.handshake()` returned `ec` on a listener: counts it and, on
// success, returns the negotiated parameters and the peer's verified SPIFFE
// ID (empty if none); nullopt when the handshake failed.
std::optional<DownstreamTls> finish_downstream_handshake(const tls::TlsRuntime& rt, net::Stream& s,
                                                         const boost::system::error_code& ec, bool timed_out,
                                                         double seconds, std::string_view client);

// `up` (a connected TCP stream) becomes a TLS client of the cluster `rt`,
// offers `sessions`' ticket when resumption is on, handshakes, counts it and
// checks the server's identity. `timed_out` is read once the handshake
// ended: the caller's deadline cancels the socket and sets it. `alpn`: a
// protocol to offer, which the server must select. Returns an empty error
// on success.
core::Task<boost::system::error_code> upstream_tls_handshake(net::Stream& up, const tls::TlsRuntime& rt,
                                                             tls::SessionCache& sessions, std::string_view endpoint,
                                                             const bool& timed_out, std::string_view alpn = {});

}  // namespace aegis::proxy
