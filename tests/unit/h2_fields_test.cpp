// HTTP/2 heads and fields as tables: what an HTTP/2 request becomes for the HTTP/1.1 checks
// (proxy/h2/request_head.hpp), and what Gatehouse sends back (proxy/h2/response_fields.hpp).
#include <gtest/gtest.h>

#include "proxy/h2/request_head.hpp"
#include "proxy/h2/response_fields.hpp"
#include "proxy/h2/token_bucket.hpp"

namespace gatehouse::proxy::h2 {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Built {
  std::string problem;
  http::Head head;
  bool grpc = false;
};

Built build(const Pairs& fields, bool end_stream = true, HeadLimits limits = {}) {
  RequestHead r(limits);
  for (const auto& [n, v] : fields) r.add(n, v);
  Built b;
  b.problem = r.finish(end_stream);
  b.head = r.head();
  b.grpc = r.is_grpc();
  return b;
}

const Pairs kGet = {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test:8443"}, {":path", "/x?y"}};

TEST(Http2Head, ARequestBecomesTheHeadTheChecksJudge) {
  Built b = build(kGet);
  ASSERT_EQ(b.problem, "");
  EXPECT_EQ(b.head.method, "GET");
  EXPECT_EQ(b.head.target, "/x?y");
  ASSERT_NE(b.head.find("host"), nullptr);
  EXPECT_EQ(*b.head.find("host"), "a.test:8443");  // :authority is the Host that is checked
  EXPECT_EQ(b.head.framing, http::Framing::none);
  EXPECT_EQ(b.head.minor, 1);
}

TEST(Http2Head, BodiesAreFramedForTheHttp11Hop) {
  Pairs post = kGet;
  post[0].second = "POST";
  Built unknown = build(post, false);
  EXPECT_EQ(unknown.head.framing, http::Framing::chunked);  // no content-length: chunked upstream
  post.push_back({"content-length", "12"});
  Built known = build(post, false);
  EXPECT_EQ(known.head.framing, http::Framing::content_length);
  EXPECT_EQ(known.head.content_length, 12u);
  EXPECT_NE(build(post, true).problem, "");  // a length promised, and the stream ended
}

TEST(Http2Head, CookieCrumbsAreJoinedAndGrpcIsRecognised) {
  Pairs p = kGet;
  p.push_back({"cookie", "a=1"});
  p.push_back({"cookie", "b=2"});
  p.push_back({"content-type", "application/grpc+proto"});
  Built b = build(p);
  ASSERT_NE(b.head.find("cookie"), nullptr);
  EXPECT_EQ(*b.head.find("cookie"), "a=1; b=2");
  EXPECT_EQ(b.head.count("cookie"), 1u);
  EXPECT_TRUE(b.grpc);
  EXPECT_FALSE(build(kGet).grpc);
}

TEST(Http2Head, WhatIsRefused) {
  struct Case {
    Pairs fields;
    std::string words;
  };
  const std::vector<Case> cases = {
      {{{":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}}, "no :method"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}}, "no :path"},
      {{{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}}, ":scheme"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}, {"host", "b.test"}},
       "different hosts"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "a.test"}, {"host", "b.test"}},
       "one Host"},
      {{{":method", "POST"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}, {"content-length", "x"}},
       "not a number"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/a b"}}, ":path carries"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/\r\nX: y"}}, "byte HTTP does not allow"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}, {"x", "a\r\nx-client-cn: root"}},
       "byte HTTP does not allow"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}, {"X-Upper", "1"}},
       "byte HTTP does not allow"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}, {"x y", "1"}},
       "byte HTTP does not allow"},
  };
  for (const auto& c : cases) {
    Built b = build(c.fields);
    EXPECT_NE(b.problem.find(c.words), std::string::npos) << c.words << ": " << b.problem;
  }
  // :authority and Host that agree are one Host.
  Pairs same = kGet;
  same.push_back({"host", "a.test:8443"});
  Built b = build(same);
  EXPECT_EQ(b.problem, "");
  EXPECT_EQ(b.head.count("host"), 1u);
}

