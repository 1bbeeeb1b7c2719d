// http mode's pieces on their own: the message parser's re-framing and limits, the rewrite of
// heads, Envoy's XFCC quoting, and the networks of accept_proxy_protocol.
#include <gtest/gtest.h>

#include "conf/network.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/refusal_page.hpp"
#include "proxy/http/rewrite.hpp"

#include <variant>

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
    while (!pending.empty() || p.pending()) {
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

ParseProblem problem_of(const std::string& text, llhttp_type_t type = HTTP_REQUEST) {
  MessageParser p(type, {});
  auto r = feed_all(p, text, 1000);
  if (r.events.empty() || r.events.back() != MessageParser::Event::error) return ParseProblem::none;
  return p.problem();
}

const conf::HttpSettings kDefaults;

RequestPlan plan_of(const Head& in, bool upgrade = false, const conf::HttpSettings& http = kDefaults) {
  auto d = plan_request(in, upgrade, http);
  if (auto* r = std::get_if<RequestRefusal>(&d)) ADD_FAILURE() << "refused: " << r->message;
  return std::get_if<RequestPlan>(&d) ? std::get<RequestPlan>(d) : RequestPlan{};
}

std::string refusal_of(const Head& in, bool upgrade = false) {
  auto d = plan_request(in, upgrade, kDefaults);
  auto* r = std::get_if<RequestRefusal>(&d);
  return r ? r->message : "";
}

Head parsed_head(const std::string& text) {
  MessageParser p(HTTP_REQUEST, {});
  auto r = feed_all(p, text, 1000);
  EXPECT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.front(), MessageParser::Event::head) << p.error();
  return p.head();
}

TEST(HttpMessage, ChunkedBodyIsReframedAndTrailersDroppedUnlessAllowed) {
  const std::string req =
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Client-CN: bob\r\nContent-Length: 9\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  conf::HttpSettings allow_sum;
  allow_sum.allowed_trailers = {"x-sum", "x-client-cn", "content-length"};
  for (size_t step : {1u, 3u, 7u, 1000u}) {
    MessageParser p(HTTP_REQUEST, {});
    auto r = feed_all(p, req, step);
    ASSERT_EQ(r.events.size(), 4u) << step;
    EXPECT_EQ(r.events[0], MessageParser::Event::head);
    EXPECT_EQ(r.events[1], MessageParser::Event::body_done);
    EXPECT_EQ(r.events[2], MessageParser::Event::head);
    EXPECT_EQ(p.head().target, "/next");
    // Chunk extensions dropped, sizes rewritten, trailers dropped by default.
    EXPECT_EQ(r.body, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") << step;
    MessageParser kept(HTTP_REQUEST, {});
    kept.keep_trailers([&](std::string_view name) { return trailer_allowed(name, allow_sum); });
    r = feed_all(kept, req, step);
    // Allowed: X-Sum. Never, even when listed: identity and framing names.
    EXPECT_EQ(r.body, "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n") << step;
  }
}

TEST(HttpMessage, RefusesWhatRfc9112SaysAServerMustReject) {
  // Both framings at once, twice the length, a length that is not a number.
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseProblem::none);
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
            ParseProblem::none);
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"), ParseProblem::none);
  // A length some upstreams would read as a rounded double (found by fuzz_no_desync).
  EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n"),
            ParseProblem::malformed);
  EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6888888888888881\r\n"),
            ParseProblem::malformed);
  // Whitespace before the colon (RFC 9112 5.1), obsolete line folding, bare LF, control bytes.
  EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc"), ParseProblem::malformed);
  EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Client-Cert : x\r\n\r\n"), ParseProblem::malformed);
  EXPECT_EQ(problem_of("GET / HTTP/1.1\nHost: a\n\n"), ParseProblem::malformed);
  // An empty field name (found by fuzz_no_desync: llhttp 8.1 takes ": x" as a field).
  EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: a\r\n: Content-Length\r\nContent-Length: 1\r\n\r\nx"),
            ParseProblem::malformed);
  EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x01\r\n\r\n"), ParseProblem::malformed);
  // Versions other than 1.0 and 1.1.
  EXPECT_NE(problem_of("GET /\r\n\r\n"), ParseProblem::none);
  EXPECT_EQ(problem_of("GET / HTTP/1.9\r\nHost: a\r\n\r\n"), ParseProblem::version);
  EXPECT_NE(problem_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), ParseProblem::none);
  // Only "chunked": another coding cannot be re-framed without changing the body.
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), ParseProblem::none);
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            ParseProblem::none);
  EXPECT_NE(problem_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), ParseProblem::none);
  EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseProblem::none);
}

