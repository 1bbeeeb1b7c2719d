// http mode with real curl: identity headers as specified (and spoofed ones gone), keep-alive
// over one upstream connection, pipelining, 100-continue, WebSocket, big chunked uploads,
// slow heads cut off, and 421 when the Host belongs to another route than the SNI.
#include <gtest/gtest.h>

#include <openssl/base64.h>
#include <openssl/sha.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
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

ProxyConfig http_config(const HttpUpstream& up, const std::string& http_extra = "") {
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  c.listener_extra = "mode = \"http\"";
  c.http_extra = http_extra;
  return c;
}

std::string curl(const ProxyHarness& p, const std::string& args, const std::string& cert = "alice-chain.pem",
                 const std::string& key = "alice.key") {
  std::string d = p.dir().path().string();
  std::string auth = cert.empty() ? "" : " --cert " + d + "/" + cert + " --key " + d + "/" + key;
  return "curl -sS --max-time 60 --cacert " + d + "/root.pem" + auth + " " + args;
}

std::string url(const ProxyHarness& p, const std::string& path = "/") {
  return "https://localhost:" + std::to_string(p.port()) + path;
}

std::string der_of(const std::filesystem::path& pem, size_t index = 0) {
  auto chain = tls::read_certificates(pem);
  uint8_t* der = nullptr;
  int len = i2d_X509((*chain)[index].get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string base64(const std::string& data) {
  std::string out(data.size() * 2 + 4, '\0');
  size_t n = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), reinterpret_cast<const uint8_t*>(data.data()),
                             data.size());
  out.resize(n);
  return out;
}

tls::PeerIdentity identity_of(const std::filesystem::path& pem) {
  auto chain = tls::read_certificates(pem);
  return tls::extract_identity((*chain)[0].get());
}

