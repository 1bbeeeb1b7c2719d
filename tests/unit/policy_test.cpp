// Policy, table-style: globs, every identity field, deny over allow, SNI routing.
#include <gtest/gtest.h>

#include "conf/parse.hpp"
#include "policy/glob.hpp"
#include "policy/router.hpp"

namespace gatehouse::policy {
namespace {

TEST(Glob, DnsAndUriPatterns) {
  struct Case {
    const char* pattern;
    Glob::Kind kind;
    const char* value;
    bool match;
  };
  const Case cases[] = {
      {"app.example.com", Glob::Kind::dns, "APP.Example.com", true},
      {"*.example.com", Glob::Kind::dns, "a.example.com", true},
      {"*.example.com", Glob::Kind::dns, "a.b.example.com", false},
      {"*.example.com", Glob::Kind::dns, "example.com", false},
      {"**.example.com", Glob::Kind::dns, "a.b.example.com", true},
      {"**.example.com", Glob::Kind::dns, "example.com", false},
      {"spiffe://corp/ci/*", Glob::Kind::uri, "spiffe://corp/ci/runner", true},
      {"spiffe://corp/ci/*", Glob::Kind::uri, "spiffe://corp/ci/runner/7", false},
      {"spiffe://corp/ci/*", Glob::Kind::uri, "spiffe://corp/ci/", false},
      {"spiffe://corp/ci/**", Glob::Kind::uri, "spiffe://corp/ci/runner/7", true},
      {"spiffe://corp/ci/**", Glob::Kind::uri, "spiffe://corp/ci", false},
      {"spiffe://corp/CI/*", Glob::Kind::uri, "spiffe://corp/ci/x", false},  // paths are case-sensitive
      {"spiffe://*/ci/x", Glob::Kind::uri, "spiffe://other/ci/x", true},
      {"**.**", Glob::Kind::dns, "a.b", true},
      {"**.**", Glob::Kind::dns, "a", false},
      {"a.**.b.**", Glob::Kind::dns, "a.x.b.y.b.z", true},
      {"a.**.b", Glob::Kind::dns, "a.b", false},
      {"*.**.*", Glob::Kind::dns, "a.b.c.d", true},
      {"*", Glob::Kind::dns, "", false},
      {"", Glob::Kind::dns, "", true},
  };
  for (const auto& c : cases)
    EXPECT_EQ(Glob(c.pattern, c.kind).matches(c.value), c.match) << c.pattern << " vs " << c.value;
}

// Found by the glob fuzzer: each `**` tried every split recursively, so a pattern of many of them
// against a long name from a client certificate took tens of seconds. Now one pass per segment.
TEST(Glob, ManyDoubleStarsAgainstALongNameStayLinear) {
  std::string pattern, name;
  for (int i = 0; i < 40; ++i) pattern += "**.";
  pattern += "z";
  for (int i = 0; i < 200; ++i) name += "a.";
  name += "y";
  EXPECT_FALSE(Glob(pattern, Glob::Kind::dns).matches(name));
  name.back() = 'z';
  EXPECT_TRUE(Glob(pattern, Glob::Kind::dns).matches(name));
}

tls::PeerIdentity alice() {
  tls::PeerIdentity id;
  id.subject = "CN=Zoë \\\"Z\\\" Ångström,OU=qa,OU=testers,O=Acme";
  id.issuer = "CN=Acme Intermediate,O=Acme";
  id.cn = "Zoë \"Z\" Ångström";
  id.o = {"Acme"};
  id.ou = {"testers", "qa"};
  for (int i = 0; i < 200; ++i) id.dns.push_back("host" + std::to_string(i) + ".example.com");
  id.dns.push_back("zoe.staging.example.com");
  id.email = {"Zoe@Example.com"};
  id.uri = {"spiffe://corp.example/ci/runner"};
  id.ip = {"10.0.0.7", "0:0:0:0:0:0:0:1"};
  id.serial = "00:4F:2A";
  id.fingerprint = std::string(64, 'a');
  id.spki = std::string(64, 'b');
  return id;
}

std::optional<Rule> rule(std::vector<std::pair<std::string, std::string>> fields, std::string* error = nullptr) {
  std::string e;
  auto r = Rule::compile(conf::RuleSettings{std::move(fields), {}}, "allow[0]", e);
  if (error) *error = e;
  return r;
}

TEST(Rule, EveryIdentityFieldMatchesAndRefuses) {
  const tls::PeerIdentity id = alice();
  struct Case {
    std::string field, value;
    bool match;
  };
  const std::vector<Case> cases = {
      {"cn", "Zoë \"Z\" Ångström", true},
      {"cn", "Zoe", false},
      {"o", "Acme", true},
      {"o", "acme", false},
      {"ou", "qa", true},
      {"ou", "dev", false},
      {"dns", "zoe.staging.example.com", true},
      {"dns", "*.staging.example.com", true},
      {"dns", "*.example.com", true},
      {"dns", "*.prod.example.com", false},
      {"email", "zoe@example.com", true},
      {"email", "bob@example.com", false},
      {"uri", "spiffe://corp.example/ci/*", true},
      {"uri", "spiffe://corp.example/prod/*", false},
      {"ip", "10.0.0.7", true},
      {"ip", "::1", true},
      {"ip", "10.0.0.8", false},
      {"serial", "4f:2a", true},
      {"serial", "4F2A", true},
      {"serial", "4F2B", false},
      {"issuer", "CN=Acme Intermediate,O=Acme", true},
      {"issuer", "CN=Other", false},
      {"fingerprint", std::string(64, 'A'), true},
      {"fingerprint", std::string(64, 'c'), false},
      {"spki", std::string(64, 'b'), true},
      {"spki", std::string(64, 'a'), false},
  };
  for (const auto& c : cases) {
    auto r = rule({{c.field, c.value}});
    ASSERT_TRUE(r) << c.field;
    EXPECT_EQ(r->matches(id), c.match) << c.field << " = " << c.value;
  }
  // Every field of a rule must match.
  EXPECT_TRUE(rule({{"ou", "testers"}, {"o", "Acme"}})->matches(id));
  EXPECT_FALSE(rule({{"ou", "testers"}, {"o", "Other"}})->matches(id));
}

TEST(Rule, EmptyIdentityFieldsNeverMatch) {
  tls::PeerIdentity nobody;
  for (auto [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"cn", "x"}, {"ou", "x"}, {"dns", "*"}, {"uri", "**"}, {"email", "a@b"}, {"ip", "::1"}})
    EXPECT_FALSE(rule({{field, value}})->matches(nobody)) << field;
}

TEST(Rule, BadValuesAreConfigErrors) {
  std::string error;
  EXPECT_FALSE(rule({{"serial", "xyz"}}, &error));
  EXPECT_NE(error.find("not a hex serial"), std::string::npos);
  EXPECT_FALSE(rule({{"fingerprint", "abcd"}}, &error));
  EXPECT_NE(error.find("64 digits"), std::string::npos);
  EXPECT_FALSE(rule({{"ip", "10.0.0"}}, &error));
  EXPECT_FALSE(rule({{"cn", "a*"}}, &error));
  EXPECT_NE(error.find("work only in dns and uri"), std::string::npos);
}

TEST(RoutePolicy, DenyWinsAndNamesTheRule) {
  const tls::PeerIdentity id = alice();
  std::string e;
  auto allow = [&](std::vector<std::pair<std::string, std::string>> f, int i) {
    return *Rule::compile({std::move(f), {}}, "allow[" + std::to_string(i) + "]", e);
  };
  RoutePolicy open;
  EXPECT_EQ(open.decide(id).rule, "any verified client");
  RoutePolicy testers({allow({{"ou", "dev"}}, 0), allow({{"ou", "testers"}}, 1)}, {});
  auto d = testers.decide(id);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "allow[1]");
  RoutePolicy denied({allow({{"ou", "testers"}}, 0)}, {*Rule::compile({{{"serial", "4F2A"}}, {}}, "deny[0]", e)});
  d = denied.decide(id);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, gatehouse::Reason::policy_denied);
  EXPECT_EQ(d.rule, "deny[0]");
  RoutePolicy nobody({allow({{"ou", "ops"}}, 0)}, {});
  EXPECT_EQ(nobody.decide(id).rule, "no allow rule matched");
}

