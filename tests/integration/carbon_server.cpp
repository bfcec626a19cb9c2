#include "carbon_server.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace aegis::itest {

fs::path carbon_testdata_dir() {
  return testdata_dir() / "carbon";
}

ProviderServer::ProviderServer(const fs::path& dir, const Options& o) : tls_(!o.cert.empty()) {
  std::vector<std::string> argv = {"/usr/bin/python3", std::string(AEGIS_CARBON_DIR_DEFAULT) + "/provider_server.py"};
  for (const auto& [id, file] : o.traces) argv.insert(argv.end(), {"--trace", id + "=" + (carbon_testdata_dir() / file).string()});
  if (!o.em_token.empty()) argv.insert(argv.end(), {"--em-token", o.em_token});
  if (!o.wt_user.empty()) argv.insert(argv.end(), {"--wt-user", o.wt_user, "--wt-password", o.wt_password});
  if (tls_) argv.insert(argv.end(), {"--cert", o.cert.string(), "--key", o.key.string()});
  if (!o.replay_start.empty())
    argv.insert(argv.end(), {"--replay-start", o.replay_start, "--replay-speed", std::to_string(o.replay_speed)});
  process_ = std::make_unique<Process>(o.name, argv, dir);
  const auto deadline = std::chrono::steady_clock::now() + 30s;  // python on a loaded machine
  while (std::chrono::steady_clock::now() < deadline && process_->running()) {
    const std::string out = process_->stdout_text();
    if (auto pos = out.find("READY "); pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::atoi(out.c_str() + pos + 6));
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (port_ == 0) throw std::runtime_error("provider_server.py did not print READY\n" + process_->stderr_tail());
}

ProviderServer::~ProviderServer() {
  if (process_->running()) process_->kill();
}

nlohmann::json ProviderServer::control(const std::string& path) const {
  if (tls_) throw std::logic_error("control requests need the plain-HTTP server");
  auto [status, body] = simple_get(port_, path);
  if (status != 200) throw std::runtime_error("provider_server " + path + ": status " + std::to_string(status));
  return nlohmann::json::parse(body);
}

void ProviderServer::set_mode(const std::string& mode, int count) const {
  control("/_control?mode=" + mode + (count > 0 ? "&count=" + std::to_string(count) : ""));
}

void ProviderServer::expire_tokens() const { control("/_control?expire_tokens=1"); }

void ProviderServer::restart_clock() const { control("/_control?restart_clock=1"); }

std::vector<double> ProviderServer::served(const std::string& id) const {
  return control("/_served?id=" + id)["values"].get<std::vector<double>>();
}

nlohmann::json ProviderServer::stats() const { return control("/_stats"); }

}  // namespace aegis::itest
