// Broken upstreams: one that stops reading (the proxy pushes back on the client instead of
// buffering), one that answers slowly (nobody else waits for it), one that vanishes during the
// connect (the next endpoint is tried, or the client is refused at once). Refusing and resetting
// upstreams are in data_test.cpp.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

// Lets upstream handlers block until the test says so, without sleeping.
class Gate {
 public:
  Gate() : fd_(::eventfd(0, EFD_CLOEXEC)) {}
  ~Gate() { ::close(fd_); }
  void open() {
    std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
  void wait() const {
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, 20000);  // a guard against a hung test; the test opens it long before
  }

 private:
  int fd_;
};

TEST(UpstreamFaults, AnUpstreamThatStopsReadingPushesBackOnTheClient) {
  Gate release;
  TestUpstream upstream([&](int) { release.wait(); });  // accepts, never reads
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  ClientOptions opt = proxy.client();
  opt.timeout_ms = 1500;  // a send blocked this long means the proxy stopped taking bytes
  TlsClient client(opt);
  ASSERT_TRUE(client.connect()) << client.error();
  const std::string chunk(1 << 20, 'x');
  const std::uint64_t offered = 256ull << 20;
  std::uint64_t sent = 0;
  while (sent < offered && client.send(chunk)) sent += chunk.size();
  // Only what kernel buffers on the way hold (a few MiB each) plus one 64 KiB proxy buffer:
  // without back-pressure the proxy would have taken all 256 MiB into memory.
  EXPECT_LT(sent, 48ull << 20) << "the proxy kept reading from the client";
  EXPECT_GT(sent, 0u);
  EXPECT_EQ(proxy.totals().connections_active, 1u);
  release.open();
}

TEST(UpstreamFaults, ASlowUpstreamDelaysOnlyItsOwnClient) {
  Gate answer_slow;
  TestUpstream upstream([&](int fd) {
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    if (std::string(buf, static_cast<size_t>(n)).find("slow") != std::string::npos) answer_slow.wait();
    write_all_fd(fd, "answer to " + std::string(buf, static_cast<size_t>(n)));
  });
  ProxyHarness proxy;
  proxy.start({.endpoints = {upstream.endpoint()}});
  TlsClient slow(proxy.client());
  ASSERT_TRUE(slow.connect()) << slow.error();
  ASSERT_TRUE(slow.send("slow"));
  // While the slow answer is pending, other clients on the same worker are served.
  for (int i = 0; i < 5; ++i) {
    TlsClient fast(proxy.client());
    ASSERT_TRUE(fast.connect()) << fast.error();
    ASSERT_TRUE(fast.send("fast"));
    auto reply = fast.read_some();
    ASSERT_TRUE(reply);
    EXPECT_EQ(*reply, "answer to fast");
  }
  answer_slow.open();
  auto reply = slow.read_some();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, "answer to slow");
}

// A listening port whose accept queue is full: SYNs to it are dropped, so a connect neither
// succeeds nor fails; it hangs until the connect timeout, as with a host that vanished.
class BlackHole {
 public:
  BlackHole() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(listening_.port());
    for (int i = 0; i < 4; ++i) {  // fill the queue; the later ones stay half-open
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // in progress, on purpose
      fillers_.push_back(fd);
    }
  }
  ~BlackHole() {
    for (int fd : fillers_) ::close(fd);
  }
  std::string endpoint() const { return listening_.endpoint(); }

 private:
  LoopbackSocket listening_{0};
  std::vector<int> fillers_;
};

TEST(UpstreamFaults, AnEndpointThatVanishesDuringConnectIsSkippedOrRefusedPromptly) {
  BlackHole gone;
  TestUpstream upstream(TestUpstream::echo());
  {
    // Alone: the client is refused once the connect timeout passes, and told why in the log.
    ProxyHarness proxy;
    proxy.start({.connect_timeout = "300ms", .endpoints = {gone.endpoint()}});
    TlsClient client(proxy.client());
    ASSERT_TRUE(client.connect()) << client.error();
    const auto started = std::chrono::steady_clock::now();
    client.send("hello?");
    EXPECT_EQ(client.read_all().value_or(""), "");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    auto log = proxy.wait_for_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["close"], "upstream_unreachable") << log[0].dump();
    EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);
  }
  {
    // With a live endpoint beside it: the next one is tried and the client is served.
    ProxyHarness proxy;
    proxy.start({.connect_timeout = "300ms", .endpoints = {gone.endpoint(), upstream.endpoint()}});
    TlsClient client(proxy.client());
    ASSERT_TRUE(client.connect()) << client.error();
    ASSERT_TRUE(client.send("ping"));
    client.close_send();
    EXPECT_EQ(client.read_all().value_or("<error>"), "ping");
    EXPECT_EQ(proxy.totals().upstream_connect_failed, 1u);
    EXPECT_EQ(proxy.totals().upstream_connect_ok, 1u);
  }
}

}  // namespace
}  // namespace gatehouse::test