TEST(HttpMode, UpstreamReceivesIdentityHeadersAndNoSpoofedOnes) {
  HttpUpstream up;
  ProxyHarness proxy;
  Cert svc = make_leaf(
      CertSpec{
          .cn = "build-bot", .o = {"Acme Test"}, .sans = {"dns:bot.internal", "uri:spiffe://corp.example/ci/build"}},
      &proxy.intermediate());
  write_chain(proxy.dir(), "svc.pem", {&svc, &proxy.intermediate()});
  write_key(proxy.dir(), "svc.key", svc);
  proxy.start(http_config(up));
  auto r = run_command(curl(proxy,
                            "-H 'X-Client-CN: mallory' -H 'X-Forwarded-Client-Cert: Hash=00' -H 'Client-Cert: :AA==:' "
                            "-H 'X-Forwarded-For: 6.6.6.6' -H 'Forwarded: for=6.6.6.6' -H 'X-Real-IP: 6.6.6.6' " +
                                url(proxy, "/api?x=1"),
                            "svc.pem", "svc.key"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& req = reqs[0];
  EXPECT_EQ(req.target, "/api?x=1");
  auto id = identity_of(proxy.dir() / "svc.pem");
  ASSERT_NE(req.header("x-forwarded-client-cert"), nullptr);
  EXPECT_EQ(*req.header("x-forwarded-client-cert"),
            "Hash=" + id.fingerprint +
                ";Subject=\"CN=build-bot,O=Acme Test\";URI=spiffe://corp.example/ci/build;"
                "DNS=bot.internal");
  EXPECT_EQ(*req.header("x-client-cn"), "build-bot");
  EXPECT_EQ(*req.header("x-client-subject"), "CN=build-bot,O=Acme Test");
  EXPECT_EQ(*req.header("x-client-fingerprint"), id.fingerprint);
  EXPECT_EQ(*req.header("x-client-serial"), id.serial);
  EXPECT_EQ(*req.header("x-client-not-after"), tls::iso8601(id.not_after));
  EXPECT_EQ(*req.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(*req.header("x-forwarded-proto"), "https");
  EXPECT_EQ(*req.header("forwarded"),
            "for=127.0.0.1;proto=https;host=\"localhost:" + std::to_string(proxy.port()) + "\"");
  for (const char* h : {"x-client-cn", "x-forwarded-client-cert", "x-forwarded-for", "forwarded"})
    EXPECT_EQ(req.count(h), 1) << h;
  EXPECT_EQ(req.header("x-real-ip"), nullptr);
  EXPECT_EQ(req.header("client-cert"), nullptr);  // not enabled by default, and the client's is gone
  for (const auto& [name, value] : req.headers) {
    EXPECT_EQ(value.find("6.6.6.6"), std::string::npos) << name;
    EXPECT_EQ(value.find("mallory"), std::string::npos) << name;
  }
}

TEST(HttpMode, Rfc9440AndCertificateInXfccWhenAskedFor) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up, "  identity_headers = [\"xfcc\", \"client-cert\"]\n  forward_cert = true\n"));
  auto r = run_command(curl(proxy, url(proxy)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto req = up.requests().at(0);
  std::string leaf = der_of(proxy.dir() / "alice-chain.pem", 0);
  std::string inter = der_of(proxy.dir() / "alice-chain.pem", 1);
  EXPECT_EQ(*req.header("client-cert"), ":" + base64(leaf) + ":");
  EXPECT_EQ(*req.header("client-cert-chain"), ":" + base64(inter) + ":");
  const std::string& xfcc = *req.header("x-forwarded-client-cert");
  EXPECT_NE(xfcc.find(";Cert=\"-----BEGIN%20CERTIFICATE-----%0A"), std::string::npos) << xfcc;
  EXPECT_NE(xfcc.find(";Chain=\"-----BEGIN%20CERTIFICATE-----%0A"), std::string::npos) << xfcc;
  EXPECT_EQ(req.header("x-client-cn"), nullptr);      // not in the list
  EXPECT_EQ(req.header("x-forwarded-for"), nullptr);  // not in the list
}

TEST(HttpMode, KeepAliveReusesOneUpstreamConnection) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up));
  auto r = run_command(curl(proxy, url(proxy, "/one") + " " + url(proxy, "/two") + " " + url(proxy, "/three")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].target, "/three");
  EXPECT_EQ(up.connections(), 1);
  auto log = proxy.wait_for_log(3);
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[0]["target"], "/one");
  EXPECT_EQ(log[2]["request"], 3);
  EXPECT_EQ(log[2]["status"], 200);
}

TEST(HttpMode, PipelinedRequestsAreAnsweredInOrder) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(
      client.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  "POST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
                  "GET /c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  auto all = client.read_all();
  ASSERT_TRUE(all) << client.error();
  auto a = all->find("\"target\":\"/a\""), b = all->find("\"target\":\"/b\""), c = all->find("\"target\":\"/c\"");
  ASSERT_NE(a, std::string::npos) << *all;
  ASSERT_NE(b, std::string::npos) << *all;
  ASSERT_NE(c, std::string::npos) << *all;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(all->find("\"body_bytes\":5"), std::string::npos);
  EXPECT_EQ(up.connections(), 1);
}

