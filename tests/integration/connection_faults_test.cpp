// serve_connection (proxy/connection.cpp) driven through every failure point, Beast's fail_count
// over loopback: the connection's TLS runs on a socket BIO over its own descriptor, so the
// PROXY header, the handshake and the upstream connect need real sockets (the exchange and the
// splice, which run on abstract streams, have in-memory fault tests of their own:
// tests/unit/http_exchange_faults_test.cpp, splice_faults_test.cpp). Here the peers are real and
// fail at their Nth step, N = 1, 2, 3, ... until a run completes untouched:
//   client:   PROXY v2 header, ClientHello, certificate flight, request head, body, response;
//   upstream: accept, read the request, write the response head, write the body;
// each by a FIN, a reset (SO_LINGER 0), and by going silent past the listener's timeouts, in tcp
// and http mode. Every run must end by itself with exactly one access-log line whose close (and,
// for the handshake, reason) names the side that failed, no refusal counted for a client that only
// left, the gauges and the process's descriptors back at their baseline, and a good client served
// right after.
#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>

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

// What the log says when `side` failed at `step` by `fault`. `also`: a second close a race
// allows (see the one case).
struct Expected {
  Close close;
  Reason reason = Reason::ok;  // checked for handshake_failed
  std::optional<Close> also;
};

Expected expected(Mode mode, Side side, int step, Fault fault) {
  const bool http = mode == Mode::http;
  if (side == Side::upstream) {
    // tcp mode passes a FIN on as a half-close (the client ends too); in http mode a response
    // that never came or was cut short is the upstream's error. Silence: the idle timeout.
    if (fault == Fault::stall) return {Close::idle_timeout};
    // A reset at once may reach the proxy before its connect completes: that endpoint did not answer.
    const auto also =
        step == Upstream::accept && fault == Fault::rst ? std::optional(Close::upstream_unreachable) : std::nullopt;
    return {fault == Fault::fin && !http ? Close::done : Close::upstream_error, Reason::ok, also};
  }
  switch (step) {
    case proxy_header:  // nothing sent yet: as without a PROXY header, the handshake's verdict
    case client_hello:
    case certificate_flight:
      return {Close::handshake_failed, fault == Fault::stall ? Reason::handshake_timeout : Reason::client_closed};
    case request_head:
      if (fault == Fault::stall) return {http ? Close::head_timeout : Close::idle_timeout};
      if (fault == Fault::rst) return {Close::client_error};
      return {http ? Close::client_closed : Close::done};
    case request_body:
      if (fault == Fault::stall) return {Close::idle_timeout};
      if (fault == Fault::rst) return {Close::client_error};
      return {http ? Close::client_closed : Close::done};
    default:  // response: it came, then the client failed
      // http: the request's line says how the request went (done); the connection then ends
      // without a line of its own. A reset may still meet the response's last write.
      if (http)
        return {Close::done, Reason::ok, fault == Fault::rst ? std::optional(Close::client_error) : std::nullopt};
      if (fault == Fault::stall) return {Close::idle_timeout};
      return {fault == Fault::rst ? Close::client_error : Close::done};
  }
}

