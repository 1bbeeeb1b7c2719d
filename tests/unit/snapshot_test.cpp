// build_snapshot on its own: Settings that did not come through parse (or got past it) must not
// yield a snapshot whose route_upstreams disagree with the routes.
#include <gtest/gtest.h>

#include "conf/parse.hpp"
#include "proxy/snapshot.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

class SnapshotBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    ProxyConfig c;
    c.routes =
        "  [[listener.route]]\n  name = \"a\"\n  sni = [\"a.test\"]\n  upstream = \"app\"\n"
        "  [[listener.route]]\n  name = \"rest\"\n  upstream = \"app\"\n";
    auto parsed = conf::parse_text(pki_.config_text(c), "test.toml", pki_.dir().path());
    ASSERT_TRUE(parsed.settings) << parsed.diagnostics.to_string();
    settings_ = *parsed.settings;
  }
  // The problems, or "" when a snapshot was built.
  std::string problems_of(const conf::Settings& s) {
    conf::Diagnostics problems;
    auto snap = proxy::build_snapshot(s, problems);
    if (snap) return "";
    EXPECT_FALSE(problems.empty());
    return problems.to_string();
  }

  ProxyHarness pki_;  // only for the certificates it mints; no server runs
  conf::Settings settings_;
};

TEST_F(SnapshotBuild, EachRouteGetsItsOwnUpstream) {
  conf::Diagnostics problems;
  auto snap = proxy::build_snapshot(settings_, problems);
  ASSERT_TRUE(snap) << problems.to_string();
  const auto& l = snap->listeners.at(0);
  ASSERT_EQ(l.route_upstreams.size(), l.router->routes().size());
  ASSERT_EQ(l.route_upstreams.size(), 2u);
  for (const auto* up : l.route_upstreams) EXPECT_EQ(up, &snap->upstreams.at(0));
}

TEST_F(SnapshotBuild, ARouteWithoutItsUpstreamIsAProblemNotAShiftedIndex) {
  for (std::string name : {"", "nowhere"}) {
    conf::Settings s = settings_;
    s.listeners[0].routes[0].upstream = name;
    std::string all = problems_of(s);
    EXPECT_NE(all.find("listener[0].route[0].upstream"), std::string::npos) << "upstream '" << name << "': " << all;
  }
}

// An endpoint without a host resolved to loopback, and upstream TLS then had no name to check.
TEST_F(SnapshotBuild, AnEndpointWithoutAHostIsAProblem) {
  for (std::string endpoint : {":8443", "[]:8443"}) {
    conf::Settings s = settings_;
    s.upstreams[0].endpoints = {endpoint};
    std::string all = problems_of(s);
    EXPECT_NE(all.find("names no host"), std::string::npos) << endpoint << ": " << all;
  }
}

TEST_F(SnapshotBuild, TwoUpstreamsWithOneNameAreAProblem) {
  conf::Settings s = settings_;
  s.upstreams.push_back(s.upstreams[0]);
  std::string all = problems_of(s);
  EXPECT_NE(all.find("upstream name 'app' is used twice"), std::string::npos) << all;
}

}  // namespace
}  // namespace gatehouse::test
