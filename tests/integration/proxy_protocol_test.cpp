// PROXY protocol on the wire: v2 with SSL TLVs to an upstream, v1/v2 accepted only from
// accept_proxy_protocol sources, and a real nginx upstream that takes the client address from it.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "proxy/proxy_protocol.hpp"
#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tls/pem_io.hpp"

extern char** environ;

namespace gatehouse::test {
namespace {

// Type → value of each TLV in `data`.
std::map<int, std::string> tlvs(const std::string& data) {
  std::map<int, std::string> out;
  for (size_t i = 0; i + 3 <= data.size();) {
    size_t len = static_cast<uint8_t>(data[i + 1]) << 8 | static_cast<uint8_t>(data[i + 2]);
    out[static_cast<uint8_t>(data[i])] = data.substr(i + 3, len);
    i += 3 + len;
  }
  return out;
}

std::string alice_der(const ProxyHarness& proxy) {
  auto certs = tls::read_certificates(proxy.dir() / "alice.pem");
  uint8_t* der = nullptr;
  int len = i2d_X509(certs->front().get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

TEST(ProxyProtocolWire, V2HeaderCarriesClientAddressAndTlsFacts) {
  HttpUpstream up;  // skips the header, records the raw bytes
  ProxyHarness proxy;
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  c.listener_extra = "proxy_protocol = \"v2\"";
  proxy.start(c);
  auto opts = proxy.client();
  opts.sni = "localhost";
  TlsClient client(opts);
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(client.read_all());
  std::string raw = up.first_bytes();
  ASSERT_GE(raw.size(), 28u);
  auto header = proxy::parse_proxy_header(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  ASSERT_EQ(header.status, proxy::ReceivedProxyHeader::Status::complete);
  EXPECT_EQ(header.source->address().to_string(), "127.0.0.1");
  EXPECT_EQ(static_cast<uint8_t>(raw[13]), 0x11);  // TCP over IPv4
  auto top = tlvs(raw.substr(16 + 12, header.length - 28));
  EXPECT_EQ(top[0x02], "localhost");  // PP2_TYPE_AUTHORITY = SNI
  ASSERT_TRUE(top.count(0x20));
  const std::string& ssl = top[0x20];
  EXPECT_EQ(static_cast<uint8_t>(ssl[0]), 0x07);      // SSL, cert on this connection, cert in the session
  EXPECT_EQ(ssl.substr(1, 4), std::string(4, '\0'));  // verified
  auto sub = tlvs(ssl.substr(5));
  EXPECT_EQ(sub[0x21], "TLSv1.3");
  EXPECT_EQ(sub[0x22], "alice");
  EXPECT_EQ(sub[0x23], "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(sub[0x24], "ecdsa-with-SHA256");
  EXPECT_EQ(sub[0x25], "EC256");
  EXPECT_EQ(sub[0x28], alice_der(proxy));
}

class AcceptProxy : public testing::Test {
 protected:
  void start(const std::string& networks, const std::string& mode = "tcp") {
    ProxyConfig c;
    c.endpoints = {up.endpoint()};
    c.listener_extra = "mode = \"" + mode + "\"\naccept_proxy_protocol = [" + networks + "]";
    proxy.start(c);
  }
  bool request(const std::string& preface) {
    auto opts = proxy.client();
    opts.preface = preface;
    return get_ok(opts);
  }
  HttpUpstream up;
  ProxyHarness proxy;
};

TEST_F(AcceptProxy, TrustedBalancerGivesTheRealClientAddress) {
  start("\"127.0.0.0/8\", \"::1\"", "http");
  ASSERT_TRUE(request("PROXY TCP4 203.0.113.7 127.0.0.1 4242 443\r\n"));
  std::string v2 =
      proxy::encode_proxy_v2({.source = asio::ip::tcp::endpoint(asio::ip::make_address("198.51.100.9"), 777),
                              .destination = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 443)});
  ASSERT_TRUE(request(v2));
  ASSERT_TRUE(request(""));  // a trusted source may also connect without a header
  auto log = proxy.wait_for_log(3);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["client"].get<std::string>().rfind("203.0.113.7:4242 via 127.0.0.1:", 0), 0u) << log[0];
  EXPECT_EQ(log[1]["client"].get<std::string>().rfind("198.51.100.9:777 via ", 0), 0u) << log[1];
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(*reqs[0].header("x-forwarded-for"), "203.0.113.7");
  EXPECT_EQ(*reqs[1].header("x-forwarded-for"), "198.51.100.9");
  EXPECT_EQ(*reqs[2].header("x-forwarded-for"), "127.0.0.1");
}

TEST_F(AcceptProxy, HeaderFromAnyoneElseIsRefused) {
  start("\"10.0.0.0/8\"");
  EXPECT_FALSE(request("PROXY TCP4 203.0.113.7 127.0.0.1 4242 443\r\n"));
  auto log = proxy.wait_for_log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["reason"], "protocol_error");
  EXPECT_NE(log[0]["detail"].get<std::string>().find("not in accept_proxy_protocol"), std::string::npos) << log[0];
  EXPECT_TRUE(request(""));  // plain TLS from that source still works
  EXPECT_EQ(up.requests().size(), 1u);
}

// A real nginx (Debian's nginx-light) behind Gatehouse: `listen ... proxy_protocol` with
// set_real_ip_from takes the client address from our v2 header.
class NginxUpstream {
 public:
  explicit NginxUpstream(const TempDir& dir) : dir_(dir) {
    port_ = free_port();
    std::string d = dir.path().string();
    dir.write("nginx.conf",
              "daemon off;\nmaster_process off;\npid " + d + "/nginx.pid;\nerror_log " + d +
                  "/error.log;\n"
                  "events {}\nhttp {\n  log_format pp '$proxy_protocol_addr $remote_addr';\n"
                  "  access_log " +
                  d +
                  "/access.log pp;\n"
                  "  client_body_temp_path " +
                  d + ";\n  proxy_temp_path " + d + ";\n  fastcgi_temp_path " + d +
                  ";\n"
                  "  uwsgi_temp_path " +
                  d + ";\n  scgi_temp_path " + d +
                  ";\n"
                  "  server {\n    listen 127.0.0.1:" +
                  std::to_string(port_) +
                  " proxy_protocol;\n"
                  "    set_real_ip_from 127.0.0.1;\n    real_ip_header proxy_protocol;\n"
                  "    location / { return 200 \"addr=$remote_addr pp=$proxy_protocol_addr\\n\"; }\n  }\n}\n");
    std::string conf = d + "/nginx.conf";
    const char* argv[] = {"nginx", "-p", d.c_str(), "-c", conf.c_str(), nullptr};
    // The harness blocks SIGTERM for its sigwait thread; nginx must not inherit that mask.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawnp(&pid_, "nginx", nullptr, &attr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
  }
  ~NginxUpstream() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Bounded wait until nginx accepts connections.
  bool ready() const {
    return pid_ > 0 && eventually([&] {
             int fd = connect_tcp(port_, 1000);
             if (fd >= 0) ::close(fd);
             return fd >= 0;
           });
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string access_log() const {
    std::ifstream in(dir_.path() / "access.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static std::uint16_t free_port() {
    TestUpstream probe(TestUpstream::echo());
    return probe.port();
  }
  const TempDir& dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST(ProxyProtocolWire, NginxTakesTheClientAddressFromOurHeader) {
  if (run_command("command -v nginx").exit_code != 0)
    GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh)";
  ProxyHarness proxy;
  TempDir nginx_dir;
  NginxUpstream nginx(nginx_dir);
  ASSERT_TRUE(nginx.ready());
  ProxyConfig c;
  c.endpoints = {nginx.endpoint()};
  c.listener_extra = "proxy_protocol = \"v2\"\naccept_proxy_protocol = [\"127.0.0.1\"]";
  proxy.start(c);
  auto opts = proxy.client();
  opts.preface = "PROXY TCP4 203.0.113.7 127.0.0.1 4242 443\r\n";  // as an L4 balancer in front would
  TlsClient client(opts);
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\nHost: app\r\n\r\n"));
  auto all = client.read_all();
  ASSERT_TRUE(all) << client.error();
  EXPECT_NE(all->find("addr=203.0.113.7 pp=203.0.113.7"), std::string::npos) << *all;
  std::string log;
  eventually([&] { return !(log = nginx.access_log()).empty(); });  // nginx writes its line after answering
  EXPECT_EQ(log, "203.0.113.7 203.0.113.7\n");
}

}  // namespace
}  // namespace gatehouse::test