class ConnectionFaults : public testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    ProxyConfig c;
    // Short timeouts: a silent peer costs one of them. The handshake's is longer, as a
    // handshake under the sanitizers on a busy machine may take a while.
    c.handshake_timeout = "500ms";
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

  // The client's script, failing at `fail_at`; false if it hung (a silent client never closed on).
  bool play_client(int fail_at, Fault fault, bool good) {
    SteppedClient c(proxy.port(), proxy.dir() / "alice-chain.pem", proxy.dir() / "alice.key", TLS1_3_VERSION);
    if (!c.connected()) return false;
    auto fail = [&] {
      const bool closed = end_by(c.fd(), fault);
      c.hang_up();
      return closed;
    };
    if (fail_at == proxy_header) return fail();
    proxy::ProxyV2Info info;
    info.source = {asio::ip::make_address("203.0.113.7"), 4242};
    info.destination = {asio::ip::make_address("127.0.0.1"), proxy.port()};
    c.send(proxy::encode_proxy_v2(info));
    for (int flights = 0;;) {
      std::string flight = c.next_flight();
      if (!flight.empty()) {
        if (fail_at == client_hello + flights++) return fail();
        c.send(flight);
      }
      if (c.done()) break;
      if (!c.receive()) return true;  // the proxy ended it first
    }
    if (fail_at == request_head) return fail();
    c.send(c.seal(head_text()));
    if (fail_at == request_body) return fail();
    c.send(c.seal("ping"));
    std::string got;
    if (fail_at == response) {  // the response's first bytes came, then the client fails
      c.read_until(got, [](const std::string& g) { return !g.empty(); });
      return fail();
    }
    // http: the response is whole (keep-alive); tcp: the proxy passed the upstream's FIN on.
    c.read_until(got, [&](const std::string& g) { return http() && whole_response(g); });
    if (good) {
      EXPECT_TRUE(whole_response(got)) << got;
    }
    c.hang_up();
    return true;
  }

  // One run: `side` fails at `step` by `fault` (steps_end on both sides: the good client).
  void run(Side side, int step, Fault fault) {
    const std::string what = std::string(name(GetParam())) + ", " + (side == Side::client ? "client" : "upstream") +
                             " fails at step " + std::to_string(step) + " by " + name(fault);
    SCOPED_TRACE(what);
    const auto refused_before = proxy.totals().refused;
    const bool good = step == steps_end;
    upstream.plan(script(), side == Side::upstream ? step : Upstream::steps_end, fault);
    EXPECT_TRUE(play_client(side == Side::client ? step : steps_end, fault, good))
        << "the proxy never closed on a silent client";
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
    // connection would come before the next connection's).
    auto log = proxy.wait_for_log(lines + 1);
    ASSERT_GE(log.size(), lines + 1);
    const auto& line = log[lines];
    const Expected want = good ? Expected{Close::done} : expected(GetParam(), side, step, fault);
    const Close close = close_of(line);
    if (!(want.also && close == *want.also)) {
      EXPECT_EQ(close, want.close) << line.dump();
    }
    if (close == Close::handshake_failed) {
      EXPECT_EQ(reason_of(line), want.reason) << line.dump();
    }
    // The client is the one the PROXY header named, once it came (a reset right after it may
    // make the kernel drop the header unread: then the client left before sending anything).
    const bool via = line.value("client", "").find("203.0.113.7:4242 via") != std::string::npos;
    if (!(side == Side::client && step == client_hello && fault == Fault::rst)) {
      EXPECT_EQ(via, side == Side::upstream || step > proxy_header) << line.dump();
    }
    // A client that only left is no refusal; a silent one is (handshake_timeout), once, and so is
    // an upstream that did not answer (upstream_unavailable).
    const auto refused = proxy.totals().refused;
    for (std::size_t r = 0; r < kReasonCount; ++r) {
      const bool counted =
          (close == Close::handshake_failed && static_cast<std::size_t>(want.reason) == r && is_refusal(want.reason)) ||
          (close == Close::upstream_unreachable && r == static_cast<std::size_t>(Reason::upstream_unavailable));
      EXPECT_EQ(refused[r] - refused_before[r], counted ? 1u : 0u) << reason_keyword(static_cast<Reason>(r));
    }
    EXPECT_EQ(proxy.totals().connections_active, 0u);
    lines += 1;
    if (!good) {
      SCOPED_TRACE("the good client right after");
      run(Side::client, steps_end, Fault::fin);
      // Nothing but the good client's line came after this connection's (lines come in order).
      auto all = proxy.wait_for_log(lines, 0);
      EXPECT_EQ(all.size(), lines) << all.back().dump();
    }
  }

  void SetUpBaseline() {
    run(Side::client, steps_end, Fault::fin);  // the first connection's lasting allocations
    baseline_fds = open_descriptors();
  }

  Upstream upstream;
  ProxyHarness proxy;
  std::size_t lines = 0;
  int baseline_fds = -1;
};

TEST_P(ConnectionFaults, TheClientFailsAtEveryStep) {
  SetUpBaseline();
  for (Fault fault : {Fault::fin, Fault::rst, Fault::stall})
    for (int step = proxy_header; step < steps_end; ++step) run(Side::client, step, fault);
}

TEST_P(ConnectionFaults, TheUpstreamFailsAtEveryStep) {
  SetUpBaseline();
  for (Fault fault : {Fault::fin, Fault::rst, Fault::stall})
    for (int step = Upstream::accept; step < Upstream::steps_end; ++step) run(Side::upstream, step, fault);
}

INSTANTIATE_TEST_SUITE_P(Modes, ConnectionFaults, testing::Values(Mode::tcp, Mode::http),
                         [](const testing::TestParamInfo<Mode>& i) { return std::string(name(i.param)); });

}  // namespace
}  // namespace gatehouse::test