TEST(HttpMode, ExpectContinueAndFixedLengthBody) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up));
  // curl sends Expect: 100-continue for a body over 1 MiB and waits for the 100.
  std::string body(2 * 1024 * 1024, 'x');
  auto file = proxy.dir().write("body.bin", body);
  auto r = run_command(curl(proxy, "-H 'Expect: 100-continue' --expect100-timeout 30 --data-binary @" + file.string() +
                                       " " + url(proxy, "/upload")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto req = up.requests().at(0);
  EXPECT_EQ(req.body_bytes, body.size());
  EXPECT_EQ(req.body_sha256, sha256_hex(body));
}

TEST(HttpMode, WebSocketEchoThroughTheTunnel) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(
      client.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) {
    auto more = client.read_some();
    ASSERT_TRUE(more && !more->empty()) << client.error();
    got += *more;
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 101", 0), 0u) << got;
  EXPECT_NE(got.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << got;
  std::string rest = got.substr(got.find("\r\n\r\n") + 4);
  // A masked text frame "hello gatehouse" (RFC 6455 5.2).
  const std::string text = "hello gatehouse";
  const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string frame{static_cast<char>(0x81), static_cast<char>(0x80 | text.size())};
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < text.size(); ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
  ASSERT_TRUE(client.send(frame));
  while (rest.size() < 2 + text.size()) {
    auto more = client.read_some();
    ASSERT_TRUE(more && !more->empty()) << client.error();
    rest += *more;
  }
  EXPECT_EQ(static_cast<uint8_t>(rest[0]), 0x81);
  EXPECT_EQ(rest.substr(2, text.size()), text);
}

TEST(HttpMode, TwoGibChunkedUploadArrivesIntact) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up));
  // curl reads stdin and sends it chunked (HTTP/1.1: over h2 there are no chunks); the upstream
  // hashes what it gets, tee what was sent.
  auto script = proxy.dir().write(
      "upload.sh", "set -o pipefail\nhead -c 2147483648 /dev/zero | tee >(sha256sum | cut -d' ' -f1 > " +
                       (proxy.dir() / "sent.sha").string() + ") | " +
                       curl(proxy, "--http1.1 -o /dev/null -T - -H 'Transfer-Encoding: chunked' " + url(proxy, "/big")) + "\n");
  auto r = run_command("bash " + script.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body_bytes, 2147483648ull);
  auto sent = run_command("cat " + (proxy.dir() / "sent.sha").string());
  EXPECT_EQ(reqs[0].body_sha256 + "\n", sent.output);
}

TEST(HttpMode, SlowRequestHeadIsCutOff) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up, "  head_timeout = \"300ms\"\n"));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));  // never finished
  auto all = client.read_all();  // the proxy answers and closes; the client's own guard is 10 s
  ASSERT_TRUE(all) << client.error();
  EXPECT_EQ(all->rfind("HTTP/1.1 408", 0), 0u) << *all;
  EXPECT_TRUE(up.requests().empty());
}

