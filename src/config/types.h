// The typed, validated configuration. Shaped one-to-one on Envoy's xDS
// resources (Listener, RouteConfiguration, Cluster + ClusterLoadAssignment) so
// that an xDS client can later build the same Snapshot that YAML builds today.
// Every field is documented, with an example, in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/carbon.h"

namespace aegis::config {

using Millis = std::chrono::milliseconds;

struct SocketAddress {
  std::string address;  // IPv4/IPv6 literal, unbracketed (the loader turns "localhost" into 127.0.0.1)
  std::uint16_t port = 0;
  std::string str() const;  // "127.0.0.1:10000", "[::1]:10000"
};

struct AdminConfig {
  SocketAddress address{"127.0.0.1", 9901};
};

struct AccessLogConfig {
  // "stdout", "stderr", a file path, or empty (off).
  std::string path;
};

// Limits on what a downstream HTTP/1.1 client may send (safe defaults).
struct HttpLimits {
  std::uint32_t max_request_header_bytes = 64 * 1024;  // whole head → 431
  std::uint32_t max_request_headers = 100;             // field count → 431
  std::uint32_t max_request_line_bytes = 8 * 1024;     // request target → 414
  std::uint64_t max_request_body_bytes = 1ull << 30;   // default per route → 413
  std::uint32_t max_response_header_bytes = 64 * 1024; // upstream head → 502
};

enum class ListenerProtocol { kTcp, kHttp };

// A tcp listener fed by netfilter REDIRECT (`aegis-flow redirect install`):
// the connection's original destination (SO_ORIGINAL_DST) decides where it
// goes. outbound: the app's own connections, matched against `services`;
// inbound: mesh connections to the pod, forwarded to 127.0.0.1:<original port>.
enum class TransparentMode { kNone, kOutbound, kInbound };
// What an outbound transparent listener does with a destination that no
// service matches (Istio's outboundTrafficPolicy): pass it through as plain
// TCP, or refuse it.
enum class OutboundPolicy { kAllowAny, kRegistryOnly };

// Which HTTP versions an http listener speaks (Envoy's codec_type). auto: TLS
// listeners offer ALPN h2 and http/1.1 and follow the client's choice;
// plaintext ones take HTTP/2 when the connection starts with the h2c
// prior-knowledge preface, else HTTP/1.1.
enum class HttpCodec { kAuto, kHttp1, kHttp2 };

// HTTP/2 limits of a listener (Envoy's http2_protocol_options). Every flood
// closes the connection with GOAWAY and counts in aegis_http2_flood_total.
struct Http2Options {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t initial_stream_window_size = 256 * 1024;       // 65535 .. 2^31-1
  std::uint32_t initial_connection_window_size = 1024 * 1024;  // 65535 .. 2^31-1
  std::uint32_t max_header_list_size = 64 * 1024;
  std::uint32_t max_frame_size = 16 * 1024;  // 16384 .. 16777215
  std::uint32_t max_continuation_frames = 8;
  Millis flood_window{10'000};
  std::uint32_t max_resets_per_window = 100;
  std::uint32_t max_pings_per_window = 100;
  std::uint32_t max_settings_per_window = 100;
  std::uint32_t max_consecutive_empty_frames = 1;
  std::uint32_t max_outbound_control_frames = 1000;
  std::uint32_t max_window_updates_per_data_frame_sent = 10;
  std::uint32_t max_priority_frames_per_stream = 100;
};

// A rule on a peer's verified SPIFFE ID (the URI SAN of its certificate).
struct PeerMatcher {
  std::string exact;   // whole ID, e.g. "spiffe://aegis.local/ns/demo/sa/client"
  std::string prefix;  // e.g. "spiffe://aegis.local/ns/demo/" (exactly one of the two is set)
  bool matches(std::string_view id) const;
};

// Empty list: any peer. Else the ID must be present and match one entry.
bool peers_allowed(const std::vector<PeerMatcher>& allow, const std::optional<std::string>& id);

// The hardware attestation a TLS peer must present (docs/attestation.md):
// its evidence, carried in its certificate, is verified in the handshake and
// its claims checked against this.
struct AttestationPolicy {
  enum class Mode { kOff, kOptional, kRequire };
  enum class TeeKind { kAny, kSnp, kTdx };
  Mode mode = Mode::kRequire;
  TeeKind tee = TeeKind::kAny;
  std::vector<std::string> measurements;  // SNP MEASUREMENT / TDX MRTD, lower-case hex; empty: any
  std::vector<std::string> rtmrs;         // TDX RTMR0.. in order, lower-case hex or "*" (any); missing ones: any
  std::map<std::string, std::uint64_t> min_tcb;  // claim field → minimum, e.g. {snp: 8, microcode: 115}
  bool allow_debug = false;
  std::vector<std::string> accepted_tcb_status{"UpToDate"};  // when collateral was evaluated (TDX)
};

// `attestation.identity`: this sidecar's own attested certificate, made in
// the process (docs/attestation.md): a fresh key in `state_dir`, this
// machine's evidence bound to it, signed by the CA in `ca_dir`; again every
// `evidence_ttl`. tls blocks with `identity: attested` present it.
struct AttestedIdentity {
  std::string state_dir;  // cert.pem and key.pem (0600) are written here (absolute after loading)
  std::string ca_dir;     // ca.crt and ca.key of `aegis-flow certs init-ca`
  std::string spiffe_id;
  std::vector<std::string> dns;
  std::string key_type = "mldsa65";  // mldsa65 | mldsa87 | mldsa44 | ecdsa-p256
  Millis evidence_ttl{3'600'000};
  std::string source = "auto";  // auto | configfs-tsm | sev-guest | simulated
  std::string tsm_root = "/sys/kernel/config/tsm/report";
  std::string sev_guest_device = "/dev/sev-guest";
  // source simulated only (no TEE): evidence signed by TEST roots.
  std::string simulated_roots;  // directory made by `aegis-flow attest test-roots`
  std::string simulated_tee;    // snp | tdx
  std::string simulated_measurement;  // 96 hex digits; empty: the fixed TEST value
  bool simulated_debug = false;
  bool operator==(const AttestedIdentity&) const = default;
};

// Top-level `attestation:`: what this sidecar trusts when it verifies a
// peer's evidence, and its own attested identity (docs/attestation.md).
// Paths are absolute after loading.
struct AttestationTrust {
  std::vector<std::string> test_roots;  // SHA-256 (hex) of TEST roots: non-empty = only these, never the vendors'
  std::string snp_vcek_dir;             // SNP peers' VCEKs by chip: DIR/<chip_id hex>.der (or .pem)
  std::string snp_cert_chain;           // AMD's ASK then ARK (PEM); the ARK must still be a pinned one
  std::string tdx_collateral;           // TDX collateral JSON; absent: the TCB status is not evaluated
  std::optional<AttestedIdentity> identity;
};

// TLS of a listener (server side) or a cluster (client side). Paths are
// absolute after loading (relative ones are resolved against the config
// file's directory).
struct TlsConfig {
  std::string cert_file;     // PEM chain, leaf first (listener: required; cluster: optional, mTLS)
  std::string key_file;      // PEM private key of the leaf
  std::string trust_bundle;  // PEM roots (listener: needed for require_client_cert; cluster: required)
  bool require_client_cert = false;  // listener only
  std::string pq_policy = "hybrid";  // hybrid | pq_only_1024 | compat
  std::vector<std::string> groups;   // overrides the policy's groups when set
  bool session_resumption = true;    // listener: tickets with rotating keys; cluster: resume with the last ticket per endpoint
  Millis handshake_timeout{10'000};  // listener only
  std::string server_name;           // cluster only: SNI, and the DNS name the server's cert must carry
  std::vector<PeerMatcher> allow_peers;  // listener: clients allowed; cluster: servers accepted
  std::optional<AttestationPolicy> attestation;  // the hardware evidence the peer's certificate must carry
  bool attested_identity = false;  // `identity: attested`: cert_file/key_file are attestation.identity's
};

// What the listener does with an escaped slash (%2F, %5C) in a request path
// (Envoy's path_with_escaped_slashes_action).
enum class EscapedSlashesAction { kKeepUnchanged, kRejectRequest, kUnescapeAndForward };

struct Listener {  // xDS Listener
  std::string name;
  SocketAddress address{"127.0.0.1", 0};  // loopback unless the file says otherwise
  ListenerProtocol protocol = ListenerProtocol::kHttp;
  std::string route_config;  // http: name of a RouteConfiguration
  std::string cluster;       // tcp: the cluster to forward to
  Millis idle_timeout{300'000};
  Millis request_headers_timeout{10'000};  // http: whole request head must arrive within
  HttpLimits limits;
  bool xff_trust_downstream = false;  // append to an incoming x-forwarded-for (else replace)
  // http: request paths are normalized before routing and forwarded so
  // (route/path_normalize.h, docs/configuration.md "Path normalization").
  bool normalize_path = true;
  bool merge_slashes = false;
  EscapedSlashesAction path_with_escaped_slashes_action = EscapedSlashesAction::kKeepUnchanged;
  HttpCodec codec = HttpCodec::kAuto;  // http only
  Http2Options http2;                  // http only
  std::optional<TlsConfig> tls;       // server TLS (TLS 1.3 only) when set
  TransparentMode transparent = TransparentMode::kNone;        // tcp only
  OutboundPolicy outbound_policy = OutboundPolicy::kAllowAny;  // transparent: outbound only
  // transparent: outbound: how long to wait for the app's first bytes to tell
  // HTTP/1.1, HTTP/2 and a TLS ClientHello apart (a server-first protocol
  // sends nothing: it is then treated as opaque TCP).
  Millis detect_timeout{100};
};

// The protocol a service speaks (a hint for transparent outbound listeners).
// auto: detected from the first bytes; tls: the app's own TLS, passed through
// untouched; http/tcp: carried over mesh mTLS without waiting to detect.
enum class ServiceProtocol { kAuto, kHttp, kTcp, kTls };

// One entry of the service table of transparent outbound listeners: the
// destinations (IPs or CIDRs, optionally limited to ports) that belong to a
// mesh service, the cluster that carries them (usually type: original_dst
// with mesh mTLS) and the SPIFFE ID the destination's sidecar must present.
struct Service {
  std::string name;
  std::vector<std::string> addresses;  // canonical CIDRs: "10.96.0.0/12", "fd00::/64" (an IP is a /32 or /128)
  std::vector<std::uint16_t> ports;    // empty: every port
  std::string cluster;
  std::string peer_spiffe_id;  // empty: the cluster's own allow_peers (if any) decides
  ServiceProtocol protocol = ServiceProtocol::kAuto;
};

struct HeaderValue {
  std::string name;   // lower-case
  std::string value;
};

struct HeaderMatcher {
  std::string name;  // lower-case
  // Exactly one of these (or none: presence match).
  std::optional<std::string> exact;
  std::optional<std::string> prefix;
  bool invert = false;
};

struct RouteMatch {
  // Exactly one of prefix / path.
  std::optional<std::string> prefix;
  std::optional<std::string> path;
  std::vector<HeaderMatcher> headers;  // all must match
};

// Local rate limit of a route (all workers together): `burst` requests at
// once, then one every 1/requests_per_second; the rest get 429.
struct RateLimit {
  std::uint32_t requests_per_second = 0;
  std::uint32_t burst = 0;  // defaults to requests_per_second
};

// One rule of a route's hash_policy (Envoy's RouteAction.HashPolicy): where a
// request's hash key for ring_hash / maglev comes from. Exactly one is set.
struct HashPolicy {
  enum class Kind { kHeader, kCookie, kSourceIp };
  Kind kind = Kind::kHeader;
  std::string name;  // header (lower-case) or cookie name; empty for source_ip
};

// When a failed upstream attempt is tried again (Envoy's retry_on).
enum RetryOn : std::uint32_t {
  kRetryOn5xx = 1u << 0,                   // any 5xx, reset, connect failure, per-try timeout
  kRetryOnGatewayError = 1u << 1,          // 502/503/504, reset, connect failure, per-try timeout
  kRetryOnReset = 1u << 2,                 // reset/closed before a response head, connect failure
  kRetryOnConnectFailure = 1u << 3,        // TCP connect or upstream TLS handshake failed
  kRetryOnRetriableStatusCodes = 1u << 4,  // a status in retriable_status_codes
  kRetryOnCancelled = 1u << 5,             // grpc-status 1 (trailers-only response)
  kRetryOnDeadlineExceeded = 1u << 6,      // grpc-status 4
  kRetryOnInternal = 1u << 7,              // grpc-status 13
  kRetryOnResourceExhausted = 1u << 8,     // grpc-status 8
  kRetryOnUnavailable = 1u << 9,           // grpc-status 14
};
// The YAML names of the RetryOn bits, bit i ↔ name i.
inline constexpr const char* kRetryOnNames[] = {
    "5xx",       "gateway-error",     "reset",    "connect-failure",    "retriable-status-codes",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"};

struct RetryBackOff {
  Millis base_interval{25};
  Millis max_interval{250};  // default: 10 × base_interval
};

struct RetryPolicy {  // xDS RetryPolicy (plus retry_buffer_limit)
  std::uint32_t retry_on = 0;     // RetryOn bits
  std::uint32_t num_retries = 1;  // attempts after the first
  Millis per_try_timeout{0};      // each attempt's response must arrive within; 0 = only the route timeout
  std::vector<unsigned> retriable_status_codes;
  RetryBackOff back_off;
  bool retry_non_idempotent = false;  // also retry POST, PATCH, ...
  std::uint64_t retry_buffer_limit = std::uint64_t{64} * 1024;  // request bodies up to this are kept for a retry
};

struct RouteAction {
  std::string cluster;
  Millis timeout{15'000};  // whole upstream response; 0 = none
  Millis idle_timeout{0};  // no bytes either way for this long ends the exchange; 0 = listener's
  std::optional<RetryPolicy> retry_policy;
  std::optional<std::uint64_t> max_request_body_bytes;  // overrides listener limit
  std::vector<HeaderValue> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderValue> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
  std::optional<RateLimit> rate_limit;
  std::vector<HashPolicy> hash_policy;  // first rule that yields a value gives the key
};

struct Route {
  std::string name;
  RouteMatch match;
  RouteAction action;
  std::vector<PeerMatcher> allow_peers;  // in addition to the listener's; empty = no extra rule
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;  // "*", "example.com", "*.example.com", "example.com:8080"
  std::vector<Route> routes;         // first match wins
};

struct RouteConfiguration {  // xDS RouteConfiguration
  std::string name;
  std::vector<VirtualHost> virtual_hosts;
};

enum class LbPolicy { kRoundRobin, kRandom, kLeastRequest, kPeakEwma, kRingHash, kMaglev, kCarbonAware };

struct LeastRequestConfig {
  std::uint32_t choice_count = 2;  // endpoints drawn per pick (2 = power of two choices)
};

struct PeakEwmaConfig {
  Millis decay_time{10'000};  // time constant of the RTT average's decay
  Millis default_rtt{30};     // estimate of an endpoint with no sample yet
};

struct RingHashConfig {
  std::uint64_t minimum_ring_size = 1024;
  std::uint64_t maximum_ring_size = std::uint64_t{8} * 1024 * 1024;
  static constexpr std::uint64_t kMaxRingSize = std::uint64_t{8} * 1024 * 1024;  // bound on both (Envoy's)
};

// carbon_aware: shift traffic to the localities whose grid is cleanest now
// (docs/carbon.md). Every locality names its grid_zone and capacity.
struct CarbonAwareConfig {
  double max_utilization = 0.8;      // of each locality's capacity, (0, 1]
  Millis latency_slo{0};             // a locality whose latency EWMA is above takes no shifted traffic; 0: off
  Millis rebalance_interval{10'000};  // shares recomputed at most this often
  double max_step = 0.1;             // share of traffic moved per rebalance, (0, 1]
  // An older intensity reading is stale (its zone counts as average). Unset:
  // the max_age of the feed that published the reading (carbon.providers[]).
  std::optional<Millis> max_age;
};

// Carbon accounting (any lb_policy): the energy one upstream response costs,
// priced at the serving locality's grid intensity at serving time
// (docs/carbon.md). Every locality names its grid_zone.
struct CarbonAccountingConfig {
  double joules_per_request = 0;          // fixed energy per response
  double joules_per_upstream_second = 0;  // plus this × the upstream's response time (s)
};

// Priority failover and same-locality preference around the chosen policy
// (Envoy's priority levels and zone-aware routing, simplified).
struct LocalityAwareConfig {
  bool enabled = false;
  double overprovisioning_factor = 1.4;        // Envoy's default (140)
  std::uint32_t min_local_healthy_percent = 100;  // local tier kept while its healthy capacity is ≥ this
};

struct Endpoint {  // xDS LbEndpoint
  std::string host;  // IP literal; a DNS name in the file is resolved at config load
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  std::string hostname;  // the DNS name as written, when `host` was resolved from one
  std::string str() const;
};

struct LocalityEndpoints {  // xDS LocalityLbEndpoints
  std::string region;
  std::string zone;
  std::uint32_t priority = 0;
  std::vector<Endpoint> endpoints;
  // carbon_aware: the electricity grid zone the locality draws from (the zone
  // name the intensity feeds publish, e.g. "DE"), and the requests/s it can serve.
  std::string grid_zone;
  double capacity = 0;  // 0: not set
};

struct ClusterLoadAssignment {  // xDS ClusterLoadAssignment
  std::vector<LocalityEndpoints> localities;
};

// Cluster-wide limits shared by all workers (Envoy's circuit breaker
// thresholds). Defaults keep configs written before they existed unchanged.
struct CircuitBreakers {
  static constexpr std::uint32_t kUnlimited = 0xffffffffu;
  std::uint32_t max_connections = kUnlimited;       // open upstream connections
  std::uint32_t max_pending_requests = kUnlimited;  // requests waiting for a new connection
  std::uint32_t max_requests = kUnlimited;          // requests in flight to the cluster
  std::uint32_t max_retries = 3;                    // retries in flight (when no retry_budget)
};

// Retries in flight ≤ max(min_retry_concurrency, budget_percent% of the
// requests in flight); replaces circuit_breakers.max_retries when set.
struct RetryBudget {
  std::uint32_t budget_percent = 20;
  std::uint32_t min_retry_concurrency = 3;
};

// A half-open range of HTTP statuses, [start, end) as in Envoy's Int64Range.
struct StatusRange {
  std::uint32_t start = 200;
  std::uint32_t end = 201;
};

enum class HealthCheckKind { kTcp, kHttp, kGrpc };

// Active health check of every endpoint of a cluster (xDS HealthCheck).
struct HealthCheck {
  Millis timeout{0};          // required, > 0
  Millis interval{0};         // required, > 0
  Millis interval_jitter{0};  // each wait is interval + uniform[0, interval_jitter]
  std::uint32_t healthy_threshold = 0;    // required, >= 1: successes that re-admit an unhealthy endpoint
  std::uint32_t unhealthy_threshold = 0;  // required, >= 1: failures that mark a healthy endpoint unhealthy
  HealthCheckKind kind = HealthCheckKind::kTcp;
  // http
  std::string path;  // "/healthz"
  std::string host;  // Host header; empty: the cluster's name
  std::vector<StatusRange> expected_statuses;  // empty: [{200, 201}]
  // grpc (grpc.health.v1.Health/Check)
  std::string service_name;  // HealthCheckRequest.service
  std::string authority;     // :authority; empty: the cluster's name
};

// Passive outlier detection (xDS OutlierDetection); counts are per endpoint
// across all workers. A consecutive_* of 0 turns that detector off.
struct OutlierDetection {
  std::uint32_t consecutive_5xx = 5;
  std::uint32_t consecutive_gateway_failure = 5;  // 502/503/504, connect failures, resets, timeouts
  Millis interval{10'000};                        // success-rate evaluation period
  Millis base_ejection_time{30'000};              // × number of times ejected
  Millis max_ejection_time{300'000};
  std::uint32_t max_ejection_percent = 10;
  bool always_eject_one_host = false;  // eject one even when max_ejection_percent would forbid it
  std::uint32_t success_rate_minimum_hosts = 5;
  std::uint32_t success_rate_request_volume = 100;
  std::uint32_t success_rate_stdev_factor = 1900;  // /1000: 1900 = 1.9 standard deviations
};

// How the proxy speaks to a cluster's endpoints (Envoy's
// explicit_http_config): HTTP/1.1, or HTTP/2 (ALPN h2 over the cluster's
// TLS, h2c with prior knowledge without it), multiplexed on a few
// connections per endpoint per worker.
enum class UpstreamProtocol { kHttp1, kHttp2 };

// Envoy's cluster discovery type, as far as it applies: static endpoints
// (endpoints / load_assignment), or ORIGINAL_DST: each connection goes to the
// original destination of the downstream connection (transparent listeners).
enum class ClusterType { kStatic, kOriginalDst };

struct Cluster {  // xDS Cluster
  std::string name;
  ClusterType type = ClusterType::kStatic;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  Http2Options http2;  // protocol: http2 — our SETTINGS and flood limits towards the endpoints
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  LeastRequestConfig least_request;
  PeakEwmaConfig peak_ewma;
  RingHashConfig ring_hash;
  LocalityAwareConfig locality_aware;
  CarbonAwareConfig carbon_aware;
  std::optional<CarbonAccountingConfig> carbon_accounting;
  Millis connect_timeout{1'000};
  std::uint32_t max_connections = 1024;       // per endpoint per worker (see also circuit_breakers)
  std::uint32_t max_idle_connections = 64;    // kept-alive, per endpoint per worker
  Millis idle_timeout{60'000};                // idle upstream connection is closed after
  CircuitBreakers circuit_breakers;
  std::optional<RetryBudget> retry_budget;
  ClusterLoadAssignment load_assignment;
  std::optional<TlsConfig> tls;  // client TLS to every endpoint when set
  std::vector<HealthCheck> health_checks;          // at most one; empty: no active checks
  std::optional<OutlierDetection> outlier_detection;  // none: no passive ejection
  // Below this percentage of endpoints able to take traffic, all are used (panic).
  std::uint32_t healthy_panic_threshold = 50;
};

// Where this proxy runs (Envoy's node locality); empty = no preference.
struct NodeConfig {
  std::string region;
  std::string zone;
};

// Process hardening applied by `run` at start-up (docs/security.md); a
// reload that changes it takes effect at the next restart.
struct ProcessConfig {
  bool dumpable = false;  // false: prctl(PR_SET_DUMPABLE, 0): no core dumps (keys), no ptrace attach
  std::string user;       // after binding every listener: drop to this user ("" = keep)
  std::string group;      // and this group (default: the user's primary group)
  bool seccomp = false;   // seccomp-bpf allow-list of the syscalls the proxy makes (libseccomp)
};

struct Config {
  std::string source;  // file name it came from (or "<embedded>")
  NodeConfig node;
  ProcessConfig process;
  AdminConfig admin;
  AccessLogConfig access_log;
  Millis drain_timeout{30'000};
  std::vector<Listener> listeners;
  std::vector<RouteConfiguration> route_configs;
  std::vector<Cluster> clusters;
  std::vector<Service> services;  // transparent outbound listeners' destinations
  CarbonConfig carbon;  // grid-intensity feeds (config/carbon.h)
  AttestationTrust attestation;

  const Cluster* find_cluster(const std::string& name) const;
  const RouteConfiguration* find_route_config(const std::string& name) const;
};

}  // namespace aegis::config
