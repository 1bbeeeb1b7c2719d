// serve_connection (proxy/connection.cpp) driven through every failure point, Beast's fail_count
// over loopback: the connection's TLS runs on a socket BIO over its own descriptor, so the
// PROXY header, the handshake and the upstream connect need real sockets (the exchange and the
// splice, which run on abstract streams, have in-memory fault tests of their own:
// tests/unit/http_exchange_faults_test.cpp, splice_faults_test.cpp). Here the peers are real and
// fail at their Nth step, N = 1, 2, 3, ... until a run completes untouched:
//   client:   PROXY v2 header, ClientHello, certificate flight, request head, body, response;
//   upstream: accept, read the request, write the response head, write the body;
// before the step or mid-way through it (half its bytes sent), each by a FIN, a reset
// (SO_LINGER 0), and by going silent past the listener's timeouts, in tcp and http mode. Every
// run must end by itself with exactly one access-log line whose close (and reason) names the
// side that failed, no refusal counted for a client that only left, the gauges and the
// process's descriptors back at their baseline, and a good client served right after.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "proxy/proxy_protocol.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/print_close.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/scripted_upstream.hpp"
#include "tests/support/stepped_client.hpp"

namespace gatehouse::test {
namespace {

using proxy::Close;
using Upstream = ScriptedUpstream;

enum class Mode { tcp, http };
enum class Side { client, upstream };
// The client's steps; `steps_end`: it fails at none.
enum ClientStep { proxy_header = 1, client_hello, certificate_flight, request_head, request_body, response, steps_end };

const char* name(Mode m) { return m == Mode::tcp ? "tcp" : "http"; }
const char* name(Fault f) { return f == Fault::fin ? "fin" : f == Fault::rst ? "rst" : "stall"; }

int open_descriptors() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

template <typename Enum, std::size_t Count, typename Keyword>
Enum typed(const nlohmann::json& line, const char* field, Keyword keyword) {
  const std::string text = line.value(field, "");
  for (std::size_t i = 0; i < Count; ++i)
    if (keyword(static_cast<Enum>(i)) == text) return static_cast<Enum>(i);
  ADD_FAILURE() << "no such " << field << ": " << line.dump();
  return static_cast<Enum>(0);
}
Close close_of(const nlohmann::json& line) {
  return typed<Close, static_cast<std::size_t>(Close::abuse) + 1>(line, "close", proxy::close_keyword);
}
Reason reason_of(const nlohmann::json& line) { return typed<Reason, kReasonCount>(line, "reason", reason_keyword); }

// One failure point: `side` fails at `step` (steps_end: never), after half of that step's bytes
// when `mid`, by `fault`.
struct Point {
  Side side;
  int step;
  bool mid;
  Fault fault;
};

// What the log may say: the close and the reason (a refusal's, counted once; ok, or
// client_closed, which is none). Most points have one; a race allows a second (see there).
struct Outcome {
  Close close;
  Reason reason = Reason::ok;
};
using Outcomes = std::vector<Outcome>;

Outcomes expected(Mode mode, const Point& p) {
  const bool http = mode == Mode::http;
  const Fault f = p.fault;
  if (p.step == steps_end) return {{Close::done}};
  if (p.side == Side::upstream) {
    // tcp mode passes a FIN on as a half-close (the client ends too); in http mode a response
    // that never came or was cut short is the upstream's error. Silence: the idle timeout.
    if (f == Fault::stall) return {{Close::idle_timeout}};
    if (f == Fault::fin) return {{http ? Close::upstream_error : Close::done}};
    // A reset at once may reach the proxy before its connect completes: that endpoint did not answer.
    if (p.step == Upstream::accept)
      return {{Close::upstream_error}, {Close::upstream_unreachable, Reason::upstream_unavailable}};
    return {{Close::upstream_error}};
  }
  const Outcome left{Close::handshake_failed, Reason::client_closed};
  const Outcome silent{Close::handshake_failed, Reason::handshake_timeout};
  switch (p.step) {
    case proxy_header:
      // Nothing sent: as without accept_proxy_protocol, the handshake's verdict. Half a header
      // is a header refused, unless the reset made the kernel drop it unread.
      if (!p.mid) return {f == Fault::stall ? silent : left};
      if (f == Fault::rst) return {{Close::proxy_header_refused, Reason::protocol_error}, left};
      return {{Close::proxy_header_refused, Reason::protocol_error}};
    case client_hello:
    case certificate_flight:
      return {f == Fault::stall ? silent : left};
    case request_head:
    case request_body:
      if (f == Fault::rst) return {{Close::client_error}};
      if (f == Fault::fin) return {{http ? Close::client_closed : Close::done}};
      // Silence: in http mode before the head is whole, the head's timeout (a partial one is
      // answered 408), inside the body the idle timeout.
      return {{http && p.step == request_head ? Close::head_timeout : Close::idle_timeout}};
    default:  // response: it came, then the client failed
      // http: the request's line says how the request went (done); the connection then ends
      // without a line of its own. A reset may still meet the response's last write.
      if (http) return f == Fault::rst ? Outcomes{{Close::done}, {Close::client_error}} : Outcomes{{Close::done}};
      if (f == Fault::stall) return {{Close::idle_timeout}};
      return {{f == Fault::rst ? Close::client_error : Close::done}};
  }
}

class ConnectionFaults : public testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    ProxyConfig c;
    // Short timeouts: a silent peer costs one of them (client_faults_test's slowloris and
    // lifecycle_test serve good clients under the same ones in CI's ASan build).
    c.handshake_timeout = "400ms";
    c.idle_timeout = "300ms";
    c.endpoints = {upstream.endpoint()};
    c.listener_extra = std::string("mode = \"") + name(GetParam()) + "\"\naccept_proxy_protocol = [\"127.0.0.1/32\"]";
    if (http()) c.http_extra = "  head_timeout = \"300ms\"\n  keepalive_timeout = \"300ms\"";
    proxy.start(c);
    upstream.plan(script());
  }
  bool http() const { return GetParam() == Mode::http; }