// On a kept-alive connection the next head has head_timeout from its first byte, not the much
// longer keepalive_timeout that ran while the connection was idle.
TEST(HttpMode, ASlowSecondHeadIsCutAtTheHeadTimeoutNotTheKeepaliveTimeout) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up, "  head_timeout = \"300ms\"\n  keepalive_timeout = \"60s\"\n"));
  TlsClient client(proxy.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  const auto first = read_response(client);
  ASSERT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  ASSERT_TRUE(client.send("GET /second HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));  // never finished
  auto rest = client.read_all();  // the proxy answers and closes; the client's own guard is 10 s
  ASSERT_TRUE(rest) << client.error();
  EXPECT_EQ(rest->rfind("HTTP/1.1 408", 0), 0u) << *rest;
  EXPECT_EQ(up.requests().size(), 1u);
}

TEST(HttpMode, SlowlorisTrickleIsCutAtTheHeadTimeoutAndOthersAreServed) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up, "  head_timeout = \"300ms\"\n"));
  // Each byte is progress, but the head's deadline is fixed when it starts: a trickle of one
  // header byte every 20 ms (20 s for the whole head) is answered 408 at 300 ms.
  std::vector<std::thread> trickles;
  std::atomic<int> got_408{0};
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    trickles.emplace_back([&] {
      TlsClient client(proxy.client());
      if (!client.connect()) return;
      const std::string head = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + std::string(1000, 'a') + "\r\n\r\n";
      for (char c : head) {
        if (!client.send(std::string(1, c))) break;
        if (client.readable()) break;                                // the proxy answered
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the attacker's pace
      }
      auto all = client.read_all();
      if (all && all->rfind("HTTP/1.1 408", 0) == 0) ++got_408;
    });
  }
  TlsClient good(proxy.client());
  ASSERT_TRUE(good.connect()) << good.error();
  ASSERT_TRUE(good.send("GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(good.read_all().value_or("").rfind("HTTP/1.1 200", 0), 0u);
  for (auto& t : trickles) t.join();
  EXPECT_EQ(got_408.load(), 5);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(up.requests().size(), 1u);  // only the good one reached the upstream
}

TEST(HttpMode, OversizedHeadGets431) {
  HttpUpstream up;
  ProxyHarness proxy;
  proxy.start(http_config(up, "  max_head_size = 2048\n"));
  auto r = run_command(
      curl(proxy, "-o /dev/null -w '%{http_code}' -H 'X-Big: " + std::string(4000, 'b') + "' " + url(proxy)));
  EXPECT_EQ(r.output, "431") << r.output;
  EXPECT_TRUE(up.requests().empty());
}

TEST(HttpMode, HostOfAnotherRouteGets421) {
  HttpUpstream up;
  ProxyHarness proxy;
  Cert both = make_leaf(CertSpec{.cn = "a.test",
                                 .o = {"Acme Test"},
                                 .sans = {"dns:a.test", "dns:b.test"},
                                 .purpose = tls::pki::Purpose::server},
                        &proxy.intermediate());
  write_chain(proxy.dir(), "ab.pem", {&both, &proxy.intermediate()});
  write_key(proxy.dir(), "ab.key", both);
  ProxyConfig c = http_config(up);
  c.extra_certificates = {{"ab.pem", "ab.key"}};
  c.routes =
      "  [[listener.route]]\n  name = \"a\"\n  sni = [\"a.test\"]\n  upstream = \"app\"\n"
      "  [[listener.route]]\n  name = \"b\"\n  sni = [\"b.test\"]\n  upstream = \"app\"\n";
  proxy.start(c);
  std::string port = std::to_string(proxy.port());
  std::string resolve = "--resolve a.test:" + port + ":127.0.0.1 ";
  auto same = run_command(curl(proxy, "-o /dev/null -w '%{http_code}' " + resolve + "https://a.test:" + port + "/"));
  EXPECT_EQ(same.output, "200");
  auto other =
      run_command(curl(proxy, "-w '\\n%{http_code}' -H 'Host: b.test' " + resolve + "https://a.test:" + port + "/"));
  EXPECT_NE(other.output.find("\n421"), std::string::npos) << other.output;
  EXPECT_NE(other.output.find("misdirected_request"), std::string::npos) << other.output;
  EXPECT_EQ(up.requests().size(), 1u);
}

TEST(HttpMode, HeadRequestsAndUpstreamFailuresGetProperAnswers) {
  HttpUpstream up;
  ProxyHarness proxy;
  ProxyConfig c = http_config(up);
  c.endpoints = {up.endpoint()};
  proxy.start(c);
  // HEAD: the upstream's Content-Length comes back, no body follows, the connection stays usable.
  auto head = run_command(curl(proxy, "-I -o /dev/null -o /dev/null -w '%{http_code} %{size_download} ' " +
                                          url(proxy, "/h") + " " + url(proxy, "/again")));
  EXPECT_EQ(head.output, "200 0 200 0 ") << head.output;
  ASSERT_EQ(up.requests().size(), 2u);
  EXPECT_EQ(up.requests()[1].method, "HEAD");
  EXPECT_EQ(up.connections(), 1);

  TestUpstream garbage([](int fd) {
    std::string ignored(4096, '\0');
    (void)::read(fd, ignored.data(), ignored.size());
    write_all_fd(fd, "this is not HTTP\r\n\r\n");
  });
  ProxyHarness bad;
  ProxyConfig bc = http_config(up);
  bc.endpoints = {garbage.endpoint()};
  bad.start(bc);
  auto r = run_command(curl(bad, "-w '\n%{http_code}' -H 'Accept: application/json' " + url(bad)));
  EXPECT_NE(r.output.find("\n502"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"reason\": \"upstream_error\""), std::string::npos) << r.output;

  ProxyHarness down;
  ProxyConfig dc = http_config(up);
  dc.endpoints = {"127.0.0.1:1"};
  down.start(dc);
  r = run_command(curl(down, "-w '\n%{http_code}' " + url(down)));
  EXPECT_NE(r.output.find("\n502"), std::string::npos) << r.output;
  auto log = down.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "upstream_unavailable");
  EXPECT_EQ(log[0]["status"], 502);
}