TEST(HttpMessage, HeadLimits) {
  MessageParser big(HTTP_REQUEST, {.max_head_size = 100, .max_headers = 100});
  auto r = feed_all(big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(200, 'x') + "\r\n\r\n", 7);
  EXPECT_EQ(r.events.back(), MessageParser::Event::error);
  EXPECT_TRUE(big.head_too_large());
  MessageParser many(HTTP_REQUEST, {.max_head_size = 10000, .max_headers = 3});
  r = feed_all(many, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 1000);
  EXPECT_EQ(r.events.back(), MessageParser::Event::error);
  EXPECT_TRUE(many.head_too_large());
}

TEST(HttpMessage, ObsoleteLineFoldingBecomesASpace) {
  // RFC 9112 5.2 lets a server replace obs-fold with SP instead of refusing it: one line goes on.
  Head h = parsed_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n");
  ASSERT_NE(h.find("x-a"), nullptr);
  EXPECT_EQ(*h.find("x-a"), "1 folded");
}

TEST(HttpMessage, EmptyValuesEndTheirField) {
  Head h = parsed_head("GET / HTTP/1.1\r\nX-Empty:\r\nHost: a \r\n\r\n");
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers[0].name, "X-Empty");
  EXPECT_EQ(h.headers[1].name, "Host");
  EXPECT_EQ(h.headers[1].value, "a");  // trailing whitespace is not part of the value
}

TEST(HttpMessage, InterimNoContentAndNotModifiedResponsesHaveNoBodyWhateverTheirFraming) {
  // llhttp 8.1 alone would read these lengths as bodies: the bytes after them are the next response.
  for (const std::string status : {"100 Continue", "150 X", "204 No Content", "304 Not Modified"}) {
    for (const std::string framing : {"Content-Length: 42\r\n", "Transfer-Encoding: chunked\r\n"}) {
      MessageParser p(HTTP_RESPONSE, {});
      auto r = feed_all(
          p, "HTTP/1.1 " + status + "\r\n" + framing + "\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal", 1000);
      ASSERT_EQ(r.events.size(), 4u) << status << framing;
      EXPECT_EQ(r.events[1], MessageParser::Event::body_done);
      EXPECT_EQ(p.head().status, 200) << status << framing;
      EXPECT_EQ(r.body, "real") << status << framing;
    }
  }
}

TEST(HttpMessage, ChunkFramingCanBeLeftOutForAnHttp10Peer) {
  MessageParser p(HTTP_RESPONSE, {});
  p.emit_chunk_framing(false);
  auto r = feed_all(
      p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n", 3);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.body, "hello world");
}

TEST(HttpMessage, OtherProtocolsThatLlhttpKnowsAreRefused) {
  for (const char* line : {"DESCRIBE / RTSP/1.0\r\n", "GET / RTSP/1.0\r\n", "SOURCE / ICE/1.0\r\n"})
    EXPECT_EQ(problem_of(std::string(line) + "Host: a\r\n\r\n"), ParseProblem::version) << line;
  // Split anywhere, "HTTP/" is still seen before the version.
  const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (std::size_t step = 1; step < ok.size(); ++step) {
    MessageParser p(HTTP_REQUEST, {});
    auto r = feed_all(p, ok, step);
    ASSERT_FALSE(r.events.empty()) << step;
    EXPECT_EQ(r.events.front(), MessageParser::Event::head) << step << ": " << p.error();
  }
}

TEST(HttpMessage, ResponsesWithoutBodyAndUntilClose) {
  MessageParser head(HTTP_RESPONSE, {});
  head.expect_no_body(true);
  auto r = feed_all(head, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1000);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1], MessageParser::Event::body_done);
  EXPECT_EQ(head.head().content_length, 5u);
  EXPECT_EQ(head.head().framing, Framing::none);
  MessageParser eof(HTTP_RESPONSE, {});
  r = feed_all(eof, "HTTP/1.0 200 OK\r\n\r\nsome bytes", 1000);
  EXPECT_EQ(r.body, "some bytes");
  EXPECT_EQ(eof.head().framing, Framing::until_close);
  EXPECT_EQ(eof.finish(r.body), MessageParser::Event::body_done);
}