std::vector<conf::RouteSettings> routes_from(const std::string& toml, conf::Diagnostics& diags) {
  std::string text =
      "[[listener]]\nlisten = \"127.0.0.1:0\"\n[listener.tls]\ncertificates = [{cert = \"c\", key = \"k\"}]\n"
      "client_ca = \"ca\"\n" +
      toml + "\n[[upstream]]\nname = \"u\"\nendpoints = [\"127.0.0.1:1\"]\n";
  auto parsed = conf::parse_text(text, "r.toml", "/tmp");
  diags = parsed.diagnostics;
  return parsed.settings ? parsed.settings->listeners[0].routes : std::vector<conf::RouteSettings>{};
}

TEST(Router, ChoosesBySniExactBeforeWildcardThenDefault) {
  conf::Diagnostics diags;
  auto routes = routes_from(R"(
[[listener.route]]
name = "staging"
sni = ["staging.example.com", "*.staging.example.com"]
upstream = "u"
[[listener.route]]
name = "special"
sni = ["api.staging.example.com"]
upstream = "u"
[[listener.route]]
name = "fallback"
upstream = "u"
)",
                            diags);
  ASSERT_TRUE(diags.empty()) << diags.to_string();
  conf::Diagnostics problems;
  auto router = Router::compile(routes, "r.toml", problems);
  ASSERT_TRUE(router) << problems.to_string();
  EXPECT_EQ(router->select("STAGING.example.com"), 0);
  EXPECT_EQ(router->select("web.staging.example.com"), 0);
  EXPECT_EQ(router->select("api.staging.example.com"), 1);
  EXPECT_EQ(router->select("other.example.com"), 2);
  EXPECT_EQ(router->select(""), 2);
}

