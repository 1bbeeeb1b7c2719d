// Open connections meet a reload (issue 16, finding 8): a client revoked by a new CRL, or no
// longer admitted by new rules, loses the connections it already has (keep-alive http, WebSocket
// tunnels, tcp splices), logged and counted; other clients' connections go on untouched. And
// max_connection_age ends old connections.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

const std::string kGet = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const std::string kDenyAlice = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";

// Whether the proxy ends the connection: what comes before the end (nullopt on a TLS error, as
// when the proxy shut the socket without close_notify).
std::optional<std::string> rest_until_closed(TlsClient& client) { return client.read_all(); }

class Revalidation : public testing::Test {
 protected:
  Revalidation() {
    Cert bob = make_leaf({.cn = "bob"}, &proxy.intermediate());
    write_chain(proxy.dir(), "bob.pem", {&bob, &proxy.intermediate()});
    write_key(proxy.dir(), "bob.key", bob);
    write_crl({});
  }

  // The intermediate's CRL, revoking these serials, in crl.pem.
  void write_crl(const std::vector<std::string>& serials) {
    const std::int64_t now = std::time(nullptr);
    std::vector<tls::ca::IndexEntry> revoked;
    for (const auto& serial : serials)
      revoked.push_back({serial, "", "", tls::subject_line(proxy.intermediate().x509.get()), "client", 0, 0, true,
                         now - 60, "keyCompromise"});
    auto crl = tls::ca::signed_crl_pem(proxy.intermediate().x509.get(), proxy.intermediate().key.get(), revoked,
                                       ++crl_number, now - 60, now + 86400);
    ASSERT_TRUE(crl);
    proxy.dir().write("crl.pem", *crl);
  }

  std::string alice_serial() {
    auto certs = tls::read_certificates(proxy.dir() / "alice.pem");
    return tls::serial_text(certs->front().get());
  }

  std::string config(const ProxyConfig& c) {
    std::string text = proxy.config_text(c);
    text.replace(text.find("  verify = "), 0, "  crl = \"crl.pem\"\n");
    return text;
  }
  void start(const ProxyConfig& c) {
    current = c;
    proxy.start_text(config(c), proxy.dir().path());
  }
  // The CRL file replaced with one that revokes alice, and the config reloaded (as SIGHUP would).
  void revoke_alice_and_reload() {
    write_crl({alice_serial()});
    auto outcome = proxy.reload_text(config(current), proxy.dir().path());
    ASSERT_TRUE(outcome.ok) << outcome.message;
  }

  // Waits (bounded by the log's own wait) for the access-log line with this close.
  std::optional<nlohmann::json> wait_for_close(const std::string& close) {
    for (size_t n = 1;; ++n) {
      auto lines = proxy.wait_for_log(n);
      if (lines.size() < n) return std::nullopt;
      for (const auto& line : lines)
        if (line.value("close", "") == close) return line;
    }
  }

  std::string metrics() { return proxy.server().admin_reply("GET", "/metrics").body; }

  ProxyHarness proxy;
  ProxyConfig current;
  long crl_number = 0;
};

ProxyConfig http_whoami() {
  ProxyConfig c;
  c.listener_extra = "mode = \"http\"";
  return c;
}

ProxyConfig tcp_to(const TestUpstream& up) {
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  return c;
}

TEST_F(Revalidation, RevokedClientLosesItsKeepAliveConnectionWhileOthersKeepTheirs) {
  start(http_whoami());
  TlsClient alice(proxy.client());
  TlsClient bob(proxy.client("bob.pem", "bob.key"));
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(bob.connect()) << bob.error();
  ASSERT_TRUE(alice.send(kGet));
  ASSERT_EQ(read_response(alice).rfind("HTTP/1.1 200", 0), 0u);
  ASSERT_TRUE(bob.send(kGet));
  ASSERT_EQ(read_response(bob).rfind("HTTP/1.1 200", 0), 0u);

  revoke_alice_and_reload();
  auto closed = wait_for_close("reverified_closed");
  ASSERT_TRUE(closed) << "alice's open connection was not closed after the reload";
  EXPECT_EQ((*closed)["reason"], "revoked");
  EXPECT_EQ((*closed)["decision"], "deny");
  EXPECT_NE((*closed)["detail"].get<std::string>().find("has been revoked"), std::string::npos) << *closed;
  EXPECT_EQ((*closed)["subject"].get<std::string>().rfind("CN=alice", 0), 0u) << *closed;

  // alice's next request on the same connection gets no answer: the connection is gone.
  alice.send(kGet);
  EXPECT_EQ(rest_until_closed(alice).value_or("").find("HTTP/1.1 200"), std::string::npos);
  // bob's connection passed the same reload untouched.
  ASSERT_TRUE(bob.send(kGet));
  EXPECT_EQ(read_response(bob).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(metrics().find("gatehouse_connections_reverified_closed_total{listener=\"test\",reason=\"revoked\"} 1"),
            std::string::npos)
      << metrics();
}

TEST_F(Revalidation, RevokedClientsTcpSessionIsClosed) {
  TestUpstream up(TestUpstream::echo());
  start(tcp_to(up));
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(alice.send("ping"));
  ASSERT_EQ(alice.read_some().value_or(""), "ping");

  revoke_alice_and_reload();
  auto rest = rest_until_closed(alice);  // returns only once the proxy ends the splice
  EXPECT_EQ(rest.value_or(""), "");
  EXPECT_TRUE(alice.peer_closed()) << alice.error();
  auto closed = wait_for_close("reverified_closed");
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)["reason"], "revoked");
  EXPECT_EQ((*closed)["bytes_client_to_upstream"], 4);
}

