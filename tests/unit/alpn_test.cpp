// The `alpn` key (conf) and the choice a listener makes from a ClientHello's list (tls), as tables.
#include <gtest/gtest.h>

#include "conf/alpn.hpp"
#include "conf/parse.hpp"
#include "tls/alpn.hpp"

namespace gatehouse {
namespace {

std::string config(const std::string& mode, const std::string& alpn_line) {
  return "[[listener]]\nlisten = \"127.0.0.1:0\"\nmode = \"" + mode + "\"\n" + alpn_line +
         "\n  [listener.tls]\n  certificates = [ { cert = \"s.pem\", key = \"s.key\" } ]\n"
         "  client_ca = \"ca.pem\"\n  [[listener.route]]\n  upstream = \"app\"\n\n"
         "[[upstream]]\nname = \"app\"\nendpoints = [\"127.0.0.1:8080\"]\n";
}

TEST(Alpn, DefaultsAreNoneInTcpModeAndH2ThenHttp11InHttpMode) {
  auto tcp = conf::parse_text(config("tcp", ""), "gh.toml", "/srv");
  ASSERT_TRUE(tcp.settings) << tcp.diagnostics.to_string();
  EXPECT_TRUE(tcp.settings->listeners[0].alpn.empty());
  auto http = conf::parse_text(config("http", ""), "gh.toml", "/srv");
  ASSERT_TRUE(http.settings) << http.diagnostics.to_string();
  EXPECT_EQ(http.settings->listeners[0].alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  auto old = conf::parse_text(config("http", "alpn = [\"http/1.1\"]"), "gh.toml", "/srv");  // HTTP/1.1 only
  ASSERT_TRUE(old.settings) << old.diagnostics.to_string();
  EXPECT_EQ(old.settings->listeners[0].alpn, std::vector<std::string>{"http/1.1"});
  auto grpc = conf::parse_text(config("tcp", "alpn = [\"h2\", \"http/1.1\"]"), "gh.toml", "/srv");
  ASSERT_TRUE(grpc.settings) << grpc.diagnostics.to_string();
  EXPECT_EQ(grpc.settings->listeners[0].alpn, (std::vector<std::string>{"h2", "http/1.1"}));
}

TEST(Alpn, EveryMistakeIsNamedWithItsLine) {
  struct Case {
    std::string mode, line, words;
  };
  const Case cases[] = {
      {"tcp", "alpn = []", "alpn: is empty; leave alpn out"},
      {"tcp", "alpn = [\"h2\", \"\"]", "protocol 2 is empty"},
      {"tcp", "alpn = [\"" + std::string(256, 'x') + "\"]", "protocol 1 is 256 bytes; a protocol name has at most 255"},
      {"tcp", "alpn = [\"h 2\"]", "not printable ASCII"},
      {"tcp", "alpn = [\"h2\\u0001\"]", "not printable ASCII"},
      {"tcp", "alpn = [\"h2\", \"imap\", \"h2\"]", "'h2' is named twice"},
      {"tcp", "alpn = \"h2\"", "alpn"},  // a string, not a list
      {"http", "alpn = [\"h2\", \"h3\"]", "'h3' cannot be offered in http mode, which speaks \"h2\" and \"http/1.1\" only"},
  };
  for (const auto& c : cases) {
    auto r = conf::parse_text(config(c.mode, c.line), "gh.toml", "/srv");
    std::string all = r.diagnostics.to_string();
    EXPECT_FALSE(r.settings) << c.line;
    EXPECT_NE(all.find(c.words), std::string::npos) << c.line << "\n" << all;
    EXPECT_NE(all.find("gh.toml:4:"), std::string::npos) << c.line << "\n" << all;  // the alpn line
    EXPECT_NE(all.find("listener[0].alpn"), std::string::npos) << all;
  }
  EXPECT_TRUE(conf::check_alpn(conf::ListenerMode::tcp, {std::string(255, 'x')}).ok());
  EXPECT_TRUE(conf::check_alpn(conf::ListenerMode::http, {"http/1.1"}).ok());
}

std::vector<std::uint8_t> wire(std::initializer_list<std::string> names) {
  std::vector<std::uint8_t> out;
  for (const auto& n : names) {
    out.push_back(static_cast<std::uint8_t>(n.size()));
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

std::string chosen(const tls::AlpnPolicy& policy, const std::vector<std::uint8_t>& offer) {
  auto choice = policy.choose(offer);
  if (choice.outcome != tls::AlpnOutcome::chosen) return "<none>";
  return {choice.protocol.begin(), choice.protocol.end()};
}

TEST(Alpn, OurOrderWinsOverTheClients) {
  tls::AlpnPolicy grpc({"h2", "http/1.1"}, tls::AlpnMismatch::refuse);
  EXPECT_TRUE(grpc.offers());
  EXPECT_EQ(chosen(grpc, wire({"h2", "http/1.1"})), "h2");
  EXPECT_EQ(chosen(grpc, wire({"http/1.1", "h2"})), "h2");  // server preference, as nginx and Envoy
  EXPECT_EQ(chosen(grpc, wire({"http/1.1"})), "http/1.1");
  EXPECT_EQ(chosen(grpc, wire({"spdy/3", "h2"})), "h2");
  EXPECT_EQ(chosen(grpc, wire({"imap"})), "<none>");
  EXPECT_EQ(chosen(grpc, wire({"h2c"})), "<none>");  // a prefix or an extension of ours is another name
  EXPECT_EQ(chosen(grpc, wire({"h"})), "<none>");
  EXPECT_EQ(chosen(grpc, {}), "<none>");
  // A malformed list: the well-formed names before the break still count, nothing after it.
  std::vector<std::uint8_t> truncated = wire({"imap", "h2"});
  truncated.push_back(9);
  truncated.push_back('x');
  EXPECT_EQ(chosen(grpc, truncated), "h2");
  std::vector<std::uint8_t> broken{200, 'h', '2'};
  EXPECT_EQ(chosen(grpc, broken), "<none>");
  EXPECT_FALSE(tls::AlpnPolicy().offers());
}

TEST(Alpn, ARefusedOfferIsLoggedByItsFirstNames) {
  EXPECT_EQ(tls::alpn_names(wire({"imap", "pop3"}), 8), (std::vector<std::string>{"imap", "pop3"}));
  EXPECT_EQ(tls::alpn_names(wire({"a", "b", "c"}), 2), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(tls::quoted_list({"h2", "http/1.1"}), "\"h2\", \"http/1.1\"");
}

}  // namespace
}  // namespace gatehouse
