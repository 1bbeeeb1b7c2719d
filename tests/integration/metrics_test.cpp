// The admin listener: exact counter deltas after known traffic, output promtool accepts,
// /readyz during a drain, /certs with the loaded dates.
#include <gtest/gtest.h>

#include <cstring>
#include <string_view>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

class Metrics : public testing::Test {
 protected:
  // `http_rules`: http mode, and these rules on the route "main".
  void start(const std::string& http_rules = "") {
    ProxyConfig c;
    c.endpoints = {up.endpoint()};
    c.upstream_extra = "\n[[upstream]]\nname = \"broken\"\nendpoints = [\"127.0.0.1:1\"]\n";
    if (!http_rules.empty()) c.listener_extra = "mode = \"http\"";
    c.routes = "  [[listener.route]]\n  name = \"main\"\n  upstream = \"app\"\n" + http_rules +
               "  [[listener.route]]\n  name = \"dead\"\n  sni = [\"dead.test\"]\n  upstream = \"broken\"\n";
    proxy.start(c);
  }
  std::string scrape() { return admin_get(proxy.server().admin_port(), "/metrics").second; }
  // A request over a fresh connection; true when the upstream answered.
  bool request(const std::string& chain, const std::string& key, const std::string& sni = "localhost") {
    auto opts = proxy.client(chain, key);
    opts.sni = sni;
    return get_ok(opts);
  }
  HttpUpstream up;
  ProxyHarness proxy;
};

