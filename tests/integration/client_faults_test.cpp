// Hostile and broken clients: a disconnect at every step of the handshake, garbage records, a
// giant ClientHello, oversized and over-long certificate chains, a slowloris on the handshake.
// For each: the reason is right, the connection's slot and memory are given back
// (connections_active returns to 0), and a good client is served right after.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <thread>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/stepped_client.hpp"
#include "tests/support/test_upstream.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using gatehouse::Reason;

// A stepped client of `proxy` presenting alice's certificate.
SteppedClient stepped(const ProxyHarness& proxy, std::uint16_t max_version, bool connect = true) {
  return SteppedClient(connect ? proxy.port() : 0, proxy.dir() / "alice-chain.pem", proxy.dir() / "alice.key",
                       max_version);
}

class ClientFaults : public testing::Test {
 protected:
  void start(const ProxyConfig& config = {}) { proxy.start(config); }

  void expect_good_client_served() {
    TlsClient client(proxy.client());
    ASSERT_TRUE(client.connect()) << client.error();
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
  }
  // A raw TCP peer sends `bytes` and waits for the proxy to close on it.
  void send_raw_and_wait_for_close(const std::string& bytes) {
    int fd = connect_tcp(proxy.port());
    ASSERT_GE(fd, 0);
    write_all_fd(fd, bytes);
    read_until_eof(fd);
    ::close(fd);
  }

  ProxyHarness proxy;
};

TEST_F(ClientFaults, DisconnectAtEveryStepOfTheHandshake) {
  start();
  const int kSteps = 8;
  for (std::uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    // Attempt k hangs up after k steps: half a flight sent, the rest sent, the reply read, ...
    for (int stop_after = 0; stop_after < kSteps; ++stop_after) {
      SteppedClient c = stepped(proxy, version);
      ASSERT_TRUE(c.connected());
      for (int step = 0; step < stop_after;) {
        std::string flight = c.next_flight();
        if (!flight.empty()) {
          c.send(std::string_view(flight).substr(0, flight.size() / 2));
          if (++step == stop_after) break;
          c.send(std::string_view(flight).substr(flight.size() / 2));
          if (++step == stop_after) break;
        }
        if (c.done() || !c.receive()) break;
        ++step;
      }
      c.hang_up();
    }
  }
  ASSERT_TRUE(proxy.wait_until_no_connections());
  // Every connection is logged: a hang-up before the proxy finished its side of the handshake
  // ends the handshake (client_closed: the client left, nothing was refused); after it, an
  // ordinary close.
  auto log = proxy.wait_for_log(2 * kSteps);
  ASSERT_EQ(log.size(), 2u * kSteps);
  int failed = 0;
  for (const auto& line : log) {
    if (line["close"] == "handshake_failed") {
      ++failed;
      EXPECT_EQ(line["reason"], "client_closed") << line.dump();
      EXPECT_EQ(line["decision"], "none") << line.dump();
    } else {
      EXPECT_EQ(line["close"], "client_closed") << line.dump();
    }
  }
  EXPECT_GE(failed, 8);  // the first four steps of each version at least
  // Hang-ups are not refusals: no refusal counter moved.
  for (std::size_t r = 0; r < gatehouse::kReasonCount; ++r)
    EXPECT_EQ(proxy.totals().refused[r], 0u) << gatehouse::reason_keyword(static_cast<Reason>(r));
  expect_good_client_served();
}

TEST_F(ClientFaults, GarbageRecordsAndAGiantClientHelloAreProtocolErrors) {
  start();
  // A TLS record header announcing more than any record may carry (2^14 + 2048 bytes).
  std::string oversized_record = {0x16, 0x03, 0x01, 0x48, 0x01};
  oversized_record += std::string(64, 'A');
  send_raw_and_wait_for_close(oversized_record);
  // A ClientHello message claiming 16 MiB, split over records: refused before it is buffered.
  std::string giant_hello;
  std::string body = {0x01, 0x7f, 0x7f, 0x7f};  // handshake type 1, length 0x7f7f7f
  body += std::string(16000, 'B');
  giant_hello +=
      std::string{0x16, 0x03, 0x01} + static_cast<char>(body.size() >> 8) + static_cast<char>(body.size() & 0xff);
  giant_hello += body;
  for (int i = 0; i < 8; ++i) {
    std::string more(16000, 'C');
    giant_hello +=
        std::string{0x16, 0x03, 0x01} + static_cast<char>(more.size() >> 8) + static_cast<char>(more.size() & 0xff);
    giant_hello += more;
  }
  send_raw_and_wait_for_close(giant_hello);
  // Not TLS at all.
  std::string random_bytes;
  for (int i = 0; i < 4096; ++i) random_bytes += static_cast<char>((i * 7919) & 0xff);
  send_raw_and_wait_for_close(random_bytes);

  auto log = proxy.wait_for_log(3);
  ASSERT_EQ(log.size(), 3u);
  for (const auto& line : log) EXPECT_EQ(line["reason"], "protocol_error") << line.dump();
  EXPECT_EQ(proxy.totals().refused_for(Reason::protocol_error), 3u);
  ASSERT_TRUE(proxy.wait_until_no_connections());
  expect_good_client_served();
}

