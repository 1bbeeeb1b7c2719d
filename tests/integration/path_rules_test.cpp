// Rules with path and methods through a real proxy and curl (--path-as-is: curl would otherwise
// resolve "/../" itself): admins reach /admin, testers do not, whatever the spelling of the path;
// methods are restricted; refused requests never reach the upstream; the log names the rule.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/support/command.hpp"
#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

class PathRules : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [name, ou] : {std::pair{"admin", "admins"}, std::pair{"tester", "testers"}}) {
      Cert c = make_leaf(CertSpec{.cn = name, .ou = {ou}}, &proxy_.intermediate());
      write_chain(proxy_.dir(), std::string(name) + ".pem", {&c, &proxy_.intermediate()});
      write_key(proxy_.dir(), std::string(name) + ".key", c);
    }
    ProxyConfig& c = config_;
    c.endpoints = {up_.endpoint()};
    c.listener_extra = "mode = \"http\"";
    c.routes =
        "  [[listener.route]]\n  upstream = \"app\"\n"
        "  allow = [ { ou = \"admins\", path = \"/admin/**\" },\n"
        "            { ou = \"testers\", path = \"/**\", methods = [\"GET\", \"HEAD\"] } ]\n"
        "  deny = [ { ou = \"testers\", path = \"/admin/**\" } ]\n";
    proxy_.start(c);
  }

  // The status curl got for `method` on `path` as `who`.
  std::string status(const std::string& who, const std::string& path, const std::string& method = "GET",
                     const std::string& curl_extra = "") {
    const std::string d = proxy_.dir().path().string();
    auto r = run_command("curl -sS --max-time 30 --path-as-is -o /dev/null -w '%{http_code}' " + curl_extra + " -X " +
                         method + " --cacert " + d + "/root.pem --cert " + d + "/" + who + ".pem --key " + d + "/" +
                         who + ".key 'https://localhost:" + std::to_string(proxy_.port()) + path + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    ++lines_;
    return r.output;
  }

  HttpUpstream up_;
  ProxyHarness proxy_;
  ProxyConfig config_;
  size_t lines_ = 0;
};

TEST_F(PathRules, AdminsReachAdminTestersDoNotWhateverTheSpelling) {
  EXPECT_EQ(status("admin", "/admin/x"), "200");
  EXPECT_EQ(status("admin", "/"), "403");  // admins have only /admin/**
  EXPECT_EQ(status("tester", "/"), "200");
  for (const char* sneaky : {"/admin/x", "/%61dmin/x", "//admin/x", "/public/../admin/x", "/public/%2e%2e/admin/x",
                             "/./admin/x", "/admin//x"})
    EXPECT_EQ(status("tester", sneaky), "403") << sneaky;
  for (const char* unsafe : {"/admin%2Fx", "/admin;x=1/y", "/../admin/x", "/%2e%2e/admin/x"})
    EXPECT_EQ(status("tester", unsafe), "400") << unsafe;
  EXPECT_EQ(status("tester", "/public/./a//b/%7Ec?q=/../admin"), "200");
  // Only the allowed requests reached the upstream, each with the path that was judged.
  auto reqs = up_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/admin/x");
  EXPECT_EQ(reqs[1].target, "/");
  EXPECT_EQ(reqs[2].target, "/public/a/b/~c?q=/../admin");

  auto log = proxy_.wait_for_log(lines_);
  ASSERT_EQ(log.size(), lines_);
  EXPECT_EQ(log[0]["rule"], "allow[0]");
  EXPECT_EQ(log[0]["decision"], "allow");
  EXPECT_EQ(log[1]["rule"], "no allow rule matched");
  EXPECT_EQ(log[1]["reason"], "policy_denied");
  EXPECT_EQ(log[1]["decision"], "deny");
  EXPECT_EQ(log[1]["status"], 403);
  EXPECT_EQ(log[2]["rule"], "allow[1]");
  for (size_t i = 3; i < 10; ++i) {
    EXPECT_EQ(log[i]["rule"], "deny[0]") << log[i].dump();
    EXPECT_EQ(log[i]["reason"], "policy_denied") << log[i].dump();
  }
}

