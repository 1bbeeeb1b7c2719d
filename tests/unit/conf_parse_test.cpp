// TOML → Settings: defaults, paths, and every mistake reported with its line and key path.
#include <gtest/gtest.h>

#include "conf/parse.hpp"

namespace gatehouse::conf {
namespace {

const char* kGood = R"(
[server]
workers = 4
max_connections = 500
drain_timeout = "10s"
verified_cache = 0

[[listener]]
name = "staging"
listen = "127.0.0.1:8443"
idle_timeout = "1m"
  [listener.tls]
  certificates = [ { cert = "certs/server.pem", key = "/etc/gh/server.key" } ]
  client_ca = "pki/root.pem"
  verify_depth = 1
  [[listener.route]]
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:8080"]
)";

TEST(ConfParse, ReadsValuesAndDefaults) {
  auto r = parse_text(kGood, "gh.toml", "/srv/gh");
  ASSERT_TRUE(r.settings) << r.diagnostics.to_string();
  const Settings& s = *r.settings;
  EXPECT_EQ(s.server.workers, 4);
  EXPECT_EQ(s.server.max_connections, 500);
  EXPECT_EQ(s.server.drain_timeout, Duration(10'000));
  EXPECT_EQ(s.server.verified_cache, 0);
  ASSERT_EQ(s.listeners.size(), 1u);
  const auto& l = s.listeners[0];
  EXPECT_EQ(l.name, "staging");
  EXPECT_EQ(l.idle_timeout, Duration(60'000));
  EXPECT_EQ(l.handshake_timeout, Duration(10'000));  // default
  EXPECT_EQ(l.tls.verify_depth, 1);
  EXPECT_EQ(l.tls.min_version, TlsVersion::v1_2);
  EXPECT_EQ(l.tls.max_version, TlsVersion::v1_3);
  // Relative paths resolve against the config's folder; absolute ones stay.
  EXPECT_EQ(l.tls.certificates[0].cert.path, "/srv/gh/certs/server.pem");
  EXPECT_EQ(l.tls.certificates[0].key.path, "/etc/gh/server.key");
  EXPECT_EQ(l.tls.client_ca.path, "/srv/gh/pki/root.pem");
  EXPECT_EQ(l.tls.certificates[0].cert.source.line, 13);
  EXPECT_EQ(s.upstreams[0].connect_timeout, Duration(2000));
}

// Each planted mistake must be reported on its own line.
TEST(ConfParse, ReportsEveryMistakeWithItsLineAndKeyPath) {
  const char* bad = R"([server]
workerz = 2
max_connections = "many"

[[listener]]
listen = "127.0.0.1:8443"
handshake_timeout = "10 seconds"
  [listener.tls]
  certificates = [ { cert = "a.pem" } ]
  client_ca = "root.pem"
  min_version = "1.3"
  max_version = "1.2"
  verify = "sometimes"
  verify_depth = 99
  [[listener.route]]
  upstream = "nowhere"

[[upstream]]
name = "app"
endpoints = []
)";
  auto r = parse_text(bad, "bad.toml", "/tmp");
  ASSERT_FALSE(r.settings);
  std::string all = r.diagnostics.to_string();
  auto has = [&](const std::string& text) { return all.find(text) != std::string::npos; };
  EXPECT_TRUE(has("bad.toml:2:1: server.workerz: unknown key 'workerz'")) << all;
  EXPECT_TRUE(has("bad.toml:3:19: server.max_connections: expected an integer, found string")) << all;
  EXPECT_TRUE(has("bad.toml:7:21: listener[0].handshake_timeout: '10 seconds' is not a duration")) << all;
  EXPECT_TRUE(has("bad.toml:9:20: listener[0].tls.certificates[0]: missing required key")) << all;
  EXPECT_TRUE(has(":11:17: listener[0].tls.min_version: min_version is above max_version")) << all;
  EXPECT_TRUE(has(":13:12: listener[0].tls.verify: 'sometimes' is not one of \"require\"")) << all;
  EXPECT_TRUE(has(":14:18: listener[0].tls.verify_depth: must be between 0 and 16, found 99")) << all;
  EXPECT_TRUE(has("listener[0].route[0].upstream: no [[upstream]] is named 'nowhere'")) << all;
  EXPECT_TRUE(has(":20:13: upstream[0].endpoints: needs at least one endpoint")) << all;
  EXPECT_EQ(r.diagnostics.problems().size(), 9u) << all;
}

TEST(ConfParse, TicketRotationIsBoundedAndNotForAKeyFile) {
  std::string base = kGood;
  auto with = [&](const std::string& lines) {
    std::string text = base;
    return parse_text(text.replace(text.find("  verify_depth = 1"), 0, lines + "\n"), "gh.toml", "/srv/gh");
  };
  auto ok = with("  ticket_rotation = \"6h\"");
  ASSERT_TRUE(ok.settings) << ok.diagnostics.to_string();
  EXPECT_EQ(ok.settings->listeners[0].tls.ticket_rotation, Duration(6 * 3600 * 1000));
  EXPECT_EQ(parse_text(kGood, "gh.toml", "/srv/gh").settings->listeners[0].tls.ticket_rotation,
            Duration(12 * 3600 * 1000));
  auto short_one = with("  ticket_rotation = \"30s\"");
  EXPECT_NE(short_one.diagnostics.to_string().find("ticket_rotation: use a period from \"1m\" to \"7d\""),
            std::string::npos)
      << short_one.diagnostics.to_string();
  auto both = with("  ticket_keys = \"t.key\"\n  ticket_rotation = \"6h\"");
  EXPECT_NE(both.diagnostics.to_string().find("ticket_keys are rotated by replacing the file"), std::string::npos)
      << both.diagnostics.to_string();
}

TEST(ConfParse, MaxConnectionAgeIsOffByDefaultAndMustBePositive) {
  auto with = [](const std::string& line) {
    std::string text = kGood;
    return parse_text(text.replace(text.find("idle_timeout = \"1m\""), 0, line + "\n"), "gh.toml", "/srv/gh");
  };
  EXPECT_EQ(parse_text(kGood, "gh.toml", "/srv/gh").settings->listeners[0].max_connection_age, Duration(0));
  auto hour = with("max_connection_age = \"1h\"");
  ASSERT_TRUE(hour.settings) << hour.diagnostics.to_string();
  EXPECT_EQ(hour.settings->listeners[0].max_connection_age, Duration(3600 * 1000));
  auto zero = with("max_connection_age = \"0s\"");
  EXPECT_FALSE(zero.settings);
  EXPECT_NE(zero.diagnostics.to_string().find("max_connection_age: must be longer than 0"), std::string::npos)
      << zero.diagnostics.to_string();
}

TEST(ConfParse, SyntaxErrorsNameTheirLine) {
  auto r = parse_text("[server]\nworkers = = 3\n", "syntax.toml", "/tmp");
  ASSERT_FALSE(r.settings);
  ASSERT_EQ(r.diagnostics.problems().size(), 1u);
  EXPECT_EQ(r.diagnostics.problems()[0].line, 2);
  EXPECT_NE(r.diagnostics.to_string().find("TOML syntax error"), std::string::npos);
}

TEST(ConfParse, MissingSectionsAreNamed) {
  auto r = parse_text("[server]\nworkers = 1\n", "empty.toml", "/tmp");
  ASSERT_FALSE(r.settings);
  EXPECT_NE(r.diagnostics.to_string().find("missing required key 'listener'"), std::string::npos);
}

TEST(ConfParse, MissingFileIsAClearError) {
  auto r = parse_file("/nonexistent/gatehouse.toml");
  ASSERT_FALSE(r.settings);
  EXPECT_NE(r.diagnostics.to_string().find("cannot read the config file"), std::string::npos);
}

// A route must name an upstream, and an upstream must have a name a route can give: an empty
// one used to pass (and a route without its upstream put route_upstreams out of step).
TEST(ConfParse, EmptyUpstreamNamesAreErrorsWithTheirPlace) {
  std::string route_text = kGood;
  route_text.replace(route_text.find("upstream = \"app\""), 16, "upstream = \"\"");
  auto r = parse_text(route_text, "gh.toml", "/srv/gh");
  ASSERT_FALSE(r.settings);
  std::string all = r.diagnostics.to_string();
  EXPECT_NE(all.find("gh.toml:17:14: listener[0].route[0].upstream: is empty; name one of the [[upstream]] tables"),
            std::string::npos)
      << all;

  std::string upstream_text = kGood;
  upstream_text.replace(upstream_text.find("name = \"app\""), 12, "name = \"\"");
  r = parse_text(upstream_text, "gh.toml", "/srv/gh");
  ASSERT_FALSE(r.settings);
  all = r.diagnostics.to_string();
  EXPECT_NE(all.find("gh.toml:20:8: upstream[0].name: is empty; routes refer to an upstream by its name"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("listener[0].route[0].upstream: no [[upstream]] is named 'app'"), std::string::npos) << all;
}

const char* kHttp = R"([[listener]]
listen = "127.0.0.1:8443"
mode = "http"
proxy_protocol = "v2"
accept_proxy_protocol = ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]
  [listener.tls]
  certificates = [ { cert = "s.pem", key = "s.key" } ]
  client_ca = "root.pem"
  verify = "optional"
  [listener.http]
  identity_headers = ["xfcc", "client-cert"]
  xfcc_keys = ["By", "Hash", "Cert"]
  forward_cert = true
  max_head_size = 8192
  max_headers = 50
  head_timeout = "2s"
  keepalive_timeout = "30s"
  refusal_codes = "nginx"
  [[listener.route]]
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1:8080"]
)";

TEST(ConfParse, HttpModeKeys) {
  auto r = parse_text(kHttp, "gh.toml", "/srv/gh");
  ASSERT_TRUE(r.settings) << r.diagnostics.to_string();
  const auto& l = r.settings->listeners[0];
  EXPECT_EQ(l.mode, ListenerMode::http);
  EXPECT_EQ(l.proxy_protocol, ProxyProtocol::v2);
  ASSERT_EQ(l.accept_proxy_protocol.size(), 3u);
  EXPECT_EQ(l.accept_proxy_protocol[0].prefix, 96 + 8);
  EXPECT_EQ(l.tls.verify, VerifyMode::optional);
  const auto& h = l.http;
  EXPECT_TRUE(h.headers.xfcc && h.headers.client_cert && h.headers.forward_cert);
  EXPECT_FALSE(h.headers.x_client || h.headers.forwarded);
  EXPECT_EQ(h.headers.xfcc_keys, (std::vector<std::string>{"By", "Hash", "Cert"}));
  EXPECT_EQ(h.max_head_size, 8192);
  EXPECT_EQ(h.max_headers, 50);
  EXPECT_EQ(h.head_timeout, Duration(2000));
  EXPECT_EQ(h.keepalive_timeout, Duration(30'000));
  EXPECT_EQ(h.refusal_codes, RefusalCodes::nginx);
}

TEST(ConfParse, HttpModeMistakesAreNamed) {
  std::string text = kHttp;
  auto swap = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  swap("\"10.0.0.0/8\"", "\"10.0.0.0/40\"");
  swap("\"client-cert\"]", "\"client-certs\"]");
  swap("\"Cert\"]", "\"Certificate\"]");
  swap("max_head_size = 8192", "max_head_size = 100");
  auto r = parse_text(text, "gh.toml", "/srv/gh");
  ASSERT_FALSE(r.settings);
  std::string all = r.diagnostics.to_string();
  EXPECT_NE(all.find("gh.toml:5:"), std::string::npos) << all;
  EXPECT_NE(all.find("'10.0.0.0/40' is not an address or network"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown header set 'client-certs'"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown XFCC key 'Certificate'"), std::string::npos) << all;
  EXPECT_NE(all.find("listener[0].http.max_head_size"), std::string::npos) << all;

  text = kHttp;
  swap("mode = \"http\"", "mode = \"tcp\"");
  r = parse_text(text, "gh.toml", "/srv/gh");
  all = r.diagnostics.to_string();
  EXPECT_NE(all.find("[listener.http] needs mode = \"http\""), std::string::npos) << all;
  EXPECT_NE(all.find("verify = \"optional\" needs mode = \"http\""), std::string::npos) << all;
}

TEST(ConfParse, UpstreamProtocolIsHttp1ByDefaultAndH2cIsPlaintextOnly) {
  auto with = [](const std::string& lines) {
    std::string text = kGood;
    return parse_text(text.replace(text.find("endpoints = [\"127.0.0.1:8080\"]"), 0, lines + "\n"), "gh.toml",
                      "/srv/gh");
  };
  EXPECT_EQ(parse_text(kGood, "gh.toml", "/srv/gh").settings->upstreams[0].protocol, UpstreamProtocol::http1);
  auto h2c = with("protocol = \"h2c\"");
  ASSERT_TRUE(h2c.settings) << h2c.diagnostics.to_string();
  EXPECT_EQ(h2c.settings->upstreams[0].protocol, UpstreamProtocol::h2c);
  auto other = with("protocol = \"h3\"");
  EXPECT_FALSE(other.settings);
  auto tls = with("protocol = \"h2c\"\n  [upstream.tls]\n  ca = \"pki/root.pem\"");
  EXPECT_FALSE(tls.settings);
  EXPECT_NE(tls.diagnostics.to_string().find("h2c is HTTP/2 in plaintext"), std::string::npos)
      << tls.diagnostics.to_string();
  // h2 is HTTP/2 over TLS: it needs [upstream.tls].
  auto h2_plain = with("protocol = \"h2\"");
  EXPECT_FALSE(h2_plain.settings);
  EXPECT_NE(h2_plain.diagnostics.to_string().find("h2 is HTTP/2 over TLS: add [upstream.tls]"), std::string::npos)
      << h2_plain.diagnostics.to_string();
  // The health check speaks HTTP/1.1: an HTTP/2 upstream may only have a connect check.
  auto with_health = [](const std::string& health) {  // [[upstream]] is kGood's last table
    std::string text = kGood;
    text.replace(text.find("endpoints = [\"127.0.0.1:8080\"]"), 0, "protocol = \"h2c\"\n");
    return parse_text(text + "\n  [upstream.health]\n" + health + "\n", "gh.toml", "/srv/gh");
  };
  auto health = with_health("  path = \"/healthz\"");
  EXPECT_FALSE(health.settings);
  EXPECT_NE(health.diagnostics.to_string().find("cannot answer the HTTP/1.1 health check"), std::string::npos)
      << health.diagnostics.to_string();
  auto connect_check = with_health("  interval = \"5s\"");
  EXPECT_TRUE(connect_check.settings) << connect_check.diagnostics.to_string();
}

}  // namespace
}  // namespace gatehouse::conf
