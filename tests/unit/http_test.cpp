// http mode's pieces on their own: the message parser's re-framing and limits, the rewrite of
// heads, Envoy's XFCC quoting, and the networks of accept_proxy_protocol.
#include <gtest/gtest.h>

#include "conf/network.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/refusal_page.hpp"
#include "proxy/http/rewrite.hpp"

namespace gatehouse::proxy::http {
namespace {

struct Parsed {
  std::vector<MessageParser::Event> events;
  std::string body;
};

// Feeds `text` in pieces of `step` bytes, collecting events and re-framed body bytes.
Parsed feed_all(MessageParser& p, const std::string& text, size_t step) {
  Parsed out;
  std::string pending;
  for (size_t i = 0; i < text.size(); i += step) {
    pending += text.substr(i, step);
    while (!pending.empty()) {
      size_t used = 0;
      auto ev = p.feed(pending.data(), pending.size(), used, out.body);
      pending.erase(0, used);
      if (ev != MessageParser::Event::need_more) out.events.push_back(ev);
      if (ev == MessageParser::Event::error) return out;
      if (ev == MessageParser::Event::need_more) break;
    }
  }
  return out;
}

TEST(HttpMessage, ChunkedBodyIsReframedWithTrailersWhateverTheSplit) {
  const std::string req =
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t step : {1u, 3u, 7u, 1000u}) {
    MessageParser p(HTTP_REQUEST, {});
    auto r = feed_all(p, req, step);
    ASSERT_EQ(r.events.size(), 4u) << step;
    EXPECT_EQ(r.events[0], MessageParser::Event::head);
    EXPECT_EQ(r.events[1], MessageParser::Event::body_done);
    EXPECT_EQ(r.events[2], MessageParser::Event::head);
    EXPECT_EQ(p.head().target, "/next");
    // Chunk extensions dropped, sizes rewritten, trailers kept.
    EXPECT_EQ(r.body, "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n") << step;
  }
}

TEST(HttpMessage, RefusesSmugglingAndOversizedHeads) {
  MessageParser both(HTTP_REQUEST, {});
  auto r = feed_all(both, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 1000);
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.back(), MessageParser::Event::error);

  MessageParser big(HTTP_REQUEST, {.max_head_size = 100, .max_headers = 100});
  r = feed_all(big, "GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n", 1000);
  EXPECT_EQ(r.events.back(), MessageParser::Event::error);
  EXPECT_TRUE(big.head_too_large());

  MessageParser many(HTTP_REQUEST, {.max_head_size = 10000, .max_headers = 3});
  r = feed_all(many, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 1000);
  EXPECT_EQ(r.events.back(), MessageParser::Event::error);
  EXPECT_TRUE(many.head_too_large());
}

TEST(HttpMessage, ResponseToHeadHasNoBodyAndEofEndsAnUnframedOne) {
  MessageParser head(HTTP_RESPONSE, {});
  head.expect_no_body(true);
  auto r = feed_all(head, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1000);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1], MessageParser::Event::body_done);

  MessageParser eof(HTTP_RESPONSE, {});
  r = feed_all(eof, "HTTP/1.0 200 OK\r\n\r\nsome bytes", 1000);
  EXPECT_EQ(r.body, "some bytes");
  EXPECT_EQ(eof.finish(r.body), MessageParser::Event::body_done);
}