  Upstream::Script script() const {
    if (!http()) return {[](const std::string& r) { return r.size() >= 9; }, "RESP\n", "pong", true};
    return {[](const std::string& r) {
              auto end = r.find("\r\n\r\n");
              return end != std::string::npos && r.size() >= end + 4 + 4;
            },
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "pong", false};
  }
  std::string head_text() const {
    return http() ? "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\n" : "HEAD\n";
  }
  bool whole_response(const std::string& got) const { return got.find("pong") != std::string::npos; }

  // The client's script, failing at `p` when it is the client's; false if it hung (a silent
  // client the proxy never closed on).
  bool play_client(const Point& p) {
    SteppedClient c(proxy.port(), proxy.dir() / "alice-chain.pem", proxy.dir() / "alice.key", TLS1_3_VERSION);
    if (!c.connected()) return false;
    c.no_delay();  // one step's bytes never wait for the ACK of the step before (40 ms each)
    const int fail_at = p.side == Side::client ? p.step : steps_end;
    // Sends `bytes`, or fails there: true when it failed. Mid-way, `half` is sent first (half of
    // `bytes`, unless the caller made it).
    bool closed = true;
    auto step = [&](int here, std::string_view bytes, std::optional<std::string_view> half = std::nullopt) {
      if (here != fail_at) {
        c.send(bytes);
        return false;
      }
      if (p.mid) c.send(half ? *half : bytes.substr(0, bytes.size() / 2));
      closed = end_by(c.fd(), p.fault);
      c.hang_up();
      return true;
    };
    proxy::ProxyV2Info info;
    info.source = {asio::ip::make_address("203.0.113.7"), 4242};
    info.destination = {asio::ip::make_address("127.0.0.1"), proxy.port()};
    if (step(proxy_header, proxy::encode_proxy_v2(info))) return closed;
    for (int flights = 0;;) {
      std::string flight = c.next_flight();
      if (!flight.empty() && step(client_hello + flights++, flight)) return closed;
      if (c.done()) break;
      if (!c.receive()) return true;  // the proxy ended it first
    }
    // Mid-way through the head or body: half of it arrives, in a whole record of its own (half
    // a record is the handshake's case: the proxy would decrypt nothing).
    const std::string head = head_text();
    if (fail_at == request_head && p.mid) {
      step(request_head, "", c.seal(head.substr(0, head.size() / 2)));
      return closed;
    }
    if (step(request_head, c.seal(head))) return closed;
    if (fail_at == request_body && p.mid) {
      step(request_body, "", c.seal("pi"));
      return closed;
    }
    if (step(request_body, c.seal("ping"))) return closed;
    std::string got;
    if (fail_at == response) {  // the response's first bytes came, then the client fails
      c.read_until(got, [](const std::string& g) { return !g.empty(); });
      step(response, "");
      return closed;
    }
    // http: the response is whole (keep-alive); tcp: the proxy passed the upstream's FIN on.
    c.read_until(got, [&](const std::string& g) { return http() && whole_response(g); });
    if (p.step == steps_end) {
      EXPECT_TRUE(whole_response(got)) << got;
    }
    c.hang_up();
    return true;
  }

