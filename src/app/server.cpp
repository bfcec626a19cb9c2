#include "app/server.h"

#include "app/process_hardening.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "admin/admin_server.h"
#include "app/attested_identity.h"
#include "attest/verdict.h"
#include "carbon/board_json.h"
#include "carbon/feed_runner.h"
#include "config/loader.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"
#include "stats/stats.h"
#include "upstream/health/monitor.h"
#include "upstream/lb/carbon_aware.h"

namespace aegis::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Listening sockets for one listener: one per worker (SO_REUSEPORT), opened on
// the main thread so that a bind error is reported before anything changes.
struct OpenedListener {
  std::string name;
  std::string key;  // address:port/protocol: same key = keep the sockets
  std::vector<int> fds;
  bool v6 = false;
};

void close_fds(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

std::string listener_key(const config::Listener& l) {
  return fmt::format("{}/{}", l.address.str(), l.protocol == config::ListenerProtocol::kHttp ? "http" : "tcp");
}

core::Result<tcp::endpoint> resolve(const config::SocketAddress& a) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(a.address == "localhost" ? "127.0.0.1" : a.address, ec);
  if (ec) return core::Error{fmt::format("'{}' is not an IP address", a.address)};
  return tcp::endpoint(addr, a.port);
}

core::Result<OpenedListener> open_listener(asio::io_context& ioc, const config::Listener& l,
                                           std::size_t count) {
  OpenedListener out{l.name, listener_key(l), {}, false};
  auto ep = resolve(l.address);
  if (!ep) return core::Error{fmt::format("listener '{}': {}", l.name, ep.error().message)};
  out.v6 = ep->address().is_v6();
  for (std::size_t i = 0; i < count; ++i) {
    tcp::acceptor a(ioc);
    boost::system::error_code ec;
    a.open(ep->protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;
      if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = boost::system::error_code(errno, boost::system::system_category());
    }
    if (!ec) a.bind(*ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      close_fds(out.fds);
      return core::Error{fmt::format("listener '{}': cannot listen on {}: {}", l.name, l.address.str(), ec.message())};
    }
    out.fds.push_back(a.release());
  }
  return out;
}

struct FileStamp {
  bool exists = false;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

class Server {
 public:
  explicit Server(const ServerOptions& opts) : opts_(opts) {
    reloads_ok_ = &stats::global().counter("aegis_config_reloads_total", "Configuration reloads by result", {{"result", "success"}});
    reloads_failed_ = &stats::global().counter("aegis_config_reloads_total", "Configuration reloads by result", {{"result", "failure"}});
    draining_gauge_ = &stats::global().gauge("aegis_server_draining", "1 while the server drains before exit");
    config_version_ = &stats::global().gauge("aegis_config_version", "Version of the active configuration snapshot (1 at start, +1 per successful reload)");
    workers_gauge_ = &stats::global().gauge("aegis_server_workers", "Worker threads (event loops)");
    creds_ok_ = &stats::global().counter("aegis_tls_credential_reloads_total", "Reloads of TLS certificate, key and trust bundle files after they changed, by result", {{"result", "success"}});
    creds_failed_ = &stats::global().counter("aegis_tls_credential_reloads_total", "Reloads of TLS certificate, key and trust bundle files after they changed, by result", {{"result", "failure"}});
  }

