// nghttp2's command-line clients (Debian nghttp2-client) as test peers:
// `nghttp` for single HTTP/2 requests (status and headers from its HAR
// output) and `h2load` for load, its summary parsed like parse_wrk does
// for wrk. Both are bounded: the process is killed at the timeout.
#pragma once

#include "harness.h"

#include <string>
#include <vector>

namespace aegis::itest {

// `nghttp -r <har> ARGS... URLS...`: http:// URLs are h2c with prior
// knowledge (nghttp's default; -u would use the HTTP/1.1 Upgrade), https://
// is TLS with ALPN h2 (nghttp does not verify the certificate). Useful
// ARGS: -H 'name: value', -d FILE (POST), -n (discard the body),
// -v (frame log on stdout, mixed with the body).
struct NghttpResult {
  struct Entry {
    std::string url;
    int status = 0;
    std::multimap<std::string, std::string> headers;  // response headers (lower-case names)
  };
  CommandResult cmd;
  std::vector<Entry> entries;  // one per response, from the HAR file
  std::string body;            // stdout: the bodies (unless -n)
  bool ok() const { return cmd.status.ok() && !cmd.timed_out; }
  int status() const { return entries.empty() ? 0 : entries.front().status; }
  std::string describe() const;
};
NghttpResult nghttp(const fs::path& dir, const std::vector<std::string>& urls, const std::vector<std::string>& args = {},
                    Millis timeout = 30s);

// What h2load printed: the "requests:" and "status codes:" lines and the
// negotiated protocol; total is -1 when the summary is missing.
struct H2loadSummary {
  long total = -1;
  long started = 0;
  long done = 0;
  long succeeded = 0;
  long failed = 0;
  long errored = 0;
  long timeout = 0;
  long status_2xx = 0;
  long status_3xx = 0;
  long status_4xx = 0;
  long status_5xx = 0;
  std::string protocol;  // "Application protocol: h2" / "h2c"
  std::string raw;       // the whole output, for failure messages
};
H2loadSummary parse_h2load(const std::string& out);

// `h2load ARGS... URL` (e.g. {"-n", "1000", "-c", "4", "-m", "10"}), summary
// parsed from its stdout. http:// is h2c prior knowledge, https:// ALPN h2.
struct H2loadRun {
  CommandResult cmd;
  H2loadSummary summary;
};
H2loadRun h2load(const fs::path& dir, const std::string& url, const std::vector<std::string>& args,
                 Millis timeout = 60s);

}  // namespace aegis::itest