TEST(HttpRewrite, FramingHostAndIdentityAreOursNeverTheClients) {
  Head in = parsed_head(
      "POST /p HTTP/1.1\r\nHost: App.Example:8443\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
      "Keep-Alive: 5\r\nX-Client-CN: mallory\r\nX_Client_CN: mallory\r\nx-forwarded-client-cert: By=x\r\n"
      "Content_Length: 99\r\nTrue-Client-IP: 1.2.3.4\r\nAccept: */*\r\nContent-Length: 2\r\n\r\nhi");
  ForwardFacts facts;
  facts.client_ip = "2001:db8::9";
  conf::IdentityHeaderSettings settings;
  RequestPlan plan = plan_of(in);
  EXPECT_EQ(plan.host, "app.example");
  Head out = upstream_request(in, plan, true, settings, facts);
  EXPECT_EQ(serialize_request(out),
            "POST /p HTTP/1.1\r\nHost: App.Example:8443\r\nAccept: */*\r\nContent-Length: 2\r\n"
            "X-Forwarded-For: 2001:db8::9\r\nX-Forwarded-Proto: https\r\n"
            "Forwarded: for=\"[2001:db8::9]\";proto=https;host=\"App.Example:8443\"\r\n\r\n");
}

TEST(HttpRewrite, AbsoluteFormBecomesOriginFormWithTheCheckedHost) {
  Head in = parsed_head("GET https://Other.Example:8443/x?y HTTP/1.1\r\nHost: app.example\r\n\r\n");
  RequestPlan plan = plan_of(in);
  EXPECT_EQ(plan.host, "other.example");
  Head out = upstream_request(in, plan, true, {}, {});
  EXPECT_EQ(serialize_request(out).rfind("GET /x?y HTTP/1.1\r\nHost: Other.Example:8443\r\n", 0), 0u);
  EXPECT_EQ(out.count("host"), 1u);
  EXPECT_EQ(plan_of(parsed_head("OPTIONS http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n")).target, "*");
  EXPECT_NE(refusal_of(parsed_head("GET https://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")), "");
}