TEST(HttpMode, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  HttpUpstream up;
  ProxyHarness proxy;
  ProxyConfig c = http_config(up);
  c.drain_timeout = "60s";  // far beyond the client's 10 s guard: only a prompt close passes
  proxy.start(c);
  TlsClient idle(proxy.client());
  ASSERT_TRUE(idle.connect()) << idle.error();
  ASSERT_TRUE(idle.send("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto first = read_response(idle);
  ASSERT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos);
  std::thread stopper([&] { proxy.stop(); });
  auto rest = idle.read_all();  // the proxy closes the idle keep-alive connection
  stopper.join();
  ASSERT_TRUE(rest) << idle.error();
  EXPECT_TRUE(rest->empty());
  EXPECT_TRUE(idle.peer_closed());
}

// A drain cancels the idle keep-alive connection at once and waits for the request in flight,
// which is answered with Connection: close; only then does the drain end.
TEST(HttpMode, DrainWaitsForTheRequestInFlightAndClosesIdleOnesAtOnce) {
  HttpUpstream up;
  ProxyHarness proxy;
  ProxyConfig c = http_config(up);
  c.drain_timeout = "60s";
  proxy.start(c);
  TlsClient idle(proxy.client());
  ASSERT_TRUE(idle.connect()) << idle.error();
  ASSERT_TRUE(idle.send("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_EQ(read_response(idle).rfind("HTTP/1.1 200", 0), 0u);
  TlsClient busy(proxy.client());
  ASSERT_TRUE(busy.connect()) << busy.error();
  ASSERT_TRUE(busy.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234"));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    proxy.stop();
    stopped = true;
  });
  auto rest = idle.read_all();  // cancelled at once: nothing was in flight
  ASSERT_TRUE(rest) << idle.error();
  EXPECT_TRUE(rest->empty());
  EXPECT_TRUE(idle.peer_closed());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(stopped) << "the drain ended with a request in flight";
  ASSERT_TRUE(busy.send("56789"));
  const std::string answer = read_response(busy);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  stopper.join();
  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["target"], "/upload");
  EXPECT_EQ(log[1]["status"], 200);
  EXPECT_EQ(log[1]["close"], "done");
}

// At the drain deadline the request still in flight is cancelled, and its line says so.
TEST(HttpMode, DrainDeadlineCancelsTheRequestInFlight) {
  HttpUpstream up;
  ProxyHarness proxy;
  ProxyConfig c = http_config(up);
  c.drain_timeout = "300ms";
  proxy.start(c);
  TlsClient busy(proxy.client());
  ASSERT_TRUE(busy.connect()) << busy.error();
  ASSERT_TRUE(busy.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234"));
  ASSERT_TRUE(eventually([&] { return proxy.totals().handshakes_ok >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the head is read: in flight
  const auto started = std::chrono::steady_clock::now();
  proxy.stop();  // the body's rest never comes: the deadline cuts it
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["target"], "/upload");
  EXPECT_EQ(log[0]["close"], "terminated");
}

TEST(HttpMode, WhoamiShowsTheHeadersAnUpstreamReceives) {
  ProxyHarness proxy;
  ProxyConfig c;
  c.listener_extra = "mode = \"http\"";
  proxy.start(c);
  auto r = run_command(curl(proxy, "-v -H 'X-Client-CN: mallory' " + url(proxy)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ALPN: server accepted h2"), std::string::npos) << r.output;  // the default offers h2 first
  EXPECT_NE(r.output.find("X-Client-CN: alice"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("X-Forwarded-Client-Cert: Hash="), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("  X-Client-CN: mallory"), std::string::npos) << r.output;  // "> ..." is curl's own
}

}  // namespace
}  // namespace gatehouse::test
