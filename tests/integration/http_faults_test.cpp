// Faults in the middle of an http-mode exchange: an upstream that resets while its response is
// on the way, and a client that hangs up halfway through its request body. Neither side is left
// waiting, the slot is given back, and the access log says how the request ended.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

ProxyConfig http_to(const TestUpstream& upstream) {
  ProxyConfig c;
  c.endpoints = {upstream.endpoint()};
  c.listener_extra = "mode = \"http\"";
  return c;
}

TEST(HttpFaults, AnUpstreamResetMidResponseEndsTheClientsConnection) {
  TestUpstream upstream([](int fd) {
    char buf[4096];
    if (::read(fd, buf, sizeof buf) <= 0) return;
    write_all_fd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'x'));
    linger reset{1, 0};  // the close that follows sends RST with 99,000 bytes still owed
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  });
  ProxyHarness proxy;
  proxy.start(http_to(upstream));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string got;
  while (auto more = client.read_some()) {  // ends when the proxy closes (the client's guard is 10 s)
    if (more->empty()) break;
    got += *more;
  }
  // The head and the bytes that came were forwarded; the rest can never come, so the client is
  // told by the connection closing rather than left waiting for 99,000 bytes.
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 200);
  EXPECT_LT(got.size(), 100000u);
  ASSERT_TRUE(proxy.wait_until_no_connections());
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["status"], 200) << log[0].dump();
  EXPECT_NE(log[0]["close"], "client_closed") << log[0].dump();
}

TEST(HttpFaults, AClientThatHangsUpMidBodyClosesTheUpstreamConnection) {
  std::atomic<bool> upstream_saw_eof{false};
  std::atomic<size_t> upstream_got{0};
  TestUpstream upstream([&](int fd) {
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) upstream_got += static_cast<size_t>(n);
    upstream_saw_eof = true;  // read returned 0 (or failed): the proxy let go of it
  });
  ProxyHarness proxy;
  proxy.start(http_to(upstream));
  {
    TlsClient client(proxy.client());
    ASSERT_TRUE(client.connect()) << client.error();
    ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n" +
                            std::string(10000, 'y')));
    // Wait (bounded) until the upstream has the part that was sent, then hang up mid-body.
    ASSERT_TRUE(eventually([&] { return upstream_got >= 10000; })) << upstream_got.load();
  }
  EXPECT_TRUE(eventually([&] { return upstream_saw_eof.load(); })) << "the upstream connection was left open";
  ASSERT_TRUE(proxy.wait_until_no_connections());
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["method"], "POST") << log[0].dump();
}

}  // namespace
}  // namespace gatehouse::test