// A chain of `count` CA certificates under our root, then a leaf: files in the harness folder.
std::string long_chain(const ProxyHarness& proxy, int count, const std::string& name) {
  std::vector<Cert> cas;
  const Cert* issuer = &proxy.intermediate();
  cas.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    cas.push_back(make_intermediate("Nested CA " + std::to_string(i), "Acme Test", *issuer));
    issuer = &cas.back();
  }
  Cert leaf = make_leaf(tls::pki::CertSpec{.cn = name, .o = {"Acme Test"}}, issuer);
  std::string pem = tls::to_pem(leaf.x509.get());
  for (auto it = cas.rbegin(); it != cas.rend(); ++it) pem += tls::to_pem(it->x509.get());
  pem += tls::to_pem(proxy.intermediate().x509.get());
  proxy.dir().write(name + "-chain.pem", pem);
  write_key(proxy.dir(), name + ".key", leaf);
  return name;
}

TEST_F(ClientFaults, OversizedAndOverLongChainsAreRefusedWithBoundedWork) {
  ProxyConfig config;
  config.tls_extra = "  max_client_cert_size = 65536";
  start(config);
  // 40 certificates (about 20 KB): within the size limit, far past verify_depth. Refused on its
  // length before any signature is checked.
  auto deep = long_chain(proxy, 40, "deep");
  {
    TlsClient client(proxy.client(deep + "-chain.pem", deep + ".key"));
    client.connect();
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(client.read_all().value_or(""), "");
  }
  // Over 100 KiB of certificates: BoringSSL refuses the handshake message itself (over
  // max_client_cert_size and its framing), before buffering it.
  auto huge = long_chain(proxy, 250, "huge");
  {
    TlsClient client(proxy.client(huge + "-chain.pem", huge + ".key"));
    client.connect();
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(client.read_all().value_or(""), "");
  }
  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["reason"], "chain_too_long") << log[0].dump();
  EXPECT_EQ(log[1]["reason"], "client_cert_too_large") << log[1].dump();
  ASSERT_TRUE(proxy.wait_until_no_connections());
  expect_good_client_served();
}

TEST_F(ClientFaults, SlowlorisOnTheHandshakeIsCutAtTheHandshakeTimeout) {
  ProxyConfig config;
  config.handshake_timeout = "400ms";
  start(config);
  // Ten clients trickle a ClientHello one byte every 20 ms: each byte is progress, but the
  // handshake deadline is fixed from the accept.
  SteppedClient model = stepped(proxy, TLS1_3_VERSION, /*connect=*/false);
  const std::string hello = model.next_flight();
  std::vector<std::thread> trickles;
  std::atomic<int> cut{0};
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    trickles.emplace_back([&] {
      int fd = connect_tcp(proxy.port());
      for (char byte : hello) {
        if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the attacker's pace
      }
      read_until_eof(fd);
      ++cut;
      ::close(fd);
    });
  }
  // Meanwhile good clients are served.
  expect_good_client_served();
  for (auto& t : trickles) t.join();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(cut.load(), 10);
  EXPECT_LT(took, std::chrono::milliseconds(hello.size() * 20));  // cut long before the last byte
  EXPECT_EQ(proxy.totals().refused_for(Reason::handshake_timeout), 10u);
  ASSERT_TRUE(proxy.wait_until_no_connections());
}

TEST_F(ClientFaults, AFloodPastMaxConnectionsWaitsInTheBacklogAndDrainsAway) {
  ProxyConfig config;
  config.max_connections = 20;
  config.handshake_timeout = "300ms";
  start(config);
  // 200 connections that never speak: 20 hold the slots until the handshake timeout, the
  // rest wait in the kernel's backlog and are taken in turn.
  std::vector<int> flood;
  for (int i = 0; i < 200; ++i) {
    int fd = connect_tcp(proxy.port());
    if (fd >= 0) flood.push_back(fd);
  }
  ASSERT_GE(flood.size(), 100u);
  EXPECT_LE(proxy.totals().connections_active, 20u);
  // A good client gets in once the flood's slots time out (bounded: its own 10 s guard).
  expect_good_client_served();
  for (int fd : flood) ::close(fd);
  ASSERT_TRUE(proxy.wait_until_no_connections());
  EXPECT_GE(proxy.totals().refused_for(Reason::handshake_timeout), 20u);
}

}  // namespace
}  // namespace gatehouse::test