  int run() {
    // Installed first, so a signal that arrives during start-up is queued
    // (and acted on once serving) instead of being lost or killing us midway.
    asio::signal_set signals(ioc_, SIGHUP, SIGTERM, SIGINT);
    auto loaded = load();
    if (!loaded.ok()) {
      for (const auto& d : loaded.diagnostics) spdlog::error("{}", d.str());
      spdlog::error("not starting: the configuration has {} error(s)", loaded.diagnostics.size());
      return 1;
    }
    // Before any key is loaded: no core dump or ptrace can read it.
    if (auto r = set_dumpable(loaded.config->process.dumpable); !r) {
      spdlog::error("not starting: {}", r.error().message);
      return 1;
    }
    // The sidecar's own attested certificate, before the tls blocks that present it are read.
    if (const auto& id = loaded.config->attestation.identity; id && !issue_identity(*id, loaded.config->attestation)) {
      spdlog::error("not starting: attestation.identity could not be issued");
      return 1;
    }
    const std::size_t n = opts_.concurrency ? opts_.concurrency : std::max(1u, std::thread::hardware_concurrency());
    upstream::lb::set_carbon_aware_workers(static_cast<std::uint32_t>(n));  // each worker's share of capacity
    auto snap = proxy::build_snapshot(std::move(*loaded.config), ++version_, nullptr);
    if (!snap) {
      spdlog::error("not starting: {}", snap.error().message);
      return 1;
    }
    // Open every listener before starting anything: a bind error stops here.
    std::map<std::string, OpenedListener> opened;
    for (const auto& l : (*snap)->config.listeners) {
      auto ol = open_listener(ioc_, l, n);
      if (!ol) {
        spdlog::error("not starting: {}", ol.error().message);
        for (auto& [name, o] : opened) close_fds(o.fds);
        return 1;
      }
      opened.emplace(l.name, std::move(*ol));
    }
    const auto& admin_cfg = (*snap)->config.admin;
    admin_ = std::make_unique<admin::AdminServer>(ioc_, admin_handlers());
    if (auto r = admin_->start(admin_cfg.address.address, admin_cfg.address.port); !r) {
      spdlog::error("not starting: admin listener {}: {}", admin_cfg.address.str(), r.error().message);
      for (auto& [name, o] : opened) close_fds(o.fds);
      return 1;
    }
    // Every socket is bound: drop root, then seccomp (docs/security.md).
    if (auto r = harden_process((*snap)->config.process); !r) {
      spdlog::error("not starting: {}", r.error().message);
      for (auto& [name, o] : opened) close_fds(o.fds);
      return 1;
    }
    for (std::size_t i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<proxy::Worker>(i));
      workers_.back()->start();
    }
    workers_gauge_->set(static_cast<std::int64_t>(n));
    publish(*snap);
    snap.value().reset();  // current_ and the workers hold it now, and a reload may free it
    for (auto& [name, o] : opened) adopt(o);
    listeners_ = std::move(opened);
    for (const auto& l : current_->config.listeners)
      spdlog::info("listener '{}' ({}) on {}", l.name, l.protocol == config::ListenerProtocol::kHttp ? "http" : "tcp", l.address.str());
    spdlog::info("admin on {}; {} worker(s); config {}", current_->config.admin.address.str(), n, current_->config.source);
    ready_ = true;
    if (opts_.on_ready) opts_.on_ready(current_->config);

    wait_signals(signals);
    if (!opts_.config_path.empty()) stamp_ = stamp_of(opts_.config_path);
    cred_stamps_ = credential_stamps(current_->config);
    watch_file();
    if (const auto& id = current_->config.attestation.identity) schedule_identity(id->evidence_ttl);
    carbon_.start(current_->config.carbon);
    ioc_.run();
    carbon_.stop();
    health_.stop();
    for (auto& w : workers_) w->stop();
    spdlog::info("drained; exiting");
    return 0;
  }

 private:
  config::LoadResult load() {
    auto loaded = opts_.embedded ? config::load_from_string(*opts_.embedded, "<embedded>")
                                 : config::load_from_file(opts_.config_path);
    if (loaded.ok()) {
      if (opts_.node_region) loaded.config->node.region = *opts_.node_region;
      if (opts_.node_zone) loaded.config->node.zone = *opts_.node_zone;
      auto& node = loaded.config->node;
      if (node.region.empty() && !node.zone.empty()) {
        // A zone is matched within its region: alone it means nothing.
        spdlog::warn("node zone '{}' has no region (--node-region): no locality preference", node.zone);
        node.zone.clear();
      }
    }
    return loaded;
  }

  void publish(const std::shared_ptr<const proxy::Snapshot>& snap) {
    current_ = snap;
    config_version_->set(static_cast<std::int64_t>(snap->version));
    health_.update(monitored_clusters(*snap));
    for (auto& w : workers_) w->publish(snap);
  }

  static std::vector<upstream::health::MonitoredCluster> monitored_clusters(const proxy::Snapshot& snap) {
    std::vector<upstream::health::MonitoredCluster> out;
    for (const auto& c : snap.clusters) {
      auto& mc = out.emplace_back(upstream::health::MonitoredCluster{
          c.config->name, c.config->health_checks, c.config->outlier_detection, c.tls, {}});
      for (const auto& e : c.endpoints) mc.endpoints.push_back({e.key, e.name, e.address, e.health});
    }
    return out;
  }