  // One run through failure point `p`, then (unless `p` is none) a good client.
  void run(const Point& p) {
    const bool good = p.step == steps_end;
    SCOPED_TRACE(std::string(name(GetParam())) + ": " +
                 (good                     ? "a good client"
                  : p.side == Side::client ? "the client"
                                           : "the upstream") +
                 " fails at step " + std::to_string(p.step) + (p.mid ? ", mid-way," : "") + " by " + name(p.fault));
    const auto refused_before = proxy.totals().refused;
    upstream.plan(script(), p.side == Side::upstream ? p.step : Upstream::steps_end, p.fault, p.mid);
    EXPECT_TRUE(play_client(p)) << "the proxy never closed on a silent client";
    // It ends by itself: the gauge, our upstream's side, the descriptors.
    ASSERT_TRUE(proxy.wait_until_no_connections()) << "the connection did not end";
    ASSERT_TRUE(eventually([&] { return upstream.open() == 0; }, std::chrono::seconds(12)))
        << "the proxy never closed its upstream connection";
    EXPECT_EQ(upstream.hung(), 0) << "the proxy never closed on a silent upstream";
    if (baseline_fds >= 0) {
      EXPECT_TRUE(eventually([&] { return open_descriptors() == baseline_fds; }, std::chrono::seconds(2)))
          << open_descriptors() << " descriptors open, " << baseline_fds << " before";
    }
    // Exactly one line (the access log keeps a worker's lines in order: a second line of this
    // connection would come before the next connection's, checked after it).
    auto log = proxy.wait_for_log(lines + 1);
    ASSERT_GE(log.size(), lines + 1);
    const auto& line = log[lines];
    const Outcomes may = expected(GetParam(), p);
    const Close close = close_of(line);
    const Reason reason = reason_of(line);
    auto it = std::find_if(may.begin(), may.end(), [&](const Outcome& o) { return o.close == close; });
    if (it == may.end()) {
      EXPECT_EQ(close, may.front().close) << line.dump();
      it = may.begin();
    }
    EXPECT_EQ(reason, it->reason) << line.dump();
    // The client is the one the PROXY header named, once it came whole (a reset right after it
    // may make the kernel drop it unread: then the client left before sending anything).
    const bool via = line.value("client", "").find("203.0.113.7:4242 via") != std::string::npos;
    if (!(p.side == Side::client && p.step == client_hello && p.fault == Fault::rst)) {
      EXPECT_EQ(via, p.side == Side::upstream || p.step > proxy_header) << line.dump();
    }
    // A refusal is counted once, with its reason; a client that only left is none.
    const auto refused = proxy.totals().refused;
    for (std::size_t r = 0; r < kReasonCount; ++r) {
      const bool counted = is_refusal(it->reason) && static_cast<std::size_t>(it->reason) == r;
      EXPECT_EQ(refused[r] - refused_before[r], counted ? 1u : 0u) << reason_keyword(static_cast<Reason>(r));
    }
    EXPECT_EQ(proxy.totals().connections_active, 0u);
    lines += 1;
    if (!good) {
      run(Point{Side::client, steps_end, false, Fault::fin});
      // Nothing but the good client's line came after this connection's (lines come in order).
      auto all = proxy.wait_for_log(lines, 0);
      EXPECT_EQ(all.size(), lines) << all.back().dump();
    }
  }

  void take_baseline() {
    run(Point{Side::client, steps_end, false, Fault::fin});  // the first connection's lasting allocations
    baseline_fds = open_descriptors();
  }

  Upstream upstream;
  ProxyHarness proxy;
  std::size_t lines = 0;
  int baseline_fds = -1;
};

// Mid-way points: half of the step's bytes, then the failure. Not inside a handshake flight:
// client_faults_test's DisconnectAtEveryStepOfTheHandshake cuts every flight in half already
// (TLS 1.2 and 1.3), and it meets the same code as a failure before the flight. Silence mid-way
// only where it reaches other code than silence before the step (half a PROXY header, half a
// request head or body): each silent run costs a timeout, and CI runs this under ASan on a tight
// budget.
bool worth_it(int step, bool mid, Fault fault) {
  if (!mid) return true;
  if (step == client_hello || step == certificate_flight || step == response) return false;
  return fault != Fault::stall || step == proxy_header || step == request_head || step == request_body;
}

TEST_P(ConnectionFaults, TheClientFailsAtEveryStep) {
  take_baseline();
  for (Fault fault : {Fault::fin, Fault::rst, Fault::stall})
    for (int step = proxy_header; step < steps_end; ++step)
      for (bool mid : {false, true})
        if (worth_it(step, mid, fault)) run(Point{Side::client, step, mid, fault});
}

TEST_P(ConnectionFaults, TheUpstreamFailsAtEveryStep) {
  take_baseline();
  for (Fault fault : {Fault::fin, Fault::rst, Fault::stall})
    for (int step = Upstream::accept; step < Upstream::steps_end; ++step)
      for (bool mid : {false, true})  // mid-way: through the response head or its body
        if (!mid || step >= Upstream::response_head) run(Point{Side::upstream, step, mid, fault});
}

INSTANTIATE_TEST_SUITE_P(Modes, ConnectionFaults, testing::Values(Mode::tcp, Mode::http),
                         [](const testing::TestParamInfo<Mode>& i) { return std::string(name(i.param)); });

}  // namespace
}  // namespace gatehouse::test
