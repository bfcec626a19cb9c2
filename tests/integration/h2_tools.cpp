#include "h2_tools.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <algorithm>
#include <regex>

namespace aegis::itest {

std::string NghttpResult::describe() const {
  return "nghttp " + cmd.status.describe() + (cmd.timed_out ? " (timed out)" : "") + "\n--- stderr ---\n" + cmd.err;
}

NghttpResult nghttp(const fs::path& dir, const std::vector<std::string>& urls, const std::vector<std::string>& args,
                    Millis timeout) {
  static std::atomic<int> counter{0};  // called from several test threads at once
  const std::string tag = "nghttp-" + std::to_string(++counter);
  const fs::path har = dir / (tag + ".har");
  std::vector<std::string> argv = {"nghttp", "-r", har.string(), "-t",
                                   std::to_string(std::max<long>(1, static_cast<long>(timeout.count() / 1000)))};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), urls.begin(), urls.end());
  NghttpResult r;
  r.cmd = run_command(tag, argv, dir, timeout + 5s);
  r.body = r.cmd.out;
  const auto j = nlohmann::json::parse(read_file(har), nullptr, false);
  if (j.is_discarded() || !j.contains("log")) return r;
  for (const auto& e : j["log"].value("entries", nlohmann::json::array())) {
    NghttpResult::Entry entry;
    entry.url = e["request"].value("url", "");
    entry.status = e["response"].value("status", 0);
    for (const auto& h : e["response"].value("headers", nlohmann::json::array())) {
      std::string name = h.value("name", "");
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      entry.headers.emplace(name, h.value("value", ""));
    }
    r.entries.push_back(std::move(entry));
  }
  return r;
}

H2loadSummary parse_h2load(const std::string& out) {
  H2loadSummary s;
  s.raw = out;
  std::smatch m;
  if (std::regex_search(out, m,
                        std::regex(R"(requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, )"
                                   R"((\d+) errored, (\d+) timeout)"))) {
    s.total = std::stol(m[1]);
    s.started = std::stol(m[2]);
    s.done = std::stol(m[3]);
    s.succeeded = std::stol(m[4]);
    s.failed = std::stol(m[5]);
    s.errored = std::stol(m[6]);
    s.timeout = std::stol(m[7]);
  }
  if (std::regex_search(out, m, std::regex(R"(status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx)"))) {
    s.status_2xx = std::stol(m[1]);
    s.status_3xx = std::stol(m[2]);
    s.status_4xx = std::stol(m[3]);
    s.status_5xx = std::stol(m[4]);
  }
  if (std::regex_search(out, m, std::regex(R"(Application protocol: (\S+))"))) s.protocol = m[1];
  return s;
}

H2loadRun h2load(const fs::path& dir, const std::string& url, const std::vector<std::string>& args, Millis timeout) {
  static std::atomic<int> counter{0};  // called from several test threads at once
  std::vector<std::string> argv = {"h2load"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  H2loadRun r;
  r.cmd = run_command("h2load-" + std::to_string(++counter), argv, dir, timeout);
  r.summary = parse_h2load(r.cmd.out);
  return r;
}

}  // namespace aegis::itest
