// Rules with path and methods, as tables: how a target is normalized (attacks included), what a
// pattern matches, which rule decides for which identity and request, what the config refuses,
// and what request_checks answers (400 unsafe path, 403 refused, forwarded with the judged path).
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "conf/parse.hpp"
#include "policy/request_path.hpp"
#include "policy/router.hpp"
#include "proxy/http/request_checks.hpp"

namespace gatehouse::policy {
namespace {

TEST(PathRules, NormalizationTableIncludingAttacks) {
  using P = PathProblem;
  struct Case {
    const char* target;
    P problem;
    const char* path;        // what rules see
    const char* target_out;  // what is forwarded
  };
  const Case cases[] = {
      {"/", P::none, "/", "/"},
      {"/admin/x", P::none, "/admin/x", "/admin/x"},
      {"/admin/x?a=1&b=/../", P::none, "/admin/x", "/admin/x?a=1&b=/../"},  // the query is not a path
      {"/admin/", P::none, "/admin/", "/admin/"},
      {"//admin/x", P::none, "/admin/x", "/admin/x"},
      {"/admin//x", P::none, "/admin/x", "/admin/x"},
      {"/./admin/./x", P::none, "/admin/x", "/admin/x"},
      {"/public/../admin/x", P::none, "/admin/x", "/admin/x"},
      {"/public/%2e%2e/admin/x", P::none, "/admin/x", "/admin/x"},
      {"/public/%2E./admin/x", P::none, "/admin/x", "/admin/x"},
      {"/%61dmin/x", P::none, "/admin/x", "/admin/x"},
      {"/%41dmin/x", P::none, "/Admin/x", "/Admin/x"},  // case is kept: paths are case-sensitive
      {"/a/b/..", P::none, "/a/", "/a/"},
      {"/a/.", P::none, "/a/", "/a/"},
      {"/caf%c3%a9", P::none, "/caf%C3%A9", "/caf%C3%A9"},
      {"/a%20b", P::none, "/a%20b", "/a%20b"},
      {"/a%25b", P::none, "/a%25b", "/a%25b"},  // %25 stays: no double decoding
      {"/a%252e%252e/x", P::none, "/a%252e%252e/x", "/a%252e%252e/x"},
      {"/a%3Fb", P::none, "/a%3Fb", "/a%3Fb"},
      {"*", P::none, "*", "*"},
      {"/..", P::above_root, "", ""},
      {"/a/../..", P::above_root, "", ""},
      {"/%2e%2e/etc/passwd", P::above_root, "", ""},
      {"/admin%2Fx", P::encoded_slash, "", ""},
      {"/admin%2fx", P::encoded_slash, "", ""},
      {"/admin%5cx", P::encoded_slash, "", ""},
      {"/admin\\x", P::backslash, "", ""},
      {"/admin;jsessionid=1/x", P::path_parameter, "", ""},
      {"/admin%3bx", P::path_parameter, "", ""},
      {"/a%00", P::encoded_nul, "", ""},
      {"/a\tb", P::control, "", ""},
      {"/a\x7f", P::control, "", ""},
      {"/a%", P::bad_percent, "", ""},
      {"/a%2", P::bad_percent, "", ""},
      {"/a%zz", P::bad_percent, "", ""},
      {"admin", P::not_origin_form, "", ""},
  };
  for (const auto& c : cases) {
    NormalizedTarget n = normalize_target(c.target);
    EXPECT_EQ(n.problem, c.problem) << c.target;
    if (c.problem != P::none) continue;
    EXPECT_EQ(n.path, c.path) << c.target;
    EXPECT_EQ(n.target, c.target_out) << c.target;
    // Normalizing twice changes nothing: the upstream gets a path that judges the same.
    EXPECT_EQ(normalize_target(n.target).target, n.target) << c.target;
  }
}

bool pattern_matches(const char* pattern, const char* path) {
  std::string error;
  auto p = PathPattern::compile(pattern, error);
  EXPECT_TRUE(p) << pattern << ": " << error;
  std::vector<std::string_view> parts;
  split_path(path, parts);
  return p && p->matches(parts);
}

TEST(PathRules, PatternTable) {
  struct Case {
    const char* pattern;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"/admin", "/admin", true},
      {"/admin", "/admin/", false},
      {"/admin", "/Admin", false},
      {"/admin/**", "/admin", true},
      {"/admin/**", "/admin/", true},
      {"/admin/**", "/admin/x/y/z", true},
      {"/admin/**", "/administrator", false},
      {"/admin/**", "/public/admin", false},
      {"/admin/*", "/admin/x", true},
      {"/admin/*", "/admin/x/y", false},
      {"/admin/*", "/admin/", false},
      {"/**", "/", true},
      {"/**", "/anything/at/all", true},
      {"/orders.v1.Orders/Get*", "/orders.v1.Orders/GetOrder", true},
      {"/orders.v1.Orders/Get*", "/orders.v1.Orders/Get", true},
      {"/orders.v1.Orders/Get*", "/orders.v1.Orders/DeleteOrder", false},
      {"/orders.v1.Orders/Get*", "/orders.v1.Orders/GetOrder/x", false},
      {"/orders.v1.Orders/*", "/orders.v1.Orders/DeleteOrder", true},
      {"/static/*.css", "/static/site.css", true},
      {"/static/*.css", "/static/site.css.map", false},
      {"/a/*b*c", "/a/xbyc", true},
      {"/a/*b*c", "/a/xbyd", false},
      {"/**/secret", "/x/y/secret", true},
      {"/**/secret", "/secret", true},
      {"/api/**/items", "/api/v1/items", true},
      {"/api/**/items", "/api/v1/items/7", false},
  };
  for (const auto& c : cases) EXPECT_EQ(pattern_matches(c.pattern, c.path), c.match) << c.pattern << " vs " << c.path;
}

TEST(PathRules, LongPathsMatchLikeShortOnes) {
  std::string path;
  for (int i = 0; i < 100; ++i) path += "/s" + std::to_string(i);
  EXPECT_TRUE(pattern_matches("/s0/**", path.c_str()));
  EXPECT_TRUE(pattern_matches("/**/s99", path.c_str()));
  EXPECT_FALSE(pattern_matches("/**/s98", path.c_str()));
  EXPECT_FALSE(pattern_matches("/s1/**", path.c_str()));
}

// Every target of up to six characters from an alphabet of the usual tricks: whatever is not
// refused comes out without "//", "." or ".." segments or an escaped dot, and stays the same when
// normalized again. (The upstream's normalization of what we forward cannot move it elsewhere.)
TEST(PathRules, EveryShortTrickTargetNormalizesToAFixedPoint) {
  const std::string alphabet = "/.%2eEfa;";
  std::vector<std::string_view> parts;
  size_t accepted = 0;
  for (size_t len = 1; len <= 6; ++len) {
    std::vector<size_t> digit(len, 0);
    for (;;) {
      std::string target = "/";
      for (size_t d : digit) target += alphabet[d];
      NormalizedTarget n = normalize_target(target);
      if (n.problem == PathProblem::none) {
        ++accepted;
        ASSERT_EQ(normalize_target(n.path).path, n.path) << target;
        split_path(n.path, parts);
        for (size_t i = 1; i + 1 < parts.size(); ++i) ASSERT_FALSE(parts[i].empty()) << target << " -> " << n.path;
        for (auto part : parts) ASSERT_TRUE(part != "." && part != "..") << target << " -> " << n.path;
        ASSERT_EQ(n.path.find("%2E"), std::string::npos) << target;
      }
      size_t k = 0;
      while (k < len && ++digit[k] == alphabet.size()) digit[k++] = 0;
      if (k == len) break;
    }
  }
  EXPECT_GT(accepted, 1000u);
}

TEST(PathRules, PatternsThatCannotMatchANormalizedPathAreRefused) {
  for (const char* bad : {"admin/**", "/a//b", "/a/../b", "/a/./b", "/a%2Fb", "/a;b", "/a?b", "/a/x**", "/a\\b"}) {
    std::string error;
    EXPECT_FALSE(PathPattern::compile(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

tls::PeerIdentity person(std::string cn, std::vector<std::string> ou) {
  tls::PeerIdentity id;
  id.cn = std::move(cn);
  id.ou = std::move(ou);
  id.fingerprint = std::string(64, 'a');
  id.spki = std::string(64, 'b');
  return id;
}

std::optional<Router> router_from(const std::string& rules, conf::Diagnostics& diags, const char* mode = "http") {
  std::string text = std::string("[[listener]]\nlisten = \"127.0.0.1:0\"\nmode = \"") + mode +
                     "\"\n[listener.tls]\ncertificates = [{cert = \"c\", key = \"k\"}]\nclient_ca = \"ca\"\n"
                     "[[listener.route]]\nupstream = \"u\"\n" +
                     rules + "\n[[upstream]]\nname = \"u\"\nendpoints = [\"127.0.0.1:1\"]\n";
  auto parsed = conf::parse_text(text, "r.toml", "/tmp");
  diags = parsed.diagnostics;
  if (!parsed.settings) return std::nullopt;
  return Router::compile(parsed.settings->listeners[0].routes, "r.toml", diags);
}

// The two examples of conf/README.md, and a deny with methods.
const char* kRules = R"(
allow = [ { ou = "admins", path = "/admin/**" },
          { ou = "testers", path = ["/", "/public/**"] },
          { cn = "billing", path = "/orders.v1.Orders/Get*", methods = ["POST"] },
          { ou = "readers", methods = ["GET", "HEAD"] },
          { ou = "ops" } ]
deny = [ { ou = "interns", path = "/admin/keys/**" }, { cn = "mallory" } ]
)";

// What a reload compares to decide whether open connections may keep the rules they began with.
TEST(PathRules, SameRulesIgnoresWhereTheyAreWrittenButNotWhatTheySay) {
  conf::Diagnostics diags;
  auto base = router_from(kRules, diags);
  ASSERT_TRUE(base) << diags.to_string();
  const RoutePolicy& policy = base->routes()[0].policy;
  auto same = [&](const std::string& rules) {
    conf::Diagnostics d;
    auto other = router_from(rules, d);
    EXPECT_TRUE(other) << rules << d.to_string();
    return other && policy.same_rules(other->routes()[0].policy);
  };
  EXPECT_TRUE(same(kRules));
  EXPECT_TRUE(same(std::string("\n\n# moved down\n") + kRules));
  std::string changed_path = kRules;
  changed_path.replace(changed_path.find("/admin/keys/**"), 14, "/admin/key/**");
  EXPECT_FALSE(same(changed_path));
  std::string changed_method = kRules;
  changed_method.replace(changed_method.find("\"HEAD\""), 6, "\"PUT\"");
  EXPECT_FALSE(same(changed_method));
  std::string changed_identity = kRules;
  changed_identity.replace(changed_identity.find("mallory"), 7, "eve");
  EXPECT_FALSE(same(changed_identity));
  EXPECT_FALSE(same("allow = [ { ou = \"ops\" } ]"));
}

TEST(PathRules, DecisionTable) {
  conf::Diagnostics diags;
  auto router = router_from(kRules, diags);
  ASSERT_TRUE(router) << diags.to_string();
  const RoutePolicy& policy = router->routes()[0].policy;
  EXPECT_TRUE(policy.per_request());
  struct Case {
    tls::PeerIdentity id;
    const char* method;
    const char* path;  // normalized
    bool allowed;
    const char* rule;
  };
  const auto admin = person("ann", {"admins"}), intern = person("ian", {"admins", "interns"});
  const auto tester = person("tess", {"testers"}), billing = person("billing", {}), reader = person("rob", {"readers"});
  const auto ops = person("otto", {"ops"});
  const Case cases[] = {
      {admin, "GET", "/admin/x", true, "allow[0]"},
      {admin, "DELETE", "/admin/x", true, "allow[0]"},
      {admin, "GET", "/", false, "no allow rule matched"},
      {admin, "GET", "/administrator", false, "no allow rule matched"},
      {intern, "GET", "/admin/x", true, "allow[0]"},
      {intern, "GET", "/admin/keys/1", false, "deny[0]"},
      {intern, "GET", "/admin/keys", false, "deny[0]"},
      {tester, "GET", "/", true, "allow[1]"},
      {tester, "GET", "/public/a/b", true, "allow[1]"},
      {tester, "GET", "/admin/x", false, "no allow rule matched"},
      {billing, "POST", "/orders.v1.Orders/GetOrder", true, "allow[2]"},
      {billing, "POST", "/orders.v1.Orders/DeleteOrder", false, "no allow rule matched"},
      {billing, "GET", "/orders.v1.Orders/GetOrder", false, "no allow rule matched"},
      {reader, "GET", "/anything", true, "allow[3]"},
      {reader, "HEAD", "/anything", true, "allow[3]"},
      {reader, "get", "/anything", false, "no allow rule matched"},  // methods are case-sensitive
      {reader, "POST", "/anything", false, "no allow rule matched"},
      {ops, "DELETE", "/admin/keys/1", true, "allow[4]"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(router->authorize(c.id, "").allowed) << c.id.cn << " is admitted at the handshake";
    RequestGate gate = policy.gate(c.id);
    ASSERT_TRUE(gate.needed());
    std::vector<std::string_view> parts;
    split_path(c.path, parts);
    RequestVerdict v = gate.judge({c.method, parts});
    EXPECT_EQ(v.allowed, c.allowed) << c.id.cn << " " << c.method << " " << c.path;
    EXPECT_EQ(v.rule, c.rule) << c.id.cn << " " << c.method << " " << c.path;
  }
}

TEST(PathRules, TheHandshakeRefusesOnlyWhomNoRuleCouldAdmit) {
  conf::Diagnostics diags;
  auto router = router_from(kRules, diags);
  ASSERT_TRUE(router) << diags.to_string();
  struct Case {
    tls::PeerIdentity id;
    bool allowed;
    const char* rule;
  };
  const Case cases[] = {
      {person("ann", {"admins"}), true, "allow[0] (per request)"},
      {person("otto", {"ops"}), true, "allow[4]"},
      {person("mallory", {"ops"}), false, "deny[1]"},  // unconditional deny: no request ever
      {person("eve", {"guests"}), false, "no allow rule matched"},
      {person("ian", {"interns"}), false, "no allow rule matched"},  // a conditional deny admits nobody
  };
  for (const auto& c : cases) {
    auto authz = router->authorize(c.id, "");
    EXPECT_EQ(authz.allowed, c.allowed) << c.id.cn;
    EXPECT_EQ(authz.rule, c.rule) << c.id.cn;
  }
  // Only conditional denies: everyone verified is admitted, some requests are not.
  auto open = router_from("deny = [ { path = \"/admin/**\" } ]", diags);
  ASSERT_TRUE(open) << diags.to_string();
  EXPECT_TRUE(open->authorize(person("x", {}), "").allowed);
  std::vector<std::string_view> parts;
  split_path("/admin", parts);
  EXPECT_EQ(open->routes()[0].policy.gate(person("x", {})).judge({"GET", parts}).rule, "deny[0]");
  split_path("/x", parts);
  EXPECT_EQ(open->routes()[0].policy.gate(person("x", {})).judge({"GET", parts}).rule, "any verified client");
  // No rule with path or methods: no per-request work at all.
  auto plain = router_from("allow = [ { ou = \"ops\" } ]", diags);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->routes()[0].policy.gate(person("otto", {"ops"})).needed());
}

TEST(PathRules, ConfigErrorsNameTheLine) {
  struct Case {
    const char* rules;
    const char* mode;
    const char* message;
  };
  const Case cases[] = {
      {"allow = [ { ou = \"a\", path = \"/x/**\" } ]", "tcp", "path needs mode = \"http\""},
      {"deny = [ { methods = [\"GET\"] } ]", "tcp", "methods needs mode = \"http\""},
      {"allow = [ { ou = \"a\", path = \"admin\" } ]", "http", "must start with '/'"},
      {"allow = [ { ou = \"a\", path = \"/a/../b\" } ]", "http", "is not normalized"},
      {"allow = [ { ou = \"a\", path = \"/a%2Fb\" } ]", "http", "may not contain"},
      {"allow = [ { ou = \"a\", methods = [\"get\"] } ]", "http", "never matches GET"},
      {"allow = [ { ou = \"a\", methods = [\"G T\"] } ]", "http", "is not a method name"},
      {"allow = [ { ou = \"a\", methods = [] } ]", "http", "an empty list would match no request"},
      {"allow = [ { ou = \"a\", path = 7 } ]", "http", "expected"},
  };
  for (const auto& c : cases) {
    conf::Diagnostics diags;
    auto router = router_from(c.rules, diags, c.mode);
    EXPECT_FALSE(router) << c.rules;
    const std::string all = diags.to_string();
    EXPECT_NE(all.find(c.message), std::string::npos) << c.rules << "\n" << all;
    EXPECT_NE(all.find("r.toml:"), std::string::npos) << all;
  }
  conf::Diagnostics diags;
  EXPECT_TRUE(router_from("allow = [ { path = \"/public/**\" } ]", diags)) << diags.to_string();
}

}  // namespace
}  // namespace gatehouse::policy

namespace gatehouse::proxy::http {
namespace {

TEST(PathRulesChecks, UnsafePathsAre400RefusedAre403AllowedGoOnNormalized) {
  conf::Diagnostics diags;
  std::string text =
      "[[listener]]\nlisten = \"127.0.0.1:0\"\nmode = \"http\"\n[listener.tls]\ncertificates = [{cert = \"c\", "
      "key = \"k\"}]\nclient_ca = \"ca\"\n[[listener.route]]\nupstream = \"u\"\nallow = [ { ou = \"admins\", path = "
      "\"/admin/**\" }, { ou = \"testers\", path = \"/**\" } ]\ndeny = [ { ou = \"testers\", path = \"/admin/**\" } ]\n"
      "[[upstream]]\nname = \"u\"\nendpoints = [\"127.0.0.1:1\"]\n";
  auto parsed = conf::parse_text(text, "r.toml", "/tmp");
  ASSERT_TRUE(parsed.settings) << parsed.diagnostics.to_string();
  auto router = policy::Router::compile(parsed.settings->listeners[0].routes, "r.toml", diags);
  ASSERT_TRUE(router);
  tls::PeerIdentity tester;
  tester.ou = {"testers"};
  const policy::RequestGate gate = router->routes()[0].policy.gate(tester);
  conf::HttpSettings http;
  std::optional<Refusal> none;
  Refusal denied;
  denied.route = "a.example";
  const ConnectionFacts facts{http, *router, 0, "a.example", none, &gate, &denied};
  struct Case {
    const char* target;
    int status;  // 0: forwarded
    const char* forwarded;
    const char* rule;
    const char* extra = "";  // header lines
  };
  const Case cases[] = {
      {"/", 0, "/", "allow[1]"},
      {"/public/./a//b?x=/admin", 0, "/public/a/b?x=/admin", "allow[1]"},
      {"/admin/x", 403, "", "deny[0]"},
      {"/%61dmin/x", 403, "", "deny[0]"},
      {"//admin/x", 403, "", "deny[0]"},
      {"/public/../admin/x", 403, "", "deny[0]"},
      {"/public/%2e%2e/admin/x", 403, "", "deny[0]"},
      {"http://a.example/admin/x", 403, "", "deny[0]"},
      {"/admin%2Fx", 400, "", ""},
      {"/admin;a=b", 400, "", ""},
      {"/../admin/x", 400, "", ""},
      // Fields some frameworks route by instead of the request line.
      {"/", 400, "", "", "X-Original-URL: /admin/x\r\n"},
      {"/", 400, "", "", "x_rewrite_url: /admin/x\r\n"},
      // No method rule on this route: method overrides are the upstream's business.
      {"/", 0, "/", "allow[1]", "X-HTTP-Method-Override: DELETE\r\n"},
  };
  for (const auto& c : cases) {
    MessageParser parser(HTTP_REQUEST, {});
    const std::string req = std::string("GET ") + c.target + " HTTP/1.1\r\nHost: a.example\r\n" + c.extra + "\r\n";
    std::size_t used = 0;
    std::string body;
    ASSERT_EQ(parser.feed(req.data(), req.size(), used, body), MessageParser::Event::head) << c.target;
    Checked checked = check_request(parser.head(), false, facts);
    if (c.status == 0) {
      const auto* plan = std::get_if<RequestPlan>(&checked);
      ASSERT_NE(plan, nullptr) << c.target << ": " << std::get<Answer>(checked).detail;
      EXPECT_EQ(plan->target, c.forwarded) << c.target;
      EXPECT_EQ(plan->rule, c.rule) << c.target;
      continue;
    }
    const auto* a = std::get_if<Answer>(&checked);
    ASSERT_NE(a, nullptr) << c.target << " was forwarded";
    EXPECT_EQ(a->response.status, c.status) << c.target;
    EXPECT_EQ(a->rule, c.rule) << c.target;
    if (c.status == 403) {
      EXPECT_EQ(a->reason, gatehouse::Reason::policy_denied);
      EXPECT_EQ(a->close, Close::refused);
      EXPECT_NE(a->response.body.find("/admin/x"), std::string::npos) << a->response.body;
      EXPECT_FALSE(a->close_connection) << c.target << ": no body, the connection may go on";
    }
  }
}

// After a rule's 403 the connection goes on only when the refused request's end is known without
// trusting the client: no body, or a Content-Length of at most 64 KiB (read and dropped).
TEST(PathRulesChecks, A403KeepsTheConnectionOnlyWhenTheBodyCanBeDropped) {
  conf::Diagnostics diags;
  std::string text =
      "[[listener]]\nlisten = \"127.0.0.1:0\"\nmode = \"http\"\n[listener.tls]\ncertificates = [{cert = \"c\", "
      "key = \"k\"}]\nclient_ca = \"ca\"\n[[listener.route]]\nupstream = \"u\"\n"
      "deny = [ { ou = \"testers\", path = \"/admin/**\" } ]\n"
      "[[upstream]]\nname = \"u\"\nendpoints = [\"127.0.0.1:1\"]\n";
  auto parsed = conf::parse_text(text, "r.toml", "/tmp");
  ASSERT_TRUE(parsed.settings) << parsed.diagnostics.to_string();
  auto router = policy::Router::compile(parsed.settings->listeners[0].routes, "r.toml", diags);
  ASSERT_TRUE(router);
  tls::PeerIdentity tester;
  tester.ou = {"testers"};
  const policy::RequestGate gate = router->routes()[0].policy.gate(tester);
  conf::HttpSettings http;
  std::optional<Refusal> none;
  Refusal denied;
  const ConnectionFacts facts{http, *router, 0, "a.example", none, &gate, &denied};
  struct Case {
    const char* fields;  // after the request line and Host
    bool closes;
    const char* method = "POST";
  };
  const Case cases[] = {
      {"", false},
      {"Content-Length: 0\r\n", false},
      {"Content-Length: 10\r\n", false},
      {"Content-Length: 65536\r\n", false},
      {"Content-Length: 65537\r\n", true},
      {"Content-Length: 10\r\nExpect: 100-continue\r\n", true},  // the client may never send it
      {"Content-Length: 0\r\nExpect: 100-continue\r\n", false},
      {"Transfer-Encoding: chunked\r\n", true},
      {"Connection: Upgrade\r\nUpgrade: websocket\r\n", true, "GET"},  // what follows is another protocol
  };
  for (const auto& c : cases) {
    MessageParser parser(HTTP_REQUEST, {});
    const std::string req = std::string(c.method) + " /admin/x HTTP/1.1\r\nHost: a.example\r\n" + c.fields + "\r\n";
    std::size_t used = 0;
    std::string body;
    ASSERT_EQ(parser.feed(req.data(), req.size(), used, body), MessageParser::Event::head) << c.fields;
    Checked checked = check_request(parser.head(), parser.upgrade(), facts);
    const auto* a = std::get_if<Answer>(&checked);
    ASSERT_NE(a, nullptr) << c.fields;
    EXPECT_EQ(a->response.status, 403) << c.fields;
    EXPECT_EQ(a->close_connection, c.closes) << c.fields;
  }
}

}  // namespace
}  // namespace gatehouse::proxy::http