TEST_F(PathRules, MethodsAreRestricted) {
  EXPECT_EQ(status("tester", "/x", "GET"), "200");
  EXPECT_EQ(status("tester", "/x", "POST"), "403");
  EXPECT_EQ(status("tester", "/x", "DELETE"), "403");
  EXPECT_EQ(status("admin", "/admin/x", "DELETE"), "200");
  // A method (or path) the upstream's framework would take from a header is not a way around.
  EXPECT_EQ(status("tester", "/x", "GET", "-H 'X-HTTP-Method-Override: DELETE'"), "400");
  EXPECT_EQ(status("tester", "/x", "GET", "-H 'X-Original-URL: /admin/x'"), "400");
  auto reqs = up_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "DELETE");
  auto log = proxy_.wait_for_log(lines_);
  EXPECT_EQ(log[1]["rule"], "no allow rule matched");
  EXPECT_EQ(log[1]["method"], "POST");
  EXPECT_NE(proxy_.server()
                .admin_reply("GET", "/metrics")
                .body.find("gatehouse_http_requests_denied_total{listener=\"test\",route=\"route0\"} 2"),
            std::string::npos);
}

TEST_F(PathRules, ACertificateNoRuleCouldAdmitIsRefusedInTheHandshake) {
  Cert c = make_leaf(CertSpec{.cn = "guest", .ou = {"guests"}}, &proxy_.intermediate());
  write_chain(proxy_.dir(), "guest.pem", {&c, &proxy_.intermediate()});
  write_key(proxy_.dir(), "guest.key", c);
  const std::string d = proxy_.dir().path().string();
  auto r = run_command("curl -sS --max-time 30 -o /dev/null --cacert " + d + "/root.pem --cert " + d +
                       "/guest.pem --key " + d + "/guest.key https://localhost:" + std::to_string(proxy_.port()) + "/");
  EXPECT_NE(r.exit_code, 0) << r.output;  // a TLS alert, no HTTP answer
  auto log = proxy_.wait_for_log(1);
  EXPECT_EQ(log[0]["rule"], "no allow rule matched");
  EXPECT_TRUE(up_.requests().empty());
}