TEST(HttpRewrite, RefusesRequestsThatCouldMeanSomethingElseUpstream) {
  // Connection may not name what frames, routes or identifies the request.
  for (const char* named : {"Content-Length", "Transfer-Encoding", "Host", "X-Client-CN", "x_forwarded_client_cert"})
    EXPECT_NE(refusal_of(parsed_head("POST / HTTP/1.1\r\nHost: a\r\nConnection: " + std::string(named) +
                                     "\r\nContent-Length: 1\r\n\r\nx")),
              "")
        << named;
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")), "");
  EXPECT_EQ(refusal_of(parsed_head("GET / HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n")),
            "A request may carry one Host header, not several.");
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: \r\n\r\n")), "");
  for (const char* host : {"a:99999x", "a:99999", "a:", "x,for=_hidden.a", "a;b", "a=b", "a%2eb", "[::1]:70000"})
    EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n")), "") << host;
  EXPECT_EQ(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n")), "");
  EXPECT_EQ(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: a.example.:65535\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET * HTTP/1.1\r\nHost: a\r\n\r\n")), "");
  EXPECT_NE(refusal_of(parsed_head("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n")), "");
  EXPECT_EQ(refusal_of(parsed_head("GET / HTTP/1.0\r\n\r\n")),
            "A request needs a Host header (here HTTP/1.0 ones too).");
}

TEST(HttpRewrite, UpgradesOnlyToAllowedProtocolsAndOnlyWhenTheAnswerMatches) {
  const std::string ws = "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  MessageParser p(HTTP_REQUEST, {});
  feed_all(p, ws, 1000);
  ASSERT_TRUE(p.upgrade());
  RequestPlan plan = plan_of(p.head(), true);
  ASSERT_EQ(plan.upgrade, std::vector<std::string>{"websocket"});
  std::string out = serialize_request(upstream_request(p.head(), plan, true, {}, {}));
  EXPECT_NE(out.find("Upgrade: websocket\r\nConnection: upgrade\r\n"), std::string::npos);
  EXPECT_NE(refusal_of(parsed_head("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                   "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
                       true),
            "");
  EXPECT_NE(refusal_of(parsed_head("POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                                   "Content-Length: 1\r\n\r\nx"),
                       true),
            "");
  // Not an upgrade request (no Connection: upgrade): Upgrade is dropped, never forwarded.
  Head plain = parsed_head("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n");
  EXPECT_EQ(upstream_request(plain, plan_of(plain), true, {}, {}).count("upgrade"), 0u);
  Head answer;
  answer.status = 101;
  answer.headers = {{"Upgrade", "websocket"}};
  EXPECT_TRUE(upgrade_accepted(answer, {"websocket"}));
  answer.headers = {{"Upgrade", "h2c"}};
  EXPECT_FALSE(upgrade_accepted(answer, {"websocket"}));
  answer.headers = {};
  EXPECT_FALSE(upgrade_accepted(answer, {"websocket"}));
}

TEST(HttpRewrite, ResponseFramingIsRebuilt) {
  Head r;
  r.status = 200;
  r.reason = "OK";
  r.headers = {{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}, {"X-A", "1"}};
  r.framing = Framing::chunked;
  EXPECT_EQ(serialize_response(r, 1, false, false), "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  // No length on a 204 or a 1xx, whatever the upstream wrote; an HTTP/1.0 client is told to keep alive.
  r.status = 204;
  r.reason = "No Content";
  r.framing = Framing::none;
  r.has_content_length = true;
  r.content_length = 42;
  r.headers = {{"Content-Length", "42"}};
  EXPECT_EQ(serialize_response(r, 0, false, false), "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
  r.status = 100;
  r.reason = "Continue";
  EXPECT_EQ(serialize_response(r, 1, false, false), "HTTP/1.1 100 Continue\r\n\r\n");
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

// The certificate's lines are built once per connection and reused: each request still gets its
// own Forwarded host, and other settings (never within one connection, but tests do) rebuild them.
TEST(HttpIdentity, LinesBuiltOncePerConnectionFollowTheSettings) {
  tls::PeerIdentity id;
  id.fingerprint = "ab";
  id.subject = "CN=alice";
  id.cn = "alice";
  ForwardFacts facts;
  facts.identity = &id;
  facts.client_ip = "192.0.2.7";
  facts.leaf_der = std::string("\x01\x02\x03", 3);
  conf::IdentityHeaderSettings settings;
  settings.client_cert = true;
  auto request = [&](const char* host) {
    Head in = parsed_head(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
    return upstream_request(in, plan_of(in), true, settings, facts);
  };
  const Head first = request("a.example");
  const Head second = request("b.example");
  ASSERT_NE(first.find("forwarded"), nullptr);
  EXPECT_EQ(*first.find("forwarded"), "for=192.0.2.7;proto=https;host=\"a.example\"");
  EXPECT_EQ(*second.find("forwarded"), "for=192.0.2.7;proto=https;host=\"b.example\"");
  for (const char* name : {"x-forwarded-client-cert", "client-cert", "x-client-cn", "x-client-fingerprint"}) {
    ASSERT_NE(second.find(name), nullptr) << name;
    EXPECT_EQ(*first.find(name), *second.find(name)) << name;
  }
  EXPECT_EQ(*second.find("client-cert"), ":AQID:");
  EXPECT_EQ(*second.find("x-client-cn"), "alice");
  settings.x_client = false;
  settings.client_cert = false;
  const Head third = request("a.example");
  EXPECT_EQ(third.find("x-client-cn"), nullptr);
  EXPECT_EQ(third.find("client-cert"), nullptr);
  ASSERT_NE(third.find("x-forwarded-client-cert"), nullptr);
}

TEST(HttpIdentity, ClientCannotSetOurHeadersInAnySpelling) {
  for (const char* name : {"X-Client-Anything",
                           "x-forwarded-client-cert",
                           "Client-Cert",
                           "Client-Cert-Chain",
                           "FORWARDED",
                           "X-Forwarded-For",
                           "X-Real-IP",
                           "X_Client_CN",
                           "x_forwarded_client_cert",
                           "Client_Cert",
                           " X-Client-CN ",
                           "TRUE_CLIENT_IP",
                           "X-Forwarded-Tls-Client-Cert",
                           "X-SSL-Cert",
                           "SSL-Client-Verify",
                           "Ssl-Client-S-Dn",
                           "X-Amzn-Mtls-Clientcert",
                           "Remote-User",
                           "X-Remote-User",
                           "X-Forwarded-User",
                           "CF-Connecting-IP",
                           "X-Envoy-External-Address"})
    EXPECT_TRUE(is_client_identity_header(name)) << name;
  EXPECT_FALSE(is_client_identity_header("X-Request-Id"));
}

TEST(RefusalPageText, StatusesAndNoSecrets) {
  EXPECT_EQ(refusal_status(gatehouse::Reason::no_certificate, conf::RefusalCodes::nginx), 496);
  EXPECT_EQ(refusal_status(gatehouse::Reason::revoked, conf::RefusalCodes::nginx), 495);
  EXPECT_EQ(refusal_status(gatehouse::Reason::policy_denied, conf::RefusalCodes::nginx), 403);
  EXPECT_EQ(refusal_status(gatehouse::Reason::revoked, conf::RefusalCodes::always_403), 403);
  Refusal r{gatehouse::Reason::untrusted_issuer, "", "CN=<script>", 0, 0};
  auto page = refusal_response(r, conf::RefusalCodes::always_403, false);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
  // Every status an error page goes out with carries its own phrase (505 and 501 were "Error").
  EXPECT_EQ(error_response(505, "bad_request", "x", false).reason_phrase, "HTTP Version Not Supported");
  EXPECT_EQ(error_response(501, "bad_request", "x", false).reason_phrase, "Not Implemented");
  EXPECT_EQ(error_response(495, "x", "x", false).reason_phrase, "SSL Certificate Error");
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