TEST_F(Metrics, CountersMoveExactlyWithTheTraffic) {
  Cert other_root = make_root("Other Root", "Elsewhere Inc");
  Cert stranger = make_leaf(CertSpec{.cn = "stranger", .o = {"Elsewhere Inc"}}, &other_root);
  write_chain(proxy.dir(), "stranger.pem", {&stranger});
  write_key(proxy.dir(), "stranger.key", stranger);
  Cert old = make_leaf(CertSpec{.cn = "old", .o = {"Acme Test"}, .not_before = -10 * 86400, .not_after = -86400},
                       &proxy.intermediate());
  write_chain(proxy.dir(), "old.pem", {&old, &proxy.intermediate()});
  write_key(proxy.dir(), "old.key", old);
  start();
  std::string before = scrape();
  const std::string hs = "gatehouse_tls_handshakes_total{listener=\"test\",result=";
  EXPECT_EQ(metric_value(before, hs + "\"ok\",version=\"TLSv1.3\",resumed=\"false\"}"), 0);

  ASSERT_TRUE(request("alice-chain.pem", "alice.key"));
  ASSERT_TRUE(request("alice-chain.pem", "alice.key"));
  EXPECT_FALSE(request("", ""));                                       // no_certificate
  EXPECT_FALSE(request("stranger.pem", "stranger.key"));               // untrusted_issuer
  EXPECT_FALSE(request("old.pem", "old.key"));                         // expired
  EXPECT_FALSE(request("alice-chain.pem", "alice.key", "dead.test"));  // verified, upstream down
  proxy.wait_for_log(6);

  std::string after = scrape();
  EXPECT_EQ(metric_value(after, hs + "\"ok\",version=\"TLSv1.3\",resumed=\"false\"}"), 3);
  EXPECT_EQ(metric_value(after, hs + "\"no_certificate\",version=\"none\",resumed=\"false\"}"), 1);
  EXPECT_EQ(metric_value(after, hs + "\"untrusted_issuer\",version=\"none\",resumed=\"false\"}"), 1);
  EXPECT_EQ(metric_value(after, hs + "\"expired\",version=\"none\",resumed=\"false\"}"), 1);
  EXPECT_EQ(metric_value(after, "gatehouse_tls_handshake_duration_seconds_count{listener=\"test\"}"), 6);
  EXPECT_EQ(metric_value(after, "gatehouse_connections_total{listener=\"test\"}"), 6);
  EXPECT_EQ(metric_value(after, "gatehouse_connections_active{listener=\"test\"}"), 0);
  EXPECT_EQ(metric_value(after, "gatehouse_connection_duration_seconds_count{listener=\"test\"}"), 6);
  const std::string authz = "gatehouse_authz_decisions_total{listener=\"test\",route=";
  EXPECT_EQ(metric_value(after, authz + "\"main\",decision=\"allow\",reason=\"ok\"}"), 2);
  EXPECT_EQ(metric_value(after, authz + "\"dead\",decision=\"allow\",reason=\"ok\"}"), 1);
  EXPECT_EQ(metric_value(after, "gatehouse_upstream_connect_total{upstream=\"app\",result=\"ok\"}"), 2);
  EXPECT_EQ(metric_value(after, "gatehouse_upstream_connect_total{upstream=\"broken\",result=\"error\"}"), 1);
  EXPECT_EQ(metric_value(after, "gatehouse_upstream_connect_duration_seconds_count{upstream=\"app\"}"), 2);
  EXPECT_EQ(metric_value(after, "gatehouse_upstream_endpoints_healthy{upstream=\"app\"}"), 1);
  EXPECT_GT(metric_value(after, "gatehouse_bytes_total{listener=\"test\",direction=\"client_to_upstream\"}"), 0);
  EXPECT_GT(metric_value(after, "gatehouse_bytes_total{listener=\"test\",direction=\"upstream_to_client\"}"), 0);
  EXPECT_EQ(metric_value(after, "gatehouse_config_generation"), 1);
  EXPECT_EQ(metric_value(after, "gatehouse_access_log_dropped_total"), 0);
  EXPECT_NE(after.find("gatehouse_build_info{version=\"" GATEHOUSE_VERSION "\""), std::string::npos);
  // Never a client identity as a label.
  EXPECT_EQ(after.find("alice"), std::string::npos);
  EXPECT_EQ(after.find("stranger"), std::string::npos);

  if (run_command("command -v promtool").exit_code != 0) GTEST_SKIP() << "promtool not installed";
  auto file = proxy.dir().write("scrape.txt", after);
  auto check = run_command("promtool check metrics < " + file.string());
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST_F(Metrics, CertificatesAreListedWithTheirDates) {
  start();
  auto [status, body] = admin_get(proxy.server().admin_port(), "/certs");
  ASSERT_EQ(status, 200);
  auto certs = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(certs.is_array()) << body;
  auto server = tls::read_certificates(proxy.dir() / "server-ecdsa.pem");
  auto not_after = tls::unix_time(X509_get0_notAfter(server->front().get()));
  bool found_server = false, found_root = false;
  for (const auto& c : certs) {
    if (c["kind"] == "server" && c["serial"] == tls::serial_text(server->front().get())) {
      found_server = true;
      EXPECT_EQ(c["not_after"], tls::iso8601(not_after));
      EXPECT_EQ(c["days_left"], (not_after - std::time(nullptr)) / 86400);
    }
    if (c["kind"] == "client_ca") found_root = c["subject"] == "CN=Test Root CA,O=Acme Test";
  }
  EXPECT_TRUE(found_server) << body;
  EXPECT_TRUE(found_root) << body;
  std::string metrics = scrape();
  EXPECT_EQ(
      metric_value(metrics, "gatehouse_certificate_not_after_seconds{listener=\"test\",kind=\"server\",subject=\"" +
                                tls::subject_line(server->front().get()) + "\"}"),
      static_cast<double>(not_after));
  EXPECT_EQ(admin_get(proxy.server().admin_port(), "/healthz").first, 200);
  EXPECT_EQ(admin_get(proxy.server().admin_port(), "/nothing").first, 404);
}

TEST_F(Metrics, ReadyzIsUnavailableDuringADrain) {
  start();
  const auto port = proxy.server().admin_port();
  EXPECT_EQ(admin_get(port, "/readyz").first, 200);
  // A client in the middle of a request keeps the drain going.
  TlsClient busy(proxy.client());
  ASSERT_TRUE(busy.connect()) << busy.error();
  ASSERT_TRUE(busy.send("POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 10\r\n\r\nabc"));
  std::thread stopper([&] { proxy.stop(); });
  EXPECT_TRUE(eventually([&] { return admin_get(port, "/readyz").first == 503; })) << "still ready while draining";
  EXPECT_EQ(admin_get(port, "/healthz").first, 200);  // alive, just not taking new clients
  ASSERT_TRUE(busy.send("defghij"));
  auto rest = busy.read_all();
  busy.close_send();  // our half done too: the drain can end
  stopper.join();
  ASSERT_TRUE(rest);
  EXPECT_NE(rest->find("200 OK"), std::string::npos);
}

// Every metric the dashboard and the alerts use is one we export; promtool accepts the rules and
// their own unit test (metrics/alerts_test.yml).
TEST_F(Metrics, DashboardAndAlertsUseOnlyMetricsWeExport) {
  // A path rule refuses one request, so that the counters exported only once they move are there.
  start("  deny = [ { cn = \"alice\", path = \"/denied\" } ]\n");
  TlsClient denied(proxy.client("alice-chain.pem", "alice.key"));
  ASSERT_TRUE(denied.connect()) << denied.error();
  ASSERT_TRUE(denied.send("GET /denied HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_EQ(read_response(denied).substr(0, 12), "HTTP/1.1 403");
  std::string text = scrape();
  const std::filesystem::path dir = std::filesystem::path(GATEHOUSE_SOURCE_DIR) / "metrics";
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto dashboard = nlohmann::json::parse(read(dir / "grafana-dashboard.json"), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded());
  std::string exprs;
  for (const auto& panel : dashboard["panels"])
    for (const auto& target : panel["targets"]) exprs += target["expr"].get<std::string>() + "\n";
  EXPECT_GE(dashboard["panels"].size(), 6u);
  // Operators watch path/method refusals by listener and route (a panel of their own).
  EXPECT_NE(exprs.find("sum by (listener, route) (rate(gatehouse_http_requests_denied_total"), std::string::npos);
  // And requests by protocol, HTTP/2 GOAWAYs by cause and streams reset (issue 19).
  for (const char* family : {"gatehouse_http_requests_total", "gatehouse_http2_goaways_total",
                             "gatehouse_http2_streams_reset_total", "gatehouse_grpc_calls_total"})
    EXPECT_NE(exprs.find(family), std::string::npos) << family;
  exprs += read(dir / "alerts.yml");
  std::regex name("gatehouse_[a-z0-9_]+");  // http2 has a digit
  int used = 0;
  for (auto it = std::sregex_iterator(exprs.begin(), exprs.end(), name); it != std::sregex_iterator(); ++it) {
    std::string family = it->str();
    for (std::string_view suffix : {"_bucket", "_count", "_sum"})
      if (family.ends_with(suffix) && text.find("# TYPE " + family + " ") == std::string::npos)
        family = family.substr(0, family.size() - suffix.size());
    EXPECT_NE(text.find("# TYPE " + family + " "), std::string::npos) << family;
    ++used;
  }
  EXPECT_GT(used, 10);
  if (run_command("command -v promtool").exit_code != 0) GTEST_SKIP() << "promtool not installed";
  auto rules =
      run_command("cd " + dir.string() + " && promtool check rules alerts.yml && promtool test rules alerts_test.yml");
  EXPECT_EQ(rules.exit_code, 0) << rules.output;
}

}  // namespace
}  // namespace gatehouse::test