// An open connection keeps the rules it began with; after a reload it ends at its next request
// boundary (here at once: it is idle), and the new connection is judged by the new rules.
TEST_F(PathRules, AfterAReloadAKeptAliveConnectionDoesNotKeepTheOldRules) {
  TlsClient kept(proxy_.client("tester.pem", "tester.key"));
  ASSERT_TRUE(kept.connect()) << kept.error();
  ASSERT_TRUE(kept.send("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(read_response(kept).substr(0, 12), "HTTP/1.1 200");
  ProxyConfig stricter = config_;
  stricter.routes += "  deny = [ { ou = \"testers\", path = \"/x\" } ]\n";
  stricter.routes.replace(stricter.routes.find("  deny = [ { ou = \"testers\", path = \"/admin/**\" } ]\n"),
                          std::string("  deny = [ { ou = \"testers\", path = \"/admin/**\" } ]\n").size(), "");
  auto outcome = proxy_.reload_text(proxy_.config_text(stricter), proxy_.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(kept.read_all().value_or("unreadable"), "");
  EXPECT_TRUE(kept.peer_closed()) << kept.error();
  EXPECT_EQ(status("tester", "/x"), "403");
  EXPECT_EQ(up_.requests().size(), 1u);
}

std::string hex(size_t n) {
  char text[32];
  std::snprintf(text, sizeof text, "%zx", n);
  return text;
}

// A reload that leaves a route's rules as they were (here only moved down the file) leaves its
// kept-alive connections open; a route whose rules changed loses its own (the witness: on the
// one worker, both were revalidated in the same pass).
TEST_F(PathRules, AReloadThatKeepsARoutesRulesKeepsItsConnections) {
  const std::string other_route =
      "  [[listener.route]]\n  name = \"other\"\n  sni = [\"other.test\"]\n  upstream = \"app\"\n"
      "  allow = [ { ou = \"testers\", path = \"/**\" } ]\n";
  ProxyConfig two = config_;
  two.routes += other_route;
  auto outcome = proxy_.reload_text(proxy_.config_text(two), proxy_.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;

  TlsClient kept(proxy_.client("tester.pem", "tester.key"));
  ASSERT_TRUE(kept.connect()) << kept.error();
  ASSERT_TRUE(kept.send("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(read_response(kept).substr(0, 12), "HTTP/1.1 200");
  auto witness_options = proxy_.client("tester.pem", "tester.key");
  witness_options.sni = "other.test";
  TlsClient witness(witness_options);
  ASSERT_TRUE(witness.connect()) << witness.error();
  ASSERT_TRUE(witness.send("GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n"));
  EXPECT_EQ(read_response(witness).substr(0, 12), "HTTP/1.1 200");

  ProxyConfig moved = config_;
  moved.routes = "\n\n" + config_.routes + other_route;
  moved.routes.replace(moved.routes.rfind("path = \"/**\""), 12, "path = \"/y/**\"");
  outcome = proxy_.reload_text("# moved\n\n" + proxy_.config_text(moved), proxy_.dir().path());
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(witness.read_all().value_or("unreadable"), "");
  EXPECT_TRUE(witness.peer_closed()) << witness.error();

  ASSERT_TRUE(kept.send("GET /z HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(read_response(kept).substr(0, 12), "HTTP/1.1 200");
  auto reqs = up_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].target, "/z");
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A rule's 403 no longer ends a keep-alive connection: the next request on it is served.
TEST_F(PathRules, AfterA403TheNextRequestOnTheConnectionIsServed) {
  TlsClient c(proxy_.client("tester.pem", "tester.key"));
  ASSERT_TRUE(c.connect()) << c.error();
  ASSERT_TRUE(c.send("GET /admin/x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  const std::string refused = read_response(c);
  EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 403") << refused;
  EXPECT_EQ(refused.find("Connection: close"), std::string::npos) << refused;
  ASSERT_TRUE(c.send("POST /admin/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"));
  EXPECT_EQ(read_response(c).substr(0, 12), "HTTP/1.1 403");
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(read_response(c).substr(0, 12), "HTTP/1.1 200");
  auto reqs = up_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/x");
  auto log = proxy_.wait_for_log(3);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["rule"], "deny[0]");
  EXPECT_EQ(log[1]["rule"], "deny[0]");
  EXPECT_EQ(log[2]["rule"], "allow[1]");
  EXPECT_EQ(log[2]["request"], 3) << log[2].dump();  // one connection
}

// What a client could try once the connection survives a 403: hide a request in the refused
// one's body, lie about its length, or use chunks. Each request the proxy sees is judged; bytes
// framed as a body are never a request; a body whose end is not known ends the connection.
TEST_F(PathRules, NoRequestGetsPastTheRulesThroughARefusedRequestsBody) {
  const std::string inner = "GET /admin/y HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const std::string last = "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  const std::string post = "POST /admin/x HTTP/1.1\r\nHost: localhost\r\n";
  struct Case {
    const char* name;
    std::string stream;
    size_t refused, served;  // 403s and 200s the client gets
    bool closed_by_refusal;  // the 403 says Connection: close
  };
  const Case cases[] = {
      {"a request as the body", post + "Content-Length: " + std::to_string(inner.size()) + "\r\n\r\n" + inner + last,
       1, 1, false},
      {"a Content-Length too short: the rest is a request, judged", post + "Content-Length: 5\r\n\r\nhello" + inner + last,
       2, 1, false},
      {"a Content-Length too long: the next request is body", post + "Content-Length: 300\r\n\r\n" + last, 0, 0,
       false},
      {"chunked", post + "Transfer-Encoding: chunked\r\n\r\n" + hex(inner.size()) + "\r\n" + inner + "\r\n0\r\n\r\n" + last, 1, 0,
       true},
      {"over 64 KiB", post + "Content-Length: 70000\r\n\r\nxxxx" + last, 1, 0, true},
  };
  size_t served = 0;
  for (const auto& c : cases) {
    TlsClient client(proxy_.client("tester.pem", "tester.key"));
    ASSERT_TRUE(client.connect()) << c.name << ": " << client.error();
    ASSERT_TRUE(client.send(c.stream)) << c.name;
    client.close_send();  // a body still owed never comes
    const std::string got = client.read_all().value_or("unreadable");
    EXPECT_EQ(count(got, "HTTP/1.1 403"), c.refused) << c.name << "\n" << got;
    EXPECT_EQ(count(got, "HTTP/1.1 200"), c.served) << c.name << "\n" << got;
    EXPECT_EQ(count(got, "HTTP/1.1 "), c.refused + c.served) << c.name << "\n" << got;
    const std::string first_head = got.substr(0, got.find("\r\n\r\n"));
    if (c.refused > 0) {
      EXPECT_EQ(first_head.find("Connection: close") != std::string::npos, c.closed_by_refusal) << c.name;
    }
    served += c.served;
  }
  // Only the last, allowed requests reached the upstream: never /admin/y, never a body.
  auto reqs = up_.requests();
  ASSERT_EQ(reqs.size(), served);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/x");
  }
}

}  // namespace
}  // namespace gatehouse::test
