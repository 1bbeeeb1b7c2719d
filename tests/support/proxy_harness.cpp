#include "tests/support/proxy_harness.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "conf/parse.hpp"
#include "tests/support/eventually.hpp"

namespace gatehouse::test {

using tls::pki::CertSpec;
using tls::pki::KeyType;
using tls::pki::Purpose;

ProxyHarness::ProxyHarness()
    : root_(make_root("Test Root CA", "Acme Test")),
      intermediate_(make_intermediate("Test Intermediate CA", "Acme Test", root_, 0)) {
  proxy::prepare_signals();
  write_chain(dir_, "root.pem", {&root_});
  write_chain(dir_, "inter.pem", {&intermediate_});
  CertSpec server{.cn = "localhost",
                  .o = {"Acme Test"},
                  .sans = {"dns:localhost", "ip:127.0.0.1", "ip:::1"},
                  .purpose = Purpose::server};
  Cert ecdsa = make_leaf(server, &intermediate_);
  write_chain(dir_, "server-ecdsa.pem", {&ecdsa, &intermediate_});
  write_key(dir_, "server-ecdsa.key", ecdsa);
  Cert rsa = make_leaf(server, &intermediate_, KeyType::rsa2048);
  write_chain(dir_, "server-rsa.pem", {&rsa, &intermediate_});
  write_key(dir_, "server-rsa.key", rsa);
  Cert alice =
      make_leaf(CertSpec{.cn = "alice", .o = {"Acme Test"}, .ou = {"testers"}, .sans = {"email:alice@example.com"}},
                &intermediate_);
  write_chain(dir_, "alice.pem", {&alice});
  write_chain(dir_, "alice-chain.pem", {&alice, &intermediate_});
  write_key(dir_, "alice.key", alice);
}

ProxyHarness::~ProxyHarness() {
  stop();
  server_.reset();  // its log writer calls back into this object: gone before our members are
}

std::string ProxyHarness::config_text(const ProxyConfig& c) const {
  std::string endpoints;
  for (const auto& e : c.endpoints) endpoints += (endpoints.empty() ? "\"" : ", \"") + e + "\"";
  std::string certs;
  for (const auto& [cert, key] : c.extra_certificates) certs += "{ cert = \"" + cert + "\", key = \"" + key + "\" }, ";
  certs += "{ cert = \"server-ecdsa.pem\", key = \"server-ecdsa.key\" }";
  if (c.with_rsa_cert) certs += ", { cert = \"server-rsa.pem\", key = \"server-rsa.key\" }";
  return "[admin]\nlisten = \"127.0.0.1:0\"\n\n[server]\nworkers = 1\nmax_connections = " +
         std::to_string(c.max_connections) + "\ndrain_timeout = \"" + c.drain_timeout +
         "\"\n\n[log]\nlevel = \"warn\"\n\n"
         "[[listener]]\nname = \"test\"\nlisten = \"" +
         c.listen + "\"\nhandshake_timeout = \"" + c.handshake_timeout + "\"\nidle_timeout = \"" + c.idle_timeout +
         "\"\n" + c.listener_extra +
         "\n"
         "  [listener.tls]\n  certificates = [" +
         certs +
         "]\n"
         "  min_version = \"" +
         c.min_version + "\"\n  max_version = \"" + c.max_version +
         "\"\n"
         "  client_ca = \"root.pem\"\n" +
         (c.configure_intermediates ? "  client_intermediates = \"inter.pem\"\n" : "") + "  verify = \"" + c.verify +
         "\"\n  verify_depth = " + std::to_string(c.verify_depth) + "\n" + c.tls_extra + "\n" +
         (c.routes.empty() ? "  [[listener.route]]\n  upstream = \"app\"\n" : c.routes) +
         (c.http_extra.empty() ? "" : "  [listener.http]\n" + c.http_extra + "\n") +
         "\n"
         "[[upstream]]\nname = \"app\"\nendpoints = [" +
         endpoints + "]\nconnect_timeout = \"" + c.connect_timeout + "\"\n" + c.upstream_extra + "\n";
}

void ProxyHarness::start(const ProxyConfig& config) { start_text(config_text(config), dir_.path()); }

namespace {
// Tests never take the fixed admin port: they run side by side.
std::string with_test_admin(const std::string& toml) {
  return toml.find("[admin]") == std::string::npos ? "[admin]\nlisten = \"127.0.0.1:0\"\n" + toml : toml;
}
}  // namespace

proxy::Server::ReloadOutcome ProxyHarness::reload_text(const std::string& toml, const std::filesystem::path& base_dir) {
  std::string text = with_test_admin(toml);
  server_->set_config_source([text, base_dir] { return conf::parse_text(text, "test.toml", base_dir); });
  return server_->reload();
}

void ProxyHarness::start_text(const std::string& toml, const std::filesystem::path& base_dir,
                              proxy::LookupForTest lookup) {
  std::string text = with_test_admin(toml);
  auto parsed = conf::parse_text(text, "test.toml", base_dir);
  if (!parsed.settings) throw std::runtime_error(parsed.diagnostics.to_string());
  conf::Diagnostics problems;
  auto snapshot = proxy::build_snapshot(*parsed.settings, problems);
  if (!snapshot) throw std::runtime_error(problems.to_string());
  proxy::AccessLog log([this](std::string_view lines) {
    std::lock_guard lock(mutex_);
    for (size_t pos = 0, end; (end = lines.find('\n', pos)) != std::string_view::npos; pos = end + 1)
      lines_.emplace_back(lines.substr(pos, end - pos));
    cv_.notify_all();
  });
  auto server = proxy::Server::create(snapshot, log);
  if (!server) throw std::runtime_error(server.error());
  server_ = std::move(*server);
  if (lookup) server_->use_lookup_for_test(std::move(lookup));
  server_->start();
}

void ProxyHarness::stop() {
  if (server_) server_->shutdown();
}

ClientOptions ProxyHarness::client(const std::string& chain, const std::string& key) const {
  ClientOptions o;
  o.port = server_ ? port() : 0;
  o.server_ca = dir_ / "root.pem";
  if (!chain.empty()) {
    o.cert_chain = dir_ / chain;
    o.key = dir_ / key;
  }
  return o;
}

bool ProxyHarness::wait_until_no_connections() const {
  // The gauge: the workers finish the connections on their own threads.
  return eventually([&] { return totals().connections_active == 0; }, std::chrono::seconds(5));
}

std::vector<nlohmann::json> ProxyHarness::wait_for_log(size_t count, int timeout_ms) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return lines_.size() >= count; });
  std::vector<nlohmann::json> out;
  for (const auto& l : lines_) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace gatehouse::test
