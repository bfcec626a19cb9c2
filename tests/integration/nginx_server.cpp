#include "nginx_server.h"

#include <csignal>
#include <sstream>
#include <stdexcept>

namespace aegis::itest {

namespace {

constexpr auto kWorldReadable = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read;

}  // namespace

NginxServer::NginxServer(const TempDir& dir, std::uint16_t port, const Options& o) : port_(port) {
  const std::string nginx = find_tool("nginx");
  if (nginx.empty()) throw std::runtime_error("nginx is required (Debian package nginx-light)");
  const fs::path root = dir / o.name;
  fs::create_directories(root / "www");
  fs::create_directories(root / "tmp");
  // nginx workers drop to `nobody` when started as root: let them read.
  for (const fs::path& p : {dir.path(), root, root / "www", root / "tmp"}) {
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  }
  www_ = root / "www";
  access_log_ = root / "access.log";
  error_log_ = root / "error.log";
  const bool tls = !o.cert.empty();
  std::ostringstream conf;
  conf << "worker_processes 1;\n"
       << "pid " << (root / "nginx.pid").string() << ";\n"
       << "error_log " << error_log_.string() << " warn;\n"
       << "events { worker_connections 512; }\n"
       << "http {\n"
       << "  default_type application/octet-stream;\n"
       << "  log_format conns '$connection $request $status $server_protocol';\n"
       << "  access_log " << access_log_.string() << " conns;\n"
       << "  client_body_temp_path " << (root / "tmp/body").string() << ";\n"
       << "  proxy_temp_path " << (root / "tmp/proxy").string() << ";\n"
       << "  fastcgi_temp_path " << (root / "tmp/fastcgi").string() << ";\n"
       << "  uwsgi_temp_path " << (root / "tmp/uwsgi").string() << ";\n"
       << "  scgi_temp_path " << (root / "tmp/scgi").string() << ";\n"
       << "  keepalive_requests 10000;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port << (tls ? " ssl" : "") << (o.http2 ? " http2" : "") << ";\n"
       << "    root " << www_.string() << ";\n";
  if (tls) {
    conf << "    ssl_protocols TLSv1.2 TLSv1.3;\n"  // 1.22 leaves TLS 1.3 out by default
         << "    ssl_certificate " << o.cert.string() << ";\n"
         << "    ssl_certificate_key " << o.key.string() << ";\n";
  }
  conf << o.server_conf << "  }\n"
       << "}\n";
  write_file(root / "nginx.conf", conf.str());
  process_ = std::make_unique<Process>(
      o.name,
      std::vector<std::string>{nginx, "-e", error_log_.string(), "-p", root.string(), "-c",
                               (root / "nginx.conf").string(), "-g", "daemon off;"},
      dir.path());
  if (!wait_for_port(port, 10s)) {
    throw std::runtime_error("nginx did not start\n" + process_->stderr_tail() + "\n" + error_log());
  }
}

NginxServer::~NginxServer() {
  if (process_->running()) {
    process_->signal(SIGQUIT);  // graceful: master stops its workers
    if (!process_->wait_for(5s)) process_->kill();
  }
}

void NginxServer::put(const std::string& name, const std::string& content) {
  write_file(www_ / name, content);
  fs::permissions(www_ / name, kWorldReadable);
}

void NginxServer::put_pattern(const std::string& name, std::uint64_t n) {
  write_pattern_file(www_ / name, n);
  fs::permissions(www_ / name, kWorldReadable);
}

}  // namespace aegis::itest