TEST(Router, RefusesWithoutDefaultAndReportsConflicts) {
  conf::Diagnostics diags;
  auto routes = routes_from(R"(
[[listener.route]]
sni = ["a.example.com"]
upstream = "u"
)",
                            diags);
  conf::Diagnostics problems;
  auto router = Router::compile(routes, "r.toml", problems);
  ASSERT_TRUE(router);
  auto authz = router->authorize(tls::PeerIdentity{}, "b.example.com");
  EXPECT_FALSE(authz.allowed);
  EXPECT_NE(authz.detail.find("no route for the server name 'b.example.com'"), std::string::npos);

  routes = routes_from(R"(
[[listener.route]]
name = "one"
upstream = "u"
allow = [ { ou = "testers" }, { serial = "nothex" } ]
[[listener.route]]
name = "two"
sni = ["A.example.com", "a.example.com", "*bad"]
upstream = "u"
[[listener.route]]
name = "three"
upstream = "u"
)",
                       diags);
  ASSERT_EQ(routes.size(), 3u) << diags.to_string();
  conf::Diagnostics p2;
  EXPECT_FALSE(Router::compile(routes, "r.toml", p2));
  std::string all = p2.to_string();
  EXPECT_NE(all.find("route 'one' allow[1]: serial = \"nothex\""), std::string::npos) << all;
  EXPECT_NE(all.find("sni \"a.example.com\" is already routed by 'two'"), std::string::npos) << all;
  EXPECT_NE(all.find("sni \"*bad\" must be a host name"), std::string::npos) << all;
  EXPECT_NE(all.find("'one' is already the default route"), std::string::npos) << all;

  routes_from("[[listener.route]]\nupstream = \"u\"\ndeny = [ { } ]\n", diags);
  EXPECT_NE(diags.to_string().find("an empty rule would match everyone"), std::string::npos) << diags.to_string();
  routes_from("[[listener.route]]\nupstream = \"u\"\nallow = [ { group = \"x\" } ]\n", diags);
  EXPECT_NE(diags.to_string().find("unknown key 'group'"), std::string::npos) << diags.to_string();
}

}  // namespace
}  // namespace gatehouse::policy