TEST_F(Revalidation, RevokedClientsWebSocketTunnelIsClosed) {
  HttpUpstream up;
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  c.listener_extra = "mode = \"http\"";
  start(c);
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(
      alice.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) {
    auto more = alice.read_some();
    ASSERT_TRUE(more && !more->empty()) << alice.error();
    got += *more;
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 101", 0), 0u) << got;

  revoke_alice_and_reload();
  auto rest = rest_until_closed(alice);
  EXPECT_EQ(rest.value_or(""), "");
  auto closed = wait_for_close("reverified_closed");
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)["reason"], "revoked");
}

TEST_F(Revalidation, RuleThatNoLongerAdmitsTheIdentityClosesItsConnection) {
  TestUpstream up(TestUpstream::echo());
  start(tcp_to(up));
  TlsClient alice(proxy.client());
  TlsClient bob(proxy.client("bob.pem", "bob.key"));
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(bob.connect()) << bob.error();
  ASSERT_TRUE(alice.send("ping"));
  ASSERT_EQ(alice.read_some().value_or(""), "ping");

  ProxyConfig deny = current;
  deny.routes = kDenyAlice;
  auto outcome = proxy.reload_text(config(deny), proxy.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(rest_until_closed(alice).value_or(""), "");
  EXPECT_TRUE(alice.peer_closed()) << alice.error();
  auto closed = wait_for_close("reverified_closed");
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)["reason"], "policy_denied");
  // bob is not denied by the new rule: his splice still echoes.
  ASSERT_TRUE(bob.send("pong"));
  EXPECT_EQ(bob.read_some().value_or(""), "pong");
  EXPECT_NE(
      metrics().find("gatehouse_connections_reverified_closed_total{listener=\"test\",reason=\"policy_denied\"} 1"),
      std::string::npos)
      << metrics();
}

TEST_F(Revalidation, MaxConnectionAgeClosesAnOldTcpSession) {
  TestUpstream up(TestUpstream::echo());
  ProxyConfig c = tcp_to(up);
  c.listener_extra = "max_connection_age = \"1s\"";
  start(c);
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(alice.send("ping"));
  ASSERT_EQ(alice.read_some().value_or(""), "ping");
  EXPECT_EQ(rest_until_closed(alice).value_or(""), "");  // the proxy ends it; the client's guard is 10 s
  EXPECT_TRUE(alice.peer_closed()) << alice.error();
  auto closed = wait_for_close("max_connection_age");
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)["reason"], "ok");
  EXPECT_EQ((*closed)["decision"], "allow");
  EXPECT_GE((*closed)["duration_ms"].get<double>(), 1000.0);
  EXPECT_NE(metrics().find("gatehouse_connections_max_age_closed_total{listener=\"test\"} 1"), std::string::npos)
      << metrics();
}

TEST_F(Revalidation, MaxConnectionAgeClosesAnOldKeepAliveHttpConnection) {
  ProxyConfig c = http_whoami();
  c.listener_extra += "\nmax_connection_age = \"1s\"";
  start(c);
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(alice.send(kGet));
  ASSERT_EQ(read_response(alice).rfind("HTTP/1.1 200", 0), 0u);
  auto rest = rest_until_closed(alice);  // idle between requests: closed when the age is reached
  ASSERT_TRUE(rest) << alice.error();
  EXPECT_EQ(*rest, "");
  EXPECT_TRUE(alice.peer_closed());
  auto closed = wait_for_close("max_connection_age");
  ASSERT_TRUE(closed);
  EXPECT_GE((*closed)["duration_ms"].get<double>(), 1000.0);
}

TEST_F(Revalidation, MaxConnectionAgeLetsTheRequestInProgressFinishFirst) {
  // The upstream holds its answer until the age has passed (the counter says so), then answers.
  std::atomic<bool> release{false};
  TestUpstream slow([&release](int fd) {
    std::string head;
    char c = 0;
    while (head.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) head += c;
    eventually([&release] { return release.load(); });  // the test lets go once the age has passed
    write_all_fd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate");
  });
  ProxyConfig c;
  c.endpoints = {slow.endpoint()};
  c.listener_extra = "mode = \"http\"\nmax_connection_age = \"1s\"";
  start(c);
  TlsClient alice(proxy.client());
  ASSERT_TRUE(alice.connect()) << alice.error();
  ASSERT_TRUE(alice.send(kGet));
  const auto aged = "gatehouse_connections_max_age_closed_total{listener=\"test\"} 1";
  const bool closed = eventually([&] { return metrics().find(aged) != std::string::npos; });
  release = true;
  ASSERT_TRUE(closed) << metrics();
  std::string answer = read_response(alice);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("late"), std::string::npos) << answer;
  (void)rest_until_closed(alice);  // then the connection ends, before another request
  EXPECT_TRUE(alice.peer_closed());
  EXPECT_TRUE(wait_for_close("max_connection_age"));
}

}  // namespace
}  // namespace gatehouse::test
