// The `carbon:` section: which grid-intensity providers the proxy polls
// (carbon/feeds), for which zones, how often, and where their credentials
// are. Credentials are never in the config itself: only the name of an
// environment variable or the path of a file that holds them, so neither the
// loaded Config nor /config_dump ever carries a secret.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace aegis::config {

enum class CarbonProviderType { kElectricityMaps, kWattTime, kUkCarbonIntensity, kCarbonAwareSdk, kFile };
inline constexpr std::string_view kCarbonProviderTypes =
    "electricity_maps|watttime|uk_carbon_intensity|carbon_aware_sdk|file";
const char* to_string(CarbonProviderType t);

struct CarbonProvider {
  std::string name;  // unique; labels metrics ({provider="..."}); defaults to the type
  CarbonProviderType type = CarbonProviderType::kElectricityMaps;
  std::string base_url;  // "https://host[:port][/prefix]"; empty: the provider's public endpoint
  // Grid zone (the name localities and metrics use) → what the provider calls
  // it: Electricity Maps zone ("DE"), WattTime region ("CAISO_NORTH"), UK
  // "national" or a region id ("13"), Carbon Aware SDK location ("eastus"),
  // or for `file` the CSV trace's path (absolute after loading).
  std::map<std::string, std::string> zones;
  std::chrono::milliseconds poll_interval{300'000};
  std::chrono::milliseconds max_age{7'200'000};   // older readings are stale
  std::chrono::milliseconds timeout{10'000};      // one request, connect to last byte
  std::chrono::milliseconds initial_backoff{5'000};  // after a failed poll; doubles per failure
  std::chrono::milliseconds max_backoff{300'000};
  // Credentials: Electricity Maps `auth-token`; WattTime username + password.
  std::string token_env, token_file;
  std::string username;
  std::string password_env, password_file;
  std::string ca_file;  // PEM roots for HTTPS; empty: the system bundle
  // file: replay
  bool lifecycle = false;  // Electricity Maps export: the LCA column instead of direct
  std::chrono::milliseconds time_offset{0};  // start this far into the trace
  double speed = 1.0;                        // trace seconds per wall-clock second
  bool loop = true;                          // start over at the end of the trace

  bool operator==(const CarbonProvider&) const = default;
};

struct CarbonConfig {
  std::vector<CarbonProvider> providers;
  bool operator==(const CarbonConfig&) const = default;
};

// A provider's base URL: "http[s]://host[:port][/prefix]" (no query, no
// user info). Host is a DNS name or an IP literal ("[::1]" for IPv6).
struct BaseUrl {
  bool tls = true;
  std::string host;  // unbracketed
  std::uint16_t port = 443;
  std::string prefix;  // "" or "/path" without a trailing '/'
};
core::Result<BaseUrl> parse_base_url(std::string_view text);
// The provider's public endpoint ("" for carbon_aware_sdk, which is self-hosted).
std::string_view default_base_url(CarbonProviderType t);

// The system's CA bundle (Debian's ca-certificates).
inline constexpr std::string_view kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

}  // namespace aegis::config
