// proxy/http/request_checks as a table: a raw request head and the connection's facts in, the
// answer out (0 = forwarded), and whether the connection closes. No sockets: the checks are pure.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "conf/diagnostics.hpp"
#include "proxy/http/request_checks.hpp"
#include "tests/support/print_close.hpp"

namespace gatehouse::proxy::http {
namespace {

// Two routes by SNI and a default one: a connection opened for a.example is on route 0.
policy::Router router() {
  conf::Diagnostics problems;
  std::vector<conf::RouteSettings> routes(3);
  routes[0].name = "a";
  routes[0].sni = {"a.example"};
  routes[1].name = "b";
  routes[1].sni = {"*.b.example"};
  routes[2].name = "other";
  auto r = policy::Router::compile(routes, "test.toml", problems);
  EXPECT_TRUE(r) << (problems.problems().empty() ? "" : problems.problems().front().message);
  return std::move(*r);
}

struct Case {
  const char* name;
  std::string request;          // the bytes of the head (and perhaps a body)
  int status;                   // 0: forwarded
  bool closes = true;           // our answers always close; a forwarded request does not
  Close close = Close::done;    // the request's log close, for our answers
  bool refused_client = false;  // verify = "optional" refused the client's certificate
  conf::RefusalCodes codes = conf::RefusalCodes::always_403;
  std::size_t max_head = 16 * 1024;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::vector<Case> kCases = {
    {"plain GET", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 0, false},
    {"host with port and final dot", "GET / HTTP/1.1\r\nHost: A.Example.:8443\r\n\r\n", 0, false},
    {"absolute form for the route", "GET https://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", 0, false},
    {"POST with a body", "POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc", 0, false},
    {"websocket upgrade", "GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", 0,
     false},
    {"HTTP/1.0 with Host", "GET / HTTP/1.0\r\nHost: a.example\r\n\r\n", 0, false},
    {"Host of another route", "GET / HTTP/1.1\r\nHost: x.b.example\r\n\r\n", 421, true, Close::misdirected_request},
    {"Host of the default route", "GET / HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n", 421, true,
     Close::misdirected_request},
    {"absolute form for another route", "GET http://x.b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 421, true,
     Close::misdirected_request},
    {"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n", 405, true, Close::method_not_allowed},
    {"two Host headers", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: x.b.example\r\n\r\n", 400, true,
     Close::bad_request},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, true, Close::bad_request},
    {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 400, true, Close::bad_request},
    {"invalid Host", "GET / HTTP/1.1\r\nHost: a.example,b\r\n\r\n", 400, true, Close::bad_request},
    {"fragment in the target", "GET /#x HTTP/1.1\r\nHost: a.example\r\n\r\n", 400, true, Close::bad_request},
    {"user information", "GET http://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400, true, Close::bad_request},
    {"Connection naming Host", "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: host\r\n\r\n", 400, true,
     Close::bad_request},
    {"h2c upgrade", "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n", 400, true,
     Close::bad_request},
    {"upgrade with a body",
     "POST / HTTP/1.1\r\nHost: a.example\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\nx",
     400, true, Close::bad_request},
    {"refused client, always_403", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 403, true, Close::refused, true},
    {"refused client, even a bad request", "CONNECT x:1 HTTP/1.1\r\n\r\n", 403, true, Close::refused, true},
    {"head over the limit", "GET / HTTP/1.1\r\nHost: a.example\r\nX-Big: " + std::string(200, 'x') + "\r\n\r\n", 431,
     true, Close::request_head_too_large, false, conf::RefusalCodes::always_403, 64},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, true, Close::bad_request},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a.example\r\n\r\n", 505, true, Close::bad_request},
    {"unknown transfer coding", "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: gzip\r\n\r\n", 501, true,
     Close::bad_request},
    {"garbage", "\x01\x02 nonsense\r\n\r\n", 400, true, Close::bad_request},
};

class HttpChecks : public ::testing::TestWithParam<Case> {};

TEST_P(HttpChecks, AnswerAndClose) {
  const Case& c = GetParam();
  static const policy::Router routes = router();
  conf::HttpSettings http;
  http.refusal_codes = c.codes;
  http.max_head_size = static_cast<std::int64_t>(c.max_head);
  std::optional<Refusal> refusal;
  if (c.refused_client) refusal = Refusal{gatehouse::Reason::no_certificate, "a", "", 0, 0};
  const ConnectionFacts facts{http, routes, 0, "a.example", refusal};

  MessageParser parser(HTTP_REQUEST, {c.max_head, 100});
  std::size_t used = 0;
  std::string body;
  auto ev = parser.feed(c.request.data(), c.request.size(), used, body);
  ASSERT_NE(ev, MessageParser::Event::need_more) << "the head is incomplete";
  Checked checked = ev == MessageParser::Event::head
                        ? check_request(parser.head(), parser.upgrade(), facts)
                        : Checked{check_unparsable(parser.head(), parser.problem(), parser.error())};

  if (c.status == 0) {
    const auto* answer = std::get_if<Answer>(&checked);
    ASSERT_EQ(answer, nullptr) << "answered " << answer->response.status << ": " << answer->detail;
    EXPECT_EQ(std::get<RequestPlan>(checked).host.substr(0, 9), "a.example");
    return;
  }
  const auto* answer = std::get_if<Answer>(&checked);
  ASSERT_NE(answer, nullptr) << "forwarded";
  EXPECT_EQ(answer->response.status, c.status) << answer->detail;
  EXPECT_EQ(answer->close_connection, c.closes);
  EXPECT_EQ(answer->close, c.close);
  // The connection ends as the request did, except that a refused plan (CONNECT) ends it as bad_request.
  EXPECT_EQ(answer->ends, c.close == Close::method_not_allowed ? Close::bad_request : c.close);
  EXPECT_FALSE(answer->response.body.empty());
  if (c.refused_client) {
    EXPECT_TRUE(answer->detail.empty()) << "a refusal keeps the connection's own detail";
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n;
  for (char ch : std::string(info.param.name)) n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Table, HttpChecks, ::testing::ValuesIn(kCases), case_name);

TEST(HttpChecksExtra, TheMisdirectedAnswerNamesBothHostsAndKeepsTheHostForTheLog) {
  static const policy::Router routes = router();
  conf::HttpSettings http;
  std::optional<Refusal> none;
  MessageParser parser(HTTP_REQUEST, {});
  const std::string text = "GET / HTTP/1.1\r\nHost: x.b.example\r\nAccept: application/json\r\n\r\n";
  std::size_t used = 0;
  std::string body;
  ASSERT_EQ(parser.feed(text.data(), text.size(), used, body), MessageParser::Event::head);
  Checked checked = check_request(parser.head(), false, {http, routes, 0, "a.example", none});
  const auto& a = std::get<Answer>(checked);
  EXPECT_EQ(a.host, "x.b.example");
  EXPECT_EQ(a.response.content_type.substr(0, 16), "application/json");
  EXPECT_NE(a.detail.find("a.example"), std::string::npos);
  EXPECT_NE(a.detail.find("x.b.example"), std::string::npos);
}

TEST(HttpChecksExtra, AHeadThatTimedOutIsA408) {
  Head partial;
  Answer a = head_timeout_answer(partial);
  EXPECT_EQ(a.response.status, 408);
  EXPECT_EQ(a.close, Close::head_timeout);
  EXPECT_EQ(a.ends, Close::head_timeout);
}

}  // namespace
}  // namespace gatehouse::proxy::http
