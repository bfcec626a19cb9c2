// A listener's codec and http2 limits: defaults, every field read, and each
// field's error message at its position.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

constexpr std::string_view kTargets = R"(route_configs:
  - name: local
    virtual_hosts: []
clusters:
  - name: demo
    endpoints: ["127.0.0.1:8080"]
listeners:
)";

LoadResult load_listener(std::string_view extra) {
  return load(std::string(kTargets) + "  - name: a\n    port: 1\n    route_config: local\n" + std::string(extra));
}

TEST(Http2Rules, DefaultsAreSafe) {
  const auto r = load_listener("");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& l = r.config->listeners[0];
  EXPECT_EQ(l.codec, HttpCodec::kAuto);
  EXPECT_EQ(l.http2.max_concurrent_streams, 100u);
  EXPECT_EQ(l.http2.initial_stream_window_size, 256u * 1024);
  EXPECT_EQ(l.http2.max_frame_size, 16384u);
  EXPECT_EQ(l.http2.flood_window, Millis{10'000});
}

TEST(Http2Rules, EveryFieldIsRead) {
  const auto r = load_listener(R"(    codec: http2
    http2:
      max_concurrent_streams: 7
      initial_stream_window_size: 65535
      initial_connection_window_size: 2147483647
      max_header_list_size: 8192
      max_frame_size: 16777215
      max_continuation_frames: 0
      flood_window: 1s
      max_resets_per_window: 2
      max_pings_per_window: 3
      max_settings_per_window: 4
      max_consecutive_empty_frames: 0
      max_outbound_control_frames: 5
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& h = r.config->listeners[0].http2;
  EXPECT_EQ(r.config->listeners[0].codec, HttpCodec::kHttp2);
  EXPECT_EQ(h.max_concurrent_streams, 7u);
  EXPECT_EQ(h.initial_stream_window_size, 65535u);
  EXPECT_EQ(h.initial_connection_window_size, 2147483647u);
  EXPECT_EQ(h.max_header_list_size, 8192u);
  EXPECT_EQ(h.max_frame_size, 16777215u);
  EXPECT_EQ(h.max_continuation_frames, 0u);
  EXPECT_EQ(h.flood_window, Millis{1000});
  EXPECT_EQ(h.max_resets_per_window, 2u);
  EXPECT_EQ(h.max_pings_per_window, 3u);
  EXPECT_EQ(h.max_settings_per_window, 4u);
  EXPECT_EQ(h.max_consecutive_empty_frames, 0u);
  EXPECT_EQ(h.max_outbound_control_frames, 5u);
  EXPECT_TRUE(LoadsCleanly(load_listener("    codec: http1\n")));
}

TEST(Http2Rules, CodecChoices) {
  EXPECT_TRUE(HasError(load_listener("    codec: h3\n"), 11, 12, "codec: expected one of: auto, http1, http2; got 'h3'"));
}

TEST(Http2Rules, EachFieldNamesItsRange) {
  struct Case {
    std::string field, value, message;
  };
  const std::vector<Case> cases{
      {"max_concurrent_streams", "0", "max_concurrent_streams: expected an integer 1-4294967295, got '0'"},
      {"initial_stream_window_size", "65534", "initial_stream_window_size: expected an integer 65535-2147483647, got '65534'"},
      {"initial_connection_window_size", "2147483648",
       "initial_connection_window_size: expected an integer 65535-2147483647, got '2147483648'"},
      {"max_header_list_size", "0", "max_header_list_size: expected an integer 1-4294967295, got '0'"},
      {"max_frame_size", "16383", "max_frame_size: expected an integer 16384-16777215, got '16383'"},
      {"max_continuation_frames", "-1", "max_continuation_frames: expected an integer 0-4294967295, got '-1'"},
      {"flood_window", "0", "flood_window: must be greater than 0"},
      {"flood_window", "10", "flood_window: expected a duration"},
      {"max_resets_per_window", "0", "max_resets_per_window: expected an integer 1-4294967295, got '0'"},
      {"max_pings_per_window", "0", "max_pings_per_window: expected an integer 1-4294967295, got '0'"},
      {"max_settings_per_window", "0", "max_settings_per_window: expected an integer 1-4294967295, got '0'"},
      {"max_consecutive_empty_frames", "x", "max_consecutive_empty_frames: expected an integer 0-4294967295, got 'x'"},
      {"max_outbound_control_frames", "0", "max_outbound_control_frames: expected an integer 1-4294967295, got '0'"},
  };
  for (const auto& c : cases) {
    const auto r = load_listener("    http2:\n      " + c.field + ": " + c.value + "\n");
    EXPECT_TRUE(HasError(r, 12, static_cast<int>(c.field.size()) + 9, c.message)) << c.field;
  }
  EXPECT_TRUE(HasError(load_listener("    http2:\n      max_streams: 1\n"), 12, 7,
                       "unknown field 'max_streams' in http2"));
}

TEST(Http2Rules, HttpOnly) {
  const auto r = load(std::string(kTargets) + "  - {name: t, port: 2, protocol: tcp, cluster: demo, codec: http2}\n");
  EXPECT_TRUE(HasError(r, 8, 61, "codec: applies only to protocol: http"));
  const auto r2 = load(std::string(kTargets) +
                       "  - {name: t, port: 2, protocol: tcp, cluster: demo, http2: {max_frame_size: 16384}}\n");
  EXPECT_TRUE(HasError(r2, 8, 61, "http2: applies only to protocol: http"));
}

}  // namespace
}  // namespace aegis::config

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

// Upstream HTTP/2: a cluster's protocol and its own http2 block.
LoadResult load_cluster(std::string_view extra) {
  return load("clusters:\n  - name: c\n    endpoints: [\"127.0.0.1:1\"]\n" + std::string(extra));
}

TEST(Http2Rules, ClusterProtocol) {
  auto r = load_cluster("");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->clusters[0].protocol, UpstreamProtocol::kHttp1);
  r = load_cluster("    protocol: http2\n    http2:\n      max_concurrent_streams: 7\n      initial_stream_window_size: 1048576\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->clusters[0].protocol, UpstreamProtocol::kHttp2);
  EXPECT_EQ(r.config->clusters[0].http2.max_concurrent_streams, 7u);
  EXPECT_EQ(r.config->clusters[0].http2.initial_stream_window_size, 1048576u);
  EXPECT_TRUE(HasError(load_cluster("    protocol: h2c\n"), 4, 15, "protocol: expected one of: http1, http2; got 'h2c'"));
  EXPECT_TRUE(HasError(load_cluster("    http2:\n      max_frame_size: 16384\n"), 5, 7,
                       "http2: options for protocol: http2, but this cluster speaks http1"));
  EXPECT_TRUE(HasError(load_cluster("    protocol: http2\n    http2:\n      max_frame_size: 1\n"), 6, 23,
                       "max_frame_size: expected an integer 16384-16777215, got '1'"));
}

}  // namespace
}  // namespace aegis::config
