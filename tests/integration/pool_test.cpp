// Upstream pools: balancing, passive ejection and re-admission, active health checks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <limits>
#include <thread>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

// One short echo exchange through the proxy; true when it came back.
bool echo_once(ProxyHarness& proxy) {
  TlsClient client(proxy.client());
  if (!client.connect() || !client.send("ping")) return false;
  client.close_send();
  return client.read_all().value_or("") == "ping";
}

// An upstream that answers health checks with `status` and echoes everything else.
TestUpstream::Handler http_or_echo(std::atomic<int>& status, std::atomic<int>& clients) {
  return [&status, &clients](int fd) {
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    std::string first(buf, static_cast<size_t>(n));
    if (first.starts_with("GET /health ")) {
      write_all_fd(fd, "HTTP/1.1 " + std::to_string(status.load()) + " X\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    ++clients;
    write_all_fd(fd, first);
    std::string rest = read_until_eof(fd);
    write_all_fd(fd, rest);
    ::shutdown(fd, SHUT_WR);
  };
}

bool healthy(const ProxyHarness& proxy, size_t endpoint) {
  return proxy.snapshot()->upstreams[0].endpoints[endpoint].healthy->load();
}

TEST(Pool, RoundRobinSpreadsConnections) {
  TestUpstream a(TestUpstream::echo()), b(TestUpstream::echo());
  ProxyHarness proxy;
  proxy.start({.endpoints = {a.endpoint(), b.endpoint()}});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(a.accepted(), 2);
  EXPECT_EQ(b.accepted(), 2);
}

TEST(Pool, LeastConnectionsPrefersTheIdleEndpoint) {
  TestUpstream a(TestUpstream::echo()), b(TestUpstream::echo());
  ProxyHarness proxy;
  proxy.start({.endpoints = {a.endpoint(), b.endpoint()}, .upstream_extra = "balance = \"least_connections\""});
  TlsClient held(proxy.client());  // stays open on the first endpoint
  ASSERT_TRUE(held.connect());
  ASSERT_TRUE(held.send("hold"));
  ASSERT_EQ(held.read_some().value_or(""), "hold");
  for (size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(echo_once(proxy));
    // The log line is written on the worker just before the connection's count goes down, in
    // the same step; the next connection is handled after it, so it sees the idle endpoint idle.
    ASSERT_EQ(proxy.wait_for_log(i).size(), i);
  }
  EXPECT_EQ(a.accepted() + b.accepted(), 4);
  EXPECT_EQ(std::max(a.accepted(), b.accepted()), 3);  // all three went to the idle one
}

TEST(Pool, DeadEndpointIsEjectedThenReadmittedWhenItComesBack) {
  // A bound socket that does not listen keeps the port ours while connecting to it is refused.
  int reserved = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(reserved, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(reserved, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t flaky_port = ntohs(addr.sin_port);
  TestUpstream live(TestUpstream::echo());
  ProxyHarness proxy;
  proxy.start({.endpoints = {"127.0.0.1:" + std::to_string(flaky_port), live.endpoint()},
               // Long enough that the three connections below all fall inside it on a loaded machine
               // (100 ms did not under a parallel sanitizer build), short enough to wait out.
               .upstream_extra = "eject_after = 1\neject_for = \"2s\""});
  ASSERT_TRUE(echo_once(proxy));  // tries the dead one first, ejects it, ends on the live one
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);  // ejected: not tried again
  ::close(reserved);
  TestUpstream back(TestUpstream::echo(), false, flaky_port);
  // Once eject_for has passed, it gets connections again.
  EXPECT_TRUE(eventually([&] { return echo_once(proxy) && back.accepted() > 0; }));
}

TEST(Pool, HealthChecksTakeEndpointsOutAndBackIn) {
  std::atomic<int> status_a{503}, clients_a{0}, status_b{200}, clients_b{0};
  TestUpstream a(http_or_echo(status_a, clients_a)), b(http_or_echo(status_b, clients_b));
  ProxyHarness proxy;
  proxy.start({.endpoints = {a.endpoint(), b.endpoint()},
               .upstream_extra = "health = { interval = \"20ms\", timeout = \"1s\", path = \"/health\" }"});
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(clients_a.load(), 0);
  EXPECT_EQ(clients_b.load(), 4);
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 0u);  // never even tried
  status_a = 200;
  ASSERT_TRUE(eventually([&] { return healthy(proxy, 0); }));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(clients_a.load(), 2);
}

TEST(Pool, NoHealthyEndpointRefusesPromptlyWithUpstreamUnavailable) {
  std::atomic<int> status{500}, clients{0};
  TestUpstream only(http_or_echo(status, clients));
  ProxyHarness proxy;
  proxy.start(
      {.endpoints = {only.endpoint()}, .upstream_extra = "health = { interval = \"20ms\", path = \"/health\" }"});
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect());
  client.send("anyone?");
  EXPECT_EQ(client.read_all().value_or("<error>"), "");
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "upstream_unavailable");
  EXPECT_NE(log[0]["detail"].get<std::string>().find("failing its health check"), std::string::npos);
  EXPECT_EQ(proxy.totals().refused_for(gatehouse::Reason::upstream_unavailable), 1u);
  EXPECT_EQ(clients.load(), 0);
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

TEST(PoolNames, ANameIsResolvedAndEachOfItsAddressesTried) {
  TestUpstream v4(TestUpstream::echo());  // localhost may also resolve to ::1, where nobody listens
  ProxyHarness proxy;
  proxy.start(
      {.endpoints = {"localhost:" + std::to_string(v4.port())}, .upstream_extra = "resolve_interval = \"20ms\""});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(v4.accepted(), 3);
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 0u);  // one endpoint; its addresses tried in turn
  EXPECT_TRUE(proxy.snapshot()->upstreams[0].endpoints[0].by_name);
}

