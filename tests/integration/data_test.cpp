// Bytes through the proxy: bulk data intact both ways, half-close in each direction,
// unreachable upstreams and retry on the next endpoint.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

TEST(Data, SixtyFourMebibytesEachWayArriveIntact) {
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});

  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  constexpr size_t kBytes = 64u << 20;
  std::string sent, received;
  size_t received_bytes = 0;
  ASSERT_TRUE(client.transfer(kBytes, sent, received, received_bytes)) << client.error();
  EXPECT_EQ(received_bytes, kBytes);
  EXPECT_EQ(sent, received);  // the echo sent back exactly what went up

  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["bytes_client_to_upstream"], kBytes);
  EXPECT_EQ(log[0]["bytes_upstream_to_client"], kBytes);
  EXPECT_EQ(log[0]["endpoint"], upstream.endpoint());
  EXPECT_EQ(log[0]["close"], "done");
}

TEST(Data, ClientHalfCloseReachesTheUpstreamWhichCanStillAnswer) {
  // The upstream answers only after it has seen the client's end of input.
  TestUpstream upstream([](int fd) {
    std::string request = read_until_eof(fd);
    write_all_fd(fd, "got " + std::to_string(request.size()) + " bytes");
    ::shutdown(fd, SHUT_WR);
  });
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("twelve bytes"));
  client.close_send();
  EXPECT_EQ(client.read_all().value_or("<error>"), "got 12 bytes");
}

TEST(Data, UpstreamHalfCloseReachesTheClientWhichCanStillSend) {
  std::promise<std::string> late;
  TestUpstream upstream([&late](int fd) {
    write_all_fd(fd, "hello");
    ::shutdown(fd, SHUT_WR);
    late.set_value(read_until_eof(fd));
  });
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  EXPECT_EQ(client.read_all().value_or("<error>"), "hello");  // ends with close_notify
  EXPECT_TRUE(client.peer_closed());
  ASSERT_TRUE(client.send("still talking"));
  client.close_send();
  auto got = late.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "still talking");
}

TEST(Data, UnreachableUpstreamClosesTheClientPromptlyAndIsLogged) {
  LoopbackSocket refusing(-1);  // bound, never listening: connects are refused at once
  ProxyHarness proxy;
  proxy.start({.endpoints = {refusing.endpoint()}});
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  client.send("hello?");
  EXPECT_EQ(client.read_all().value_or("<error>"), "");
  EXPECT_TRUE(client.peer_closed());
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["close"], "upstream_unreachable");
  EXPECT_NE(log[0]["detail"].get<std::string>().find(refusing.endpoint()), std::string::npos) << log[0].dump();
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);
}

TEST(Data, RefusedEndpointIsSkippedForTheNextOne) {
  LoopbackSocket refusing(-1);  // bound, never listening: connects are refused at once
  TestUpstream upstream(TestUpstream::echo());
  ProxyHarness proxy;
  ProxyConfig config;
  config.endpoints = {refusing.endpoint(), upstream.endpoint()};
  proxy.start(config);
  for (int i = 0; i < 2; ++i) {  // round robin starts once at each endpoint; both succeed
    TlsClient client(proxy.client());
    ASSERT_TRUE(client.connect()) << client.error();
    ASSERT_TRUE(client.send("ping"));
    client.close_send();
    EXPECT_EQ(client.read_all().value_or("<error>"), "ping");
  }
  EXPECT_EQ(upstream.accepted(), 2);
  EXPECT_EQ(proxy.totals().upstream_connect_ok, 2u);
  EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);
}

TEST(Data, UpstreamResetMidStreamEndsTheClientCleanly) {
  TestUpstream upstream([](int fd) {
    char buf[16];
    if (::read(fd, buf, sizeof buf) <= 0) return;
    linger l{1, 0};  // the close that follows sends RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  });
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("x"));
  client.read_all();  // ends, one way or another, without hanging
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["decision"], "allow");
  // And the proxy keeps serving.
  TlsClient next(proxy.client());
  EXPECT_TRUE(next.connect()) << next.error();
}

}  // namespace
}  // namespace gatehouse::test
