// The admin listener is reachable only by what runs on the operator's side, never by a web page:
// a foreign Host (DNS rebinding) and a foreign Origin (a cross-site fetch) are refused, and POST
// /reload needs X-Gatehouse-Admin: 1, a header a page cannot add to a cross-site request.
#include <gtest/gtest.h>
#include <unistd.h>

#include "conf/parse.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

struct Answer {
  int status = 0;
  std::string body;
};

// Sends `head` (request line and headers, without the blank line) to the admin port.
Answer ask(std::uint16_t port, const std::string& head, const std::string& body = "") {
  int fd = connect_tcp(port);
  if (fd < 0) return {};
  write_all_fd(fd, head + "\r\n" + (body.empty() ? "" : "Content-Length: " + std::to_string(body.size()) + "\r\n") +
                       "\r\n" + body);
  std::string all = read_until_eof(fd);
  ::close(fd);
  auto end = all.find("\r\n\r\n");
  if (all.size() < 12 || end == std::string::npos) return {0, all};
  return {std::stoi(all.substr(9, 3)), all.substr(end + 4)};
}

class AdminGuard : public testing::Test {
 protected:
  void SetUp() override {
    proxy.start(ProxyConfig{});
    // What POST /reload reads again (as from the config file of `gatehouse run`).
    std::string text = proxy.config_text(ProxyConfig{});
    auto dir = proxy.dir().path();
    proxy.server().set_config_source([text, dir] { return conf::parse_text(text, "test.toml", dir); });
  }
  std::uint16_t port() { return proxy.server().admin_port(); }
  ProxyHarness proxy;
};

TEST_F(AdminGuard, LoopbackHostsAreAnswered) {
  const std::string p = std::to_string(port());
  for (const std::string& host :
       {std::string("localhost"), "localhost:" + p, "127.0.0.1:" + p, std::string("127.8.9.10"), "[::1]:" + p}) {
    auto a = ask(port(), "GET /healthz HTTP/1.1\r\nHost: " + host);
    EXPECT_EQ(a.status, 200) << host << ": " << a.body;
  }
  // Without a Host (not a browser: HTTP/1.0 tools) there is nothing to rebind.
  EXPECT_EQ(ask(port(), "GET /healthz HTTP/1.0").status, 200);
}

TEST_F(AdminGuard, AForeignHostIsRefusedInPlainWords) {
  auto a = ask(port(), "GET /metrics HTTP/1.1\r\nHost: evil.example:" + std::to_string(port()));
  EXPECT_EQ(a.status, 403);
  EXPECT_NE(a.body.find("not to Host 'evil.example:"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("DNS rebinding"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find("gatehouse_"), std::string::npos) << "no metric may leak: " << a.body;
  EXPECT_EQ(ask(port(), "GET /healthz HTTP/1.1\r\nHost: 10.1.2.3").status, 403);  // not where it came to
  EXPECT_NE(ask(port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example").status, 200);
}

TEST_F(AdminGuard, AForeignOriginIsRefused) {
  const std::string host = "127.0.0.1:" + std::to_string(port());
  auto a = ask(port(), "GET /certs HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://evil.example");
  EXPECT_EQ(a.status, 403);
  EXPECT_NE(a.body.find("Origin 'http://evil.example'"), std::string::npos) << a.body;
  EXPECT_EQ(ask(port(), "GET /certs HTTP/1.1\r\nHost: " + host + "\r\nOrigin: null").status, 403);
  // Its own origin (a page the admin listener itself served) is fine.
  EXPECT_EQ(ask(port(), "GET /certs HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://" + host).status, 200);
}

TEST_F(AdminGuard, ReloadNeedsTheAdminHeader) {
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port());
  const auto before = proxy.server().generation();
  // What an HTML form on any site can send: a simple POST, form-encoded.
  auto form =
      ask(port(), "POST /reload HTTP/1.1\r\n" + host + "\r\nContent-Type: application/x-www-form-urlencoded", "a=b");
  EXPECT_EQ(form.status, 403);
  EXPECT_NE(form.body.find("needs the header 'X-Gatehouse-Admin: 1'"), std::string::npos) << form.body;
  EXPECT_EQ(ask(port(), "POST /reload HTTP/1.1\r\n" + host + "\r\nX-Gatehouse-Admin: yes").status, 403);
  // The same from a page of another site, header or not.
  EXPECT_EQ(ask(port(), "POST /reload HTTP/1.1\r\n" + host + "\r\nOrigin: http://evil.example\r\nX-Gatehouse-Admin: 1")
                .status,
            403);
  EXPECT_EQ(proxy.server().generation(), before) << "a refused POST /reload must not reload";

  auto ok = ask(port(), "POST /reload HTTP/1.1\r\n" + host + "\r\nX-Gatehouse-Admin: 1");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(proxy.server().generation(), before + 1);
}

}  // namespace
}  // namespace gatehouse::test
