// `aegis-flow quickstart`: a two-sidecar mesh on 127.0.0.1 in one command.
//   client → outbound sidecar (127.0.0.1:10000, admin 9901)
//          → mTLS, pq_only_1024 (MLKEM1024), ML-DSA-65 certificates →
//          inbound sidecar (127.0.0.1:15443, admin 9902) → demo app (18080)
// Certificates are minted on first run into a state directory; both sidecars
// are this binary (`run -c`) as child processes, with configs written there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace aegis::app {

inline constexpr std::string_view kQuickstartTrustDomain = "aegis.local";
inline constexpr std::string_view kQuickstartClientId = "spiffe://aegis.local/ns/demo/sa/client";
inline constexpr std::string_view kQuickstartServerId = "spiffe://aegis.local/ns/demo/sa/demo-app";

struct QuickstartOptions {
  std::filesystem::path state_dir;   // certificates and generated configs
  std::uint16_t listen_port = 10000;  // the outbound sidecar's listener (clients send here)
  std::uint16_t admin_port = 9901;    // outbound sidecar admin
  std::uint16_t inbound_admin_port = 9902;
  std::uint16_t mesh_port = 15443;    // the inbound sidecar's mTLS listener
  std::uint16_t demo_port = 18080;    // the demo app
  std::size_t concurrency = 0;        // per sidecar; 0 = number of cores
  std::string log_level = "info";
};

// The default state directory: $XDG_STATE_HOME/aegis-flow/quickstart, else
// ~/.local/state/aegis-flow/quickstart.
std::filesystem::path default_quickstart_state_dir();

int run_quickstart(const QuickstartOptions& options);

}  // namespace aegis::app