TEST(HttpRewrite, HopByHopAndSpoofedHeadersGoOursComeIn) {
  Head in;
  in.method = "GET";
  in.target = "/";
  in.headers = {{"Host", "App.Example:8443"}, {"Connection", "keep-alive, X-Secret"}, {"X-Secret", "s"},
                {"Keep-Alive", "5"}, {"X-Client-CN", "mallory"}, {"x-forwarded-client-cert", "By=x"},
                {"Accept", "*/*"}};
  ForwardFacts facts;
  facts.client_ip = "2001:db8::9";
  conf::IdentityHeaderSettings settings;
  Head out = upstream_request(in, true, false, settings, facts);
  std::string text = serialize_request(out);
  EXPECT_EQ(text,
            "GET / HTTP/1.1\r\nHost: App.Example:8443\r\nAccept: */*\r\nX-Forwarded-For: 2001:db8::9\r\n"
            "X-Forwarded-Proto: https\r\nForwarded: for=\"[2001:db8::9]\";proto=https;host=\"App.Example:8443\"\r\n\r\n");
  EXPECT_EQ(request_host(in), "app.example");
  Head absolute;
  absolute.target = "https://user@Other.Example:8443/x";
  absolute.headers = {{"Host", "app.example"}};  // the target's authority wins, as upstreams route by it
  EXPECT_EQ(request_host(absolute), "other.example");
}

TEST(HttpIdentity, XfccQuotesLikeEnvoy) {
  tls::PeerIdentity id;
  id.fingerprint = "ab";
  id.subject = "CN=a \"b\",O=c";
  id.uri = {"spiffe://corp/x;y"};
  id.dns = {"a.example", "b.example"};
  ForwardFacts facts;
  facts.identity = &id;
  facts.by = "spiffe://corp/gatehouse";
  EXPECT_EQ(xfcc_value({"By", "Hash", "Subject", "URI", "DNS"}, false, facts),
            "By=spiffe://corp/gatehouse;Hash=ab;Subject=\"CN=a \\\"b\\\",O=c\";URI=\"spiffe://corp/x;y\";"
            "DNS=a.example;DNS=b.example");
  EXPECT_EQ(byte_sequence(std::string("\x01\x02\x03", 3)), ":AQID:");
}

TEST(HttpIdentity, ClientCannotSetOurHeaders) {
  for (const char* name : {"X-Client-Anything", "x-forwarded-client-cert", "Client-Cert", "Client-Cert-Chain",
                           "FORWARDED", "X-Forwarded-For", "X-Real-IP"})
    EXPECT_TRUE(is_client_identity_header(name)) << name;
  EXPECT_FALSE(is_client_identity_header("X-Request-Id"));
}

TEST(RefusalPageText, StatusesAndNoSecrets) {
  EXPECT_EQ(refusal_status(tls::Reason::no_certificate, conf::RefusalCodes::nginx), 496);
  EXPECT_EQ(refusal_status(tls::Reason::revoked, conf::RefusalCodes::nginx), 495);
  EXPECT_EQ(refusal_status(tls::Reason::policy_denied, conf::RefusalCodes::nginx), 403);
  EXPECT_EQ(refusal_status(tls::Reason::revoked, conf::RefusalCodes::always_403), 403);
  Refusal r{tls::Reason::untrusted_issuer, "", "CN=<script>", 0, 0};
  auto page = refusal_response(r, conf::RefusalCodes::always_403, false);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
}

TEST(Network, ParsesAndMatchesCidrs) {
  auto ten = conf::parse_network("10.0.0.0/8");
  ASSERT_TRUE(ten);
  auto v4 = [](std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
  };
  EXPECT_TRUE(conf::network_contains(*ten, v4(10, 1, 2, 3)));
  EXPECT_FALSE(conf::network_contains(*ten, v4(11, 0, 0, 1)));
  auto one = conf::parse_network("127.0.0.1");
  EXPECT_TRUE(conf::network_contains(*one, v4(127, 0, 0, 1)));
  EXPECT_FALSE(conf::network_contains(*one, v4(127, 0, 0, 2)));
  auto v6 = conf::parse_network("2001:db8::/32");
  ASSERT_TRUE(v6);
  std::array<std::uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(conf::network_contains(*v6, a));
  EXPECT_FALSE(conf::parse_network("10.0.0.0/33"));
  EXPECT_FALSE(conf::parse_network("nonsense"));
  EXPECT_FALSE(conf::parse_network("10.0.0.0/"));
}

}  // namespace
}  // namespace gatehouse::proxy::http