TEST(PoolNames, ANameThatDoesNotResolveIsAWarningAndARefusalThatSaysSo) {
  ProxyHarness proxy;
  ProxyConfig config{.endpoints = {"nowhere.invalid:8080"}};
  auto check = run_command(std::string(GATEHOUSE_BINARY) + " check -c " +
                           proxy.dir().write("dns.toml", proxy.config_text(config)).string());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("warning: "), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("cannot resolve 'nowhere.invalid'"), std::string::npos) << check.output;
  proxy.start(config);
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect());
  client.send("x");
  client.read_all();
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "upstream_unavailable");
  EXPECT_NE(log[0]["detail"].get<std::string>().find("nowhere.invalid:8080 (its name does not resolve)"),
            std::string::npos)
      << log[0].dump();
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

TEST(PoolNames, ANewAnswerForANameReachesEveryWorker) {
  TestUpstream first(TestUpstream::echo()), second(TestUpstream::echo());
  // The name answers (through the lookup a test may replace) with the first upstream, then, while
  // running, with the second.
  std::atomic<std::uint16_t> answer{first.port()};
  ProxyHarness proxy;
  ProxyConfig config{.endpoints = {"localhost:" + std::to_string(first.port())},
                     .upstream_extra = "resolve_interval = \"20ms\""};
  proxy.start_text(proxy.config_text(config), proxy.dir().path(), [&answer](const std::string&, const std::string&) {
    return std::optional<proxy::Endpoint::Addresses>(
        {asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), answer.load())});
  });
  ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(first.accepted(), 1);
  answer = second.port();
  EXPECT_TRUE(eventually([&] { return echo_once(proxy) && second.accepted() > 0; }));
  const int before = first.accepted();
  ASSERT_TRUE(echo_once(proxy));
  EXPECT_EQ(first.accepted(), before);  // the old address is gone from the pool
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

// Connections spread over the workers by the kernel (SO_REUSEPORT): with 4 workers, 48 in a row
// all miss one of them with a chance of about 4 in 100,000.
constexpr int kWorkers = 4;
constexpr int kSpread = 48;

// "" when every echo came back, else which one failed and the detail of the last refusal logged.
std::string echo_many(ProxyHarness& proxy) {
  for (int i = 0; i < kSpread; ++i) {
    if (echo_once(proxy)) continue;
    std::string why = "echo " + std::to_string(i) + " failed";
    proxy.wait_until_no_connections();
    for (const auto& line : proxy.wait_for_log(std::numeric_limits<size_t>::max(), 200))
      if (line.value("close", "") != "done") why = "echo " + std::to_string(i) + " failed: " + line.value("detail", "");
    return why;
  }
  return "";
}

// A name that never resolves in real DNS (RFC 6761) is looked up in vain when the config loads;
// only the monitor's lookup (the test's) answers. Each worker must learn that answer, and keep it
// through a reload whose own lookup fails again: a failed lookup keeps the previous addresses.
TEST(PoolNames, TheMonitorsAnswerReachesEveryWorkerAndSurvivesAReload) {
  TestUpstream up(TestUpstream::echo());
  std::atomic<bool> resolves{true};
  ProxyHarness proxy;
  // No passive ejection: the connects refused before the first answer must not eject the endpoint.
  ProxyConfig config{.endpoints = {"gatehouse-test.invalid:" + std::to_string(up.port())},
                     .upstream_extra = "resolve_interval = \"20ms\"\neject_after = 0"};
  std::string text = proxy.config_text(config);
  const std::string one_worker = "workers = 1\n";
  ASSERT_NE(text.find(one_worker), std::string::npos);
  text.replace(text.find(one_worker), one_worker.size(), "workers = " + std::to_string(kWorkers) + "\n");
  proxy.start_text(text, proxy.dir().path(), [&resolves, port = up.port()](const std::string&, const std::string&) {
    return resolves ? std::optional<proxy::Endpoint::Addresses>(
                          {asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)})
                    : std::nullopt;
  });
  ASSERT_EQ(proxy.server().worker_count(), static_cast<size_t>(kWorkers));
  ASSERT_TRUE(eventually([&] { return echo_once(proxy); }));
  EXPECT_EQ(echo_many(proxy), "") << "a worker has not learned the monitor's answer";
  const auto failed_before = proxy.totals().upstream_connect_failed;  // while the name did not resolve yet

  resolves = false;
  auto reloaded = proxy.reload_text(text, proxy.dir().path());
  ASSERT_TRUE(reloaded.ok) << reloaded.message;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the new monitor's lookups fail too
  EXPECT_EQ(echo_many(proxy), "") << "a reload whose lookup failed emptied a worker's addresses";
  EXPECT_EQ(proxy.totals().upstream_connect_failed, failed_before);
}

}  // namespace
}  // namespace gatehouse::test
