// Limits over a connection's life: idle_timeout, handshake_timeout, max_connections, drain.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

using Clock = std::chrono::steady_clock;

// True when the server closes `fd` within `timeout_ms` (EOF or reset).
bool closed_by_server(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) return false;
    char buf[4096];
    if (::read(fd, buf, sizeof buf) <= 0) return true;  // alerts may come first
  }
  return false;
}

TEST(Lifecycle, IdleConnectionIsClosedAfterIdleTimeout) {
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  ProxyConfig config;
  config.endpoints = {upstream.endpoint()};
  config.idle_timeout = "300ms";
  proxy.start(config);
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("ping"));
  EXPECT_EQ(client.read_some().value_or(""), "ping");  // activity, then silence
  auto started = Clock::now();
  auto rest = client.read_all();  // returns when the proxy gives up on us
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(250));
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["close"], "idle_timeout");
}

TEST(Lifecycle, SilentClientIsDroppedAfterHandshakeTimeoutAndFreesItsSlot) {
  ProxyHarness proxy;
  ProxyConfig config;
  config.handshake_timeout = "200ms";
  config.max_connections = 1;
  proxy.start(config);
  int fd = connect_tcp(proxy.port());
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closed_by_server(fd, 5000));
  ::close(fd);
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "handshake_timeout");
  EXPECT_EQ(proxy.totals().refused_for(gatehouse::Reason::handshake_timeout), 1u);
  // The only slot is free again.
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  client.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

TEST(Lifecycle, MaxConnectionsHolds) {
  ProxyHarness proxy;
  ProxyConfig config;
  config.max_connections = 2;
  proxy.start(config);
  // Two connections take both slots, holding them mid-handshake.
  int a = connect_tcp(proxy.port());
  int b = connect_tcp(proxy.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  // The third is queued by the kernel but not served: no handshake within the wait.
  {
    ClientOptions opt = proxy.client();
    opt.timeout_ms = 500;
    TlsClient third(opt);
    EXPECT_FALSE(third.connect());
    EXPECT_EQ(proxy.totals().connections_total, 2u);
  }
  // Freeing a slot lets the next client in.
  ::close(a);
  TlsClient fourth(proxy.client());
  EXPECT_TRUE(fourth.connect()) << fourth.error();
  ::close(b);
}

TEST(Lifecycle, ShutdownLetsOpenConnectionsFinishThenStops) {
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  std::thread stopper([&] { proxy.stop(); });
  // Draining: our open connection still works until it ends by itself.
  ASSERT_TRUE(client.send("still here"));
  EXPECT_EQ(client.read_some().value_or(""), "still here");
  client.close_send();
  EXPECT_EQ(client.read_all().value_or("<error>"), "");
  stopper.join();  // returns once our connection ended, well before drain_timeout
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["close"], "done");
}

TEST(Lifecycle, DrainTimeoutClosesConnectionsThatDoNotFinish) {
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  ProxyConfig config;
  config.endpoints = {upstream.endpoint()};
  config.drain_timeout = "200ms";
  proxy.start(config);
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("x"));
  EXPECT_EQ(client.read_some().value_or(""), "x");
  auto started = Clock::now();
  proxy.stop();  // the client never closes: the deadline ends it
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["close"], "terminated");
}

// The one connection's log line says Gatehouse cut it (server_closed, decision "none", after at
// least `min_ms`), and no refusal was counted against the client.
void expect_cut_by_gatehouse(ProxyHarness& proxy, const std::string& close, double min_ms) {
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["close"], close) << log[0];
  EXPECT_EQ(log[0]["reason"], "server_closed") << log[0];
  EXPECT_EQ(log[0]["decision"], "none") << log[0];
  EXPECT_GE(log[0]["duration_ms"].get<double>(), min_ms) << log[0];
  for (std::size_t r = 0; r < kReasonCount; ++r)
    EXPECT_EQ(proxy.totals().refused[r], 0u) << reason_keyword(static_cast<Reason>(r));
}

// Clients still in their PROXY header or handshake when the drain deadline passes are cut by
// Gatehouse: logged as such (server_closed, decision "none"), never as a refusal of theirs.
TEST(Lifecycle, DrainDeadlineCutsHandshakesWithoutCountingARefusal) {
  for (const bool proxy_protocol : {false, true}) {
    SCOPED_TRACE(proxy_protocol ? "in the PROXY header" : "in the handshake");
    ProxyHarness proxy;
    ProxyConfig config;
    config.drain_timeout = "200ms";
    if (proxy_protocol) config.listener_extra = "accept_proxy_protocol = [\"127.0.0.1/32\"]";
    proxy.start(config);
    int fd = connect_tcp(proxy.port());
    ASSERT_GE(fd, 0);
    // A v2 PROXY header's first half, or a ClientHello's record header: the server waits for more.
    const std::string partial =
        proxy_protocol ? std::string("\r\n\r\n\0\r\nQUIT\n", 12) : std::string("\x16\x03\x01\x00\xb0", 5);
    ASSERT_EQ(::write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
    ASSERT_TRUE(eventually([&] { return proxy.totals().connections_active == 1; }));
    proxy.stop();
    ::close(fd);
    expect_cut_by_gatehouse(proxy, "terminated", 0);
  }
}

// max_connection_age reached in the middle of a handshake (shorter than handshake_timeout here)
// ends it the same way: Gatehouse's cut, not the client's failure.
TEST(Lifecycle, MaxConnectionAgeCutsAStalledHandshakeWithoutCountingARefusal) {
  ProxyHarness proxy;
  ProxyConfig config;
  config.listener_extra = "max_connection_age = \"300ms\"";
  config.handshake_timeout = "10s";
  proxy.start(config);
  int fd = connect_tcp(proxy.port());
  ASSERT_GE(fd, 0);
  const std::string record_header("\x16\x03\x01\x00\xb0", 5);  // a ClientHello's first bytes
  ASSERT_EQ(::write(fd, record_header.data(), record_header.size()), static_cast<ssize_t>(record_header.size()));
  EXPECT_TRUE(closed_by_server(fd, 5000));
  ::close(fd);
  expect_cut_by_gatehouse(proxy, "handshake_failed", 300.0);
}

}  // namespace
}  // namespace gatehouse::test