  void adopt(OpenedListener& o) {
    for (std::size_t i = 0; i < workers_.size(); ++i) workers_[i]->adopt_listener(o.name, o.fds[i], o.v6);
    o.fds.clear();  // the workers own them now
  }

  void wait_signals(asio::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading {}", opts_.config_path.empty() ? "(embedded config: nothing to reload)" : opts_.config_path);
        if (!opts_.config_path.empty()) reload();
      } else if (!draining_) {
        spdlog::info("{}: draining (up to {} ms), then exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT", current_->config.drain_timeout.count());
        drain();
      } else {
        spdlog::warn("second signal while draining: exiting now");
        ioc_.stop();
        return;
      }
      wait_signals(signals);
    });
  }

  // Every second: the config file, then the TLS files it names.
  void watch_file() {
    watch_timer_.expires_after(std::chrono::seconds(1));
    watch_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      bool reloaded = false;
      if (!opts_.config_path.empty()) {
        const auto now = stamp_of(opts_.config_path);
        if (!(now == stamp_) && now.exists) {
          spdlog::info("config file changed: reloading {}", opts_.config_path);
          reload();
          reloaded = true;
        }
      }
      if (!reloaded) check_credentials();
      watch_file();
    });
  }

  // attestation.identity: a fresh key, evidence and certificate in its
  // state_dir; false (logged, counted) when it failed.
  static bool issue_identity(const config::AttestedIdentity& id, const config::AttestationTrust& trust) {
    auto own = issue_attested_identity(id, trust);
    if (!own) {
      spdlog::error("attestation identity {}: {}", id.spiffe_id, own.error().message);
      return false;
    }
    const auto& v = own->verdict;
    spdlog::info("attestation identity {}: certificate {} issued into {} with {} evidence from {} (renewed every {} s)",
                 id.spiffe_id, own->certificate_sha256, id.state_dir, attest::tee_name(v.claims.tee), own->source,
                 std::chrono::duration_cast<std::chrono::seconds>(id.evidence_ttl).count());
    if (!v.verified)
      spdlog::warn(
          "attestation identity {}: this sidecar's own trust does not verify its evidence ({}); peers with "
          "other trust may",
          id.spiffe_id, v.failure.text());
    return true;
  }

  void schedule_identity(std::chrono::milliseconds after) {
    identity_timer_.expires_after(after);
    identity_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      const auto& c = current_->config.attestation;
      if (!c.identity) return;
      // Presented once the credential watcher sees the new files settle (within 2 s).
      if (issue_identity(*c.identity, c)) return schedule_identity(c.identity->evidence_ttl);
      const auto retry = identity_retry_delay(*c.identity);
      spdlog::warn("attestation identity {}: the current certificate keeps serving; trying again in {} ms",
                   c.identity->spiffe_id, retry.count());
      schedule_identity(retry);
    });
  }

  using Stamps = std::map<std::string, FileStamp>;
  static Stamps credential_stamps(const config::Config& c) {
    Stamps out;
    auto add = [&](const std::optional<config::TlsConfig>& t) {
      if (!t) return;
      for (const auto* f : {&t->cert_file, &t->key_file, &t->trust_bundle})
        if (!f->empty()) out[*f] = stamp_of(*f);
    };
    for (const auto& l : c.listeners) add(l.tls);
    for (const auto& cl : c.clusters) add(cl.tls);
    return out;
  }

  // Certificates, keys and trust bundles are re-read when their files change
  // and have stayed unchanged for one more second (a cert and its key are
  // rarely replaced in the same instant). A set that fails to load is
  // refused, logged and counted; the old credentials keep serving, and the
  // files are tried again when they change again.
  void check_credentials() {
    auto now = credential_stamps(current_->config);
    if (now == cred_stamps_) {
      pending_creds_.reset();
      return;
    }
    if (!pending_creds_ || !(*pending_creds_ == now)) {
      pending_creds_ = std::move(now);  // changed: wait until it settles
      return;
    }
    cred_stamps_ = std::move(now);
    pending_creds_.reset();
    auto snap = proxy::build_snapshot(config::Config(current_->config), version_ + 1, current_->access_log);
    if (!snap) {
      creds_failed_->inc();
      spdlog::error("TLS credentials changed but cannot be loaded: {}; still serving the previous ones",
                    snap.error().message);
      return;
    }
    ++version_;
    const bool carbon_changed = !((*snap)->config.carbon == current_->config.carbon);
    publish(*snap);
    if (carbon_changed) carbon_.start(current_->config.carbon);  // feeds restart only when their section changed
    creds_ok_->inc();
    spdlog::info("TLS credentials reloaded (configuration version {}); connections in flight keep their session",
                 version_);
  }

  void reload() {
    if (draining_) return;
    stamp_ = stamp_of(opts_.config_path);
    // Whatever the outcome, the TLS files are judged against the result.
    struct RestampCredentials {
      Server& s;
      ~RestampCredentials() {
        s.cred_stamps_ = credential_stamps(s.current_->config);
        s.pending_creds_.reset();
      }
    } restamp{*this};
    auto loaded = load();
    if (!loaded.ok()) {
      for (const auto& d : loaded.diagnostics) spdlog::error("{}", d.str());
      return reject(fmt::format("{} error(s)", loaded.diagnostics.size()));
    }
    {
      const auto& a = loaded.config->process;
      const auto& b = current_->config.process;
      if (a.dumpable != b.dumpable || a.user != b.user || a.group != b.group || a.seccomp != b.seccomp)
        spdlog::warn("reload: process: (dumpable, user, group, seccomp) changes take effect at restart only");
    }
    if (!(loaded.config->admin.address.str() == current_->config.admin.address.str()))
      spdlog::warn("reload: admin address changes take effect at restart only (still {})", current_->config.admin.address.str());
    // A changed attestation.identity is issued before its files are read.
    const auto& id = loaded.config->attestation.identity;
    const bool identity_changed = !(id == current_->config.attestation.identity);
    if (identity_changed && id && !issue_identity(*id, loaded.config->attestation))
      return reject("attestation.identity could not be issued");
    auto snap = proxy::build_snapshot(std::move(*loaded.config), version_ + 1, current_->access_log);
    if (!snap) return reject(snap.error().message);

    // Listeners whose address/protocol are new need sockets; open them all
    // first so that a bind failure rejects the whole reload.
    std::map<std::string, OpenedListener> next;
    std::vector<std::string> to_close;
    for (const auto& l : (*snap)->config.listeners) {
      auto it = listeners_.find(l.name);
      if (it != listeners_.end() && it->second.key == listener_key(l)) {
        next.emplace(l.name, OpenedListener{l.name, it->second.key, {}, it->second.v6});
        continue;
      }
      auto ol = open_listener(ioc_, l, workers_.size());
      if (!ol) {
        for (auto& [name, o] : next) close_fds(o.fds);
        return reject(ol.error().message);
      }
      if (it != listeners_.end()) to_close.push_back(l.name);
      next.emplace(l.name, std::move(*ol));
    }
    for (const auto& [name, o] : listeners_)
      if (!next.count(name)) to_close.push_back(name);

    ++version_;
    const bool carbon_changed = !((*snap)->config.carbon == current_->config.carbon);
    publish(*snap);
    if (carbon_changed) carbon_.start(current_->config.carbon);  // feeds restart only when their section changed
    if (identity_changed) {
      if (const auto& now = current_->config.attestation.identity)
        schedule_identity(now->evidence_ttl);
      else
        identity_timer_.cancel();
    }
    for (const auto& name : to_close)
      for (auto& w : workers_) w->close_listener(name);
    for (auto& [name, o] : next)
      if (!o.fds.empty()) adopt(o);
    listeners_ = std::move(next);
    reloads_ok_->inc();
    spdlog::info("reload: configuration version {} active ({} listener(s), {} cluster(s))", version_,
                 current_->config.listeners.size(), current_->config.clusters.size());
  }

  void reject(const std::string& why) {
    reloads_failed_->inc();
    spdlog::error("reload refused: {}; still serving configuration version {}", why, version_);
  }

  void drain() {
    draining_ = true;
    ready_ = false;
    draining_gauge_->set(1);
    watch_timer_.cancel();
    identity_timer_.cancel();
    for (auto& w : workers_) w->begin_drain();
    drain_deadline_ = std::chrono::steady_clock::now() + current_->config.drain_timeout;
    poll_drain();
  }

  void poll_drain() {
    watch_timer_.expires_after(std::chrono::milliseconds(50));
    watch_timer_.async_wait([this](const boost::system::error_code&) {
      std::size_t active = 0;
      for (auto& w : workers_) active += w->active_connections();
      const bool timed_out = std::chrono::steady_clock::now() >= drain_deadline_;
      if (active == 0 || timed_out) {
        if (active) spdlog::warn("drain_timeout reached with {} connection(s) still open: closing them", active);
        admin_->stop();
        ioc_.stop();
        return;
      }
      poll_drain();
    });
  }

  admin::AdminHandlers admin_handlers() {
    admin::AdminHandlers h;
    h.config_dump = [this] { return config::to_json(current_->config); };
    h.clusters = [this] { return clusters_json(); };
    h.ready = [this] { return ready_ && !draining_; };
    h.carbon = [this] { return carbon::board_json(carbon_document()); };
    h.carbon_html = [this] { return carbon::carbon_html(carbon_document()); };
    return h;
  }

  boost::json::object carbon_document() const {
    std::vector<carbon::Accountant::Report> accounts;
    for (const auto& c : current_->clusters)
      if (c.carbon) accounts.push_back(c.carbon->report());
    return carbon::carbon_document(carbon::process_board(), carbon_.zones(), accounts, carbon::Clock::now());
  }

  // "unchecked" (no active checks), "pending" (first check not done yet),
  // "healthy" or "unhealthy". Read on the main thread, where checks run.
  static const char* health_of(const config::Cluster& c, const upstream::health::EndpointHealth& h) {
    if (c.health_checks.empty()) return "unchecked";
    if (h.verdict.pending()) return "pending";
    return h.healthy() ? "healthy" : "unhealthy";
  }

  std::string clusters_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : current_->clusters) {
      nlohmann::json eps = nlohmann::json::array();
      for (const auto& e : c.endpoints) {
        eps.push_back({{"address", e.name},
                       {"weight", e.weight},
                       {"requests_total", e.requests->value()},
                       {"requests_active", e.requests_active->value()},
                       {"connections_active", e.connections_active->value()},
                       {"connections_total", e.connections_opened->value()},
                       {"connect_failures_total", e.connect_failures->value()},
                       {"reset_before_response_total", e.errors_reset_before_response->value()},
                       {"reset_mid_response_total", e.errors_reset_mid_response->value()},
                       {"timeouts_total", e.timeouts->value()},
                       {"health", health_of(*c.config, *e.health)},
                       {"ejected", e.health->ejected()}});
      }
      out.push_back({{"name", c.config->name},
                     {"lb_policy", config::to_string(c.config->lb_policy)},
                     {"overflow_total", c.overflow->value()},
                     {"no_healthy_total", c.no_healthy->value()},
                     {"healthy_panic_threshold", c.config->healthy_panic_threshold},
                     {"endpoints", eps}});
    }
    return nlohmann::json{{"config_version", current_->version}, {"clusters", out}}.dump(2);
  }

  ServerOptions opts_;
  asio::io_context ioc_{1};
  asio::steady_timer watch_timer_{ioc_};
  asio::steady_timer identity_timer_{ioc_};  // attestation.identity renewals
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;
  upstream::health::Monitor health_{ioc_};  // checks and ejections run on this (main) thread
  carbon::FeedRunner carbon_{ioc_, carbon::process_board()};  // grid-intensity feeds, also on this thread
  std::shared_ptr<const proxy::Snapshot> current_;
  std::map<std::string, OpenedListener> listeners_;
  std::uint64_t version_ = 0;
  FileStamp stamp_;
  Stamps cred_stamps_;                   // TLS files as the active snapshot loaded them
  std::optional<Stamps> pending_creds_;  // a change seen, waiting to settle
  bool ready_ = false;
  bool draining_ = false;
  std::chrono::steady_clock::time_point drain_deadline_;
  stats::Counter* reloads_ok_;
  stats::Counter* reloads_failed_;
  stats::Counter* creds_ok_;
  stats::Counter* creds_failed_;
  stats::Gauge* draining_gauge_;
  stats::Gauge* config_version_;
  stats::Gauge* workers_gauge_;
};

}  // namespace

int run_server(const ServerOptions& options) {
  Server server(options);
  return server.run();
}

}  // namespace aegis::app