TEST(Http2Head, AHeaderListOverTheLimitsIsNotKept) {
  RequestHead r({200, 100});
  EXPECT_TRUE(r.add(":method", "GET"));
  EXPECT_FALSE(r.add("x-big", std::string(200, 'a')));  // RFC 9113 size: name + value + 32 each
  EXPECT_TRUE(r.too_large());
  EXPECT_FALSE(r.add("x", "y"));  // nothing more once over
  EXPECT_FALSE(r.a_bomb());
  for (int i = 0; i < 4; ++i) r.add("x-big", std::string(200, 'a'));
  EXPECT_TRUE(r.a_bomb());  // four times over
  RequestHead few({16 * 1024, 3});
  EXPECT_TRUE(few.add("a", "1"));
  EXPECT_TRUE(few.add("b", "2"));
  EXPECT_TRUE(few.add("c", "3"));
  EXPECT_FALSE(few.add("d", "4"));
}

TEST(Http2Fields, ConnectionSpecificFieldsNeverReachAnHttp2Client) {
  http::Head h;
  h.status = 200;
  h.headers = {{"Content-Type", "text/plain"}, {"Connection", "keep-alive, X-Hop"}, {"Keep-Alive", "timeout=5"},
               {"Transfer-Encoding", "chunked"}, {"Upgrade", "h2c"}, {"Proxy-Connection", "x"}, {"X-Hop", "1"},
               {"X-End", "2"}};
  Fields f = response_fields(h);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, ":status");
  EXPECT_EQ(f[0].value, "200");
  EXPECT_EQ(f[1].name, "content-type");  // lower-case, as HTTP/2 requires
  EXPECT_EQ(f[2].name, "x-end");
}

TEST(Http2Fields, NoLengthOnInterimOrNoContentResponses) {
  for (int status : {100, 103, 204}) {
    http::Head h;
    h.status = status;
    h.headers = {{"Content-Length", "5"}, {"X-A", "1"}};
    Fields f = response_fields(h);
    ASSERT_EQ(f.size(), 2u) << status;
    EXPECT_EQ(f[1].name, "x-a");
  }
  http::Head ok;
  ok.status = 304;  // a 304's length describes the representation: kept
  ok.headers = {{"Content-Length", "5"}};
  EXPECT_EQ(response_fields(ok).size(), 2u);
}

TEST(Http2Fields, RefusalsToGrpcClientsCarryTheRightStatus) {
  using gatehouse::Reason;
  EXPECT_EQ(grpc_status_of(403, Reason::policy_denied, false), GrpcStatus::permission_denied);
  EXPECT_EQ(grpc_status_of(403, Reason::expired, true), GrpcStatus::unauthenticated);
  EXPECT_EQ(grpc_status_of(502, Reason::upstream_unavailable, false), GrpcStatus::unavailable);
  EXPECT_EQ(grpc_status_of(421, Reason::ok, false), GrpcStatus::unavailable);
  EXPECT_EQ(grpc_status_of(400, Reason::ok, false), GrpcStatus::internal);
  EXPECT_EQ(grpc_status_of(405, Reason::ok, false), GrpcStatus::unimplemented);
  Fields f = grpc_refusal_fields(GrpcStatus::permission_denied, "Not for you: 100% sure\n");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].value, "200");  // trailers-only: the status lives in grpc-status
  EXPECT_EQ(f[1].value, "application/grpc");
  EXPECT_EQ(f[2].value, "7");
  EXPECT_EQ(f[3].value, "Not for you: 100%25 sure%0A");
  EXPECT_EQ(grpc_message_encode("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(Http2Limits, ATokenBucketAllowsItsBurstThenItsRate) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10, 20);
  int taken = 0;
  while (b.take(t0)) ++taken;
  EXPECT_EQ(taken, 20);
  EXPECT_FALSE(b.take(t0 + std::chrono::milliseconds(50)));  // half a token came back
  EXPECT_TRUE(b.take(t0 + std::chrono::milliseconds(150)));
}

}  // namespace
}  // namespace gatehouse::proxy::h2
