// http mode's reader, checks and exchanges driven over in-memory streams that fail at the Nth
// operation (tests/support/test_stream.hpp), for N = 1, 2, 3, ... until a run completes: every
// failure point of each scenario. Each run must end by itself (no hang: it has seconds, while
// every timeout is a minute), with a close reason that names the side that failed, access-log
// lines that say how the requests ended, and an upstream that never holds part of a request on a
// connection it could take for complete: what it received is a prefix of what the faultless run
// sent it, and a connection holding part of a request was closed.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "conf/diagnostics.hpp"
#include "proxy/http/request_loop.hpp"
#include "tests/support/memory_upstream.hpp"
#include "tests/support/print_close.hpp"
#include "tests/support/test_stream.hpp"

namespace gatehouse::test {
namespace {

using namespace proxy;
using namespace proxy::http;
using Connection = MemoryUpstream::Connection;

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const std::string kSwitch = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";

// The far end of an upstream connection: answers each whole request with kOk, and an upgrade
// with 101 and then echoes bytes until the proxy's end closes.
asio::awaitable<void> serve(std::shared_ptr<Connection> c) {
  TestStream& far = *c->far;
  MessageParser parser(HTTP_REQUEST, {});
  Inbox in;
  for (;;) {
    while (in.available() > 0 || parser.pending()) {
      std::size_t used = 0;
      std::string body;
      auto ev = parser.feed(in.next(), in.available(), used, body);
      c->received.append(in.next(), used);
      in.pos += used;
      if (ev == MessageParser::Event::error) {
        c->parse_error = parser.error();
        co_return;
      }
      if (ev == MessageParser::Event::need_more) break;
      if (ev == MessageParser::Event::head) {
        c->mid_request = true;
        if (parser.upgrade()) {
          c->mid_request = false;
          ++c->complete_requests;
          co_await far.write_all(kSwitch.data(), kSwitch.size());
          for (;;) {  // echo
            if (in.available() > 0) {
              c->received.append(in.next(), in.available());
              co_await far.write_all(in.next(), in.available());
              in.consume_all();
            }
            if (auto ec = co_await read_into(far, in)) {
              co_await far.close_send();
              co_return;
            }
          }
        }
      }
      if (ev == MessageParser::Event::body_done) {
        c->mid_request = false;
        ++c->complete_requests;
        co_await far.write_all(kOk.data(), kOk.size());
      }
    }
    if (auto ec = co_await read_into(far, in)) co_return;
  }
}

// `gated`: a rule refuses POST /denied to the test's client (cn "client").
policy::Router one_route(bool gated = false) {
  conf::Diagnostics problems;
  std::vector<conf::RouteSettings> routes(1);
  routes[0].name = "a";
  routes[0].sni = {"a.example"};
  if (gated) {
    conf::RuleSettings deny;
    deny.fields = {{"cn", "client"}};
    deny.paths = {"/denied"};
    routes[0].deny = {deny};
  }
  return std::move(*policy::Router::compile(routes, "test.toml", problems));
}

struct Scenario {
  const char* name;
  std::string client;     // what the client sends, then its half-close
  std::size_t read_size;  // per read on the client's stream
  bool whoami = false;    // the route's upstream is the built-in whoami
  Close clean_close;      // the connection's close when nothing fails
  int requests;           // access-log lines when nothing fails
  int status = 200;       // of each request when nothing fails
  bool gated = false;     // a path rule refuses the first request (403), the next is served
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

struct Outcome {
  bool finished = false;
  Close close = Close::done;
  std::size_t operations = 0;
  bool failed = false;
  std::string to_client;
  std::vector<nlohmann::json> lines;
  int logged = 0;
  std::vector<std::shared_ptr<Connection>> upstream;
};

Outcome drive(const Scenario& s, std::size_t fail_at, FailCount::Mode mode) {
  static const policy::Router plain = one_route(), gated = one_route(true);
  const policy::Router& routes = s.gated ? gated : plain;
  asio::io_context io;
  FailCount fails(fail_at, mode);
  auto streams = TestStream::pair(io.get_executor(), &fails);  // not a structured binding: clang 14 cannot capture one
  auto& client = std::get<0>(streams);
  auto& far_client = std::get<1>(streams);
  client->set_read_size(s.read_size);
  MemoryUpstream upstream(io.get_executor(), &fails, serve);

  WorkerContext worker;
  ConnectionMember member;
  conf::HttpSettings http;
  http.head_timeout = http.keepalive_timeout = std::chrono::seconds(60);
  metrics::ListenerCounters counters;
  tls::PeerIdentity identity;
  identity.cn = "client";
  identity.subject = "CN=client";
  ConnectionRecord record;
  record.identity = &identity;
  record.sni = "a.example";
  ForwardFacts forward;
  forward.identity = &identity;
  std::optional<Refusal> refusal;
  Refusal denied;
  const policy::RequestGate gate = routes.routes()[0].policy.gate(identity);
  const std::string whoami_label = "whoami";
  std::string logged;
  AccessLog log([&logged](std::string_view lines) { logged += lines; });
  worker.access_log = log.writer();

  Outcome run;
  const SessionFacts facts{worker,
                           member,
                           http,
                           std::chrono::seconds(60),
                           counters,
                           record,
                           forward,
                           {http, routes, 0, "a.example", refusal, gate.needed() ? &gate : nullptr, &denied},
                           s.whoami ? &whoami_label : nullptr,
                           run.logged};
  far_client->put(s.client, true);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        run.close = co_await serve_requests(*client, upstream, facts);
        upstream.close();  // as the real upstream link does when the connection's frame goes
        run.finished = true;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  log.flush();
  run.operations = fails.operations();
  run.failed = fails.failed();
  run.to_client = far_client->take();
  for (std::size_t start = 0, end; (end = logged.find('\n', start)) != std::string::npos; start = end + 1)
    run.lines.push_back(nlohmann::json::parse(logged.substr(start, end - start)));
  run.upstream = upstream.connections();
  return run;
}

// The closes a failure on either side may end in; a test would name any other (say, drained).
constexpr Close kSensible[] = {Close::client_closed,        Close::client_error, Close::upstream_error,
                               Close::upstream_unreachable, Close::done,         Close::idle_timeout};

bool sensible(Close close) {
  return std::find(std::begin(kSensible), std::end(kSensible), close) != std::end(kSensible);
}

// An access-log line's close: one of the same, spelled as the log spells it.
bool sensible(const std::string& keyword) {
  return std::any_of(std::begin(kSensible), std::end(kSensible), [&](Close c) { return close_keyword(c) == keyword; });
}

// Which side failed: "client" or "upstream" (or "done", "idle").
std::string side_of(Close close) {
  const std::string_view keyword = close_keyword(close);
  return std::string(keyword.substr(0, keyword.find('_')));
}

class ExchangeFaults : public ::testing::TestWithParam<Scenario> {};

TEST_P(ExchangeFaults, EveryFailurePointEndsCleanly) {
  const Scenario& s = GetParam();
  const Outcome clean = drive(s, std::numeric_limits<std::size_t>::max(), FailCount::Mode::sticky);
  ASSERT_TRUE(clean.finished) << "the faultless run did not end";
  EXPECT_EQ(clean.close, s.clean_close);
  ASSERT_EQ(clean.lines.size(), static_cast<std::size_t>(s.requests));
  for (const auto& line : clean.lines)
    EXPECT_EQ(line.value("status", 0), s.gated && &line == &clean.lines.front() ? 403 : s.status) << line.dump();
  const std::string golden = s.whoami || clean.upstream.empty() ? "" : clean.upstream.front()->received;

  for (auto mode : {FailCount::Mode::sticky, FailCount::Mode::once}) {
    const char* mode_name = mode == FailCount::Mode::sticky ? "sticky" : "once";
    std::set<std::string> sides;  // which side's failure each run reported
    std::size_t n = 1;
    for (; n < 10000; ++n) {
      SCOPED_TRACE(std::string(mode_name) + ": failing at operation " + std::to_string(n));
      Outcome r = drive(s, n, mode);
      ASSERT_TRUE(r.finished) << "hung (or waited for a timeout)";
      // A refused request's send failing ends the connection as refused.
      EXPECT_TRUE(sensible(r.close) || (s.gated && r.close == Close::refused)) << close_keyword(r.close);
      sides.insert(side_of(r.close));
      EXPECT_EQ(r.logged, static_cast<int>(r.lines.size()));
      EXPECT_LE(r.lines.size(), static_cast<std::size_t>(s.requests));
      for (const auto& line : r.lines)
        EXPECT_TRUE(sensible(line.value("close", "")) || (s.gated && line.value("close", "") == "refused")) << line.dump();
      EXPECT_LE(r.upstream.size(), 1u) << "a failure made the exchange reconnect";
      for (const auto& c : r.upstream) {
        EXPECT_TRUE(golden.starts_with(c->received)) << "the upstream got what the faultless run did not send it:\n"
                                                     << c->received;
        EXPECT_EQ(c->parse_error, "");
        if (c->mid_request) {
          EXPECT_TRUE(c->near->closed()) << "part of a request left on an open connection";
        }
      }
      if (!r.failed) break;  // the Nth operation was never reached: every failure point was covered
    }
    EXPECT_GT(n, 3u);
    EXPECT_LT(n, 10000u);
    EXPECT_TRUE(sides.count("client")) << "no failure on the client's side was reached";
    if (!s.whoami) {
      EXPECT_TRUE(sides.count("upstream")) << "no failure on the upstream's side was reached";
    }
    std::cout << "[   INFO   ] " << s.name << " (" << mode_name << "): " << n - 1 << " failure points, "
              << clean.operations << " operations in the faultless run\n";
  }
}

const std::string kPost = "POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n\r\n0123456789";
const std::string kGet = "GET /b HTTP/1.1\r\nHost: a.example\r\n\r\n";
const std::string kDenied = "POST /denied HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n\r\n0123456789";
const std::string kChunked =
    "POST /c HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
const std::string kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nping";

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ExchangeFaults,
    ::testing::Values(Scenario{"KeepAliveWholeReads", kPost + kGet, 1 << 20, false, Close::client_closed, 2},
                      Scenario{"KeepAliveSmallReads", kPost + kGet, 7, false, Close::client_closed, 2},
                      Scenario{"ChunkedByteByByte", kChunked, 1, false, Close::client_closed, 1},
                      Scenario{"Whoami", kPost + kGet, 16, true, Close::client_closed, 2},
                      Scenario{"Upgrade", kUpgrade, 1 << 20, false, Close::done, 1, 101},
                      Scenario{"RefusedWithABodyThenServed", kDenied + kGet, 5, false, Close::client_closed, 2, 200,
                               true}),
    [](const ::testing::TestParamInfo<Scenario>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace gatehouse::test
