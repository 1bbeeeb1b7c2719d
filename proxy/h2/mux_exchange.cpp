// A stream forwarded to an HTTP/2 upstream (protocol "h2c" or "h2") as a stream of a connection
// the worker shares (upstream_mux.hpp): the request's fields rebuilt as for HTTP/1.1 (identity
// headers ours, the client's spellings of them dropped) plus `te: trailers` when the client sent
// it, the body as it comes, and the response's fields, body and trailers (grpc-status) back.
//
// Resets cross both ways: a client's reset (or its connection's end) resets the upstream stream
// (CANCEL); an upstream's REFUSED_STREAM reaches the client as REFUSED_STREAM (safe to retry,
// which browsers and gRPC do by themselves), any other reset before the response is a 502 (gRPC
// status 14), and one after the response started resets the client's stream (CANCEL stays
// CANCEL, anything else is INTERNAL_ERROR).
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <charconv>
#include <cstdint>

#include "proxy/h2/session.hpp"
#include "proxy/h2/upstream_mux.hpp"

namespace gatehouse::proxy::h2 {
namespace {

// An upstream's reset after the response started, as the client's: CANCEL stays CANCEL, anything
// else is INTERNAL_ERROR (a cut response, never one that looks complete or safe to retry).
std::uint32_t client_code_of(std::uint32_t upstream_code) {
  return upstream_code == NGHTTP2_CANCEL ? std::uint32_t{NGHTTP2_CANCEL} : std::uint32_t{NGHTTP2_INTERNAL_ERROR};
}

// grpc-status in the trailers, or in the head of a trailers-only response; null when neither has it.
const std::string* grpc_status_field(const MuxCall& call) {
  for (const Fields* fields : {&call.trailers, &call.head})
    for (const auto& f : *fields)
      if (f.name == "grpc-status") return &f.value;
  return nullptr;
}

}  // namespace

asio::awaitable<void> Session::forward_mux(Stream& s, http::Head out, bool te_trailers) {
  using namespace asio::experimental::awaitable_operators;
  const UpstreamRuntime& up = *target_.upstream;
  const MuxTarget where{facts_.worker,   up, target_.state->upstreams[up.index], target_.preface, target_.generation,
                        owner_of(facts_.member)};
  MuxAcquired got = co_await acquire(where);
  if (s.closed) co_return log(s, Close::stream_reset, "reset by the client before the upstream answered");
  if (!got.connection) {
    refuse(s, 502, got.failure.close, got.failure.detail, gatehouse::Reason::upstream_unavailable);
    co_return;
  }
  s.endpoint = got.connection->endpoint();
  MuxCall call(s.room, s.body_ready);
  call.on_body_sent = [this, &s](std::size_t n) { consume(s, n); };  // the client may send as much again
  const bool has_body = !(s.request_ended && s.body.empty());
  if (!call.start(got.connection, upstream_request_fields(std::move(out), te_trailers, up.tls != nullptr), has_body)) {
    refuse(s, 502, Close::upstream_error, call.failure, gatehouse::Reason::upstream_unavailable);
    co_return;
  }
  if (!has_body) s.request_sent = true;
  IdleWatch idle(client_.socket().get_executor());
  s.idle = &idle;
  idle.start(std::chrono::duration_cast<std::chrono::milliseconds>(facts_.idle_timeout), [&s] {
    s.failure = Close::idle_timeout;
    s.failure_detail = "the upstream sent nothing for idle_timeout";
    s.body_ready.notify();
    s.room.notify();
  });
  co_await (feed_mux(s, call) && relay_mux(s, call));
  idle.stop();
  s.idle = nullptr;
  if (const std::string* status = grpc_status_field(call); status && s.grpc_status < 0) {
    int code = 2;  // UNKNOWN, unless it is a number
    std::from_chars(status->data(), status->data() + status->size(), code);
    s.grpc_status = code;  // the upstream's, for the log and the metrics
  }
  if (s.response_done) co_return log(s, Close::done, "");
  if (s.closed) co_return log(s, Close::stream_reset, "reset by the client");  // ~MuxCall resets upstream
  std::string why = s.failure ? s.failure_detail : call.failure;
  if (call.reset && call.failure.empty()) {  // (a failure of ours, such as a head too large, reset it)
    facts_.counters.h2_streams_reset[static_cast<std::size_t>(metrics::H2ResetBy::upstream)].add();
    // Safe to retry only if nothing of the response went out: after that it is a cut response.
    if (*call.reset == NGHTTP2_REFUSED_STREAM && !s.response_started) {
      nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
      wake_writer_.notify();
      co_return log(s, Close::upstream_error, "the upstream refused the stream (REFUSED_STREAM); passed on for a retry");
    }
    why = std::string("the upstream reset the stream (") + nghttp2_http2_strerror(*call.reset) + ")";
  }
  const Close close = s.failure ? *s.failure : Close::upstream_error;
  if (!s.response_started) {
    refuse(s, 502, close, why, gatehouse::Reason::ok);
    co_return;
  }
  const std::uint32_t code =
      call.reset && call.failure.empty() ? client_code_of(*call.reset) : std::uint32_t{NGHTTP2_INTERNAL_ERROR};
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, code);
  wake_writer_.notify();
  log(s, close, why);
}

asio::awaitable<void> Session::feed_mux(Stream& s, MuxCall& call) {
  co_await asio::this_coro::throw_if_cancelled(false);
  while (!s.request_sent && !s.closed && !s.failure && !call.finished()) {
    if (!s.body.empty()) {  // the client's window comes back as these bytes leave (on_body_sent)
      call.send_body(s.body);
      s.body.clear();
      if (s.idle) s.idle->touch();
    }
    if (s.request_ended) {
      call.end_body(trailer_fields(s.request_trailers));
      s.request_sent = true;
      break;
    }
    co_await s.body_ready.wait();
  }
}

asio::awaitable<void> Session::relay_mux(Stream& s, MuxCall& call) {
  co_await asio::this_coro::throw_if_cancelled(false);
  while (!s.closed && !s.failure) {
    if (!s.response_started && !call.head.empty()) {
      s.status = call.status;
      s.response_started = true;  // before submit_head: the body still comes from the upstream
      const bool bare = call.ended && call.data.empty() && call.trailers.empty();  // gRPC's trailers-only
      if (bare) s.out_done = s.response_done = true;
      submit_head(s, call.head, !bare);
      if (bare) co_return;
    }
    if (s.response_started && !call.data.empty() && s.buffered() <= kMaxBuffered) {
      const std::size_t n = call.data.size();
      s.out += call.data;
      s.bytes_out += n;
      call.data.clear();
      call.take(n);  // the upstream may send as much again on this stream
      if (s.idle) s.idle->touch();
      more_output(s);
    }
    if (s.response_started && call.ended && call.data.empty()) {
      s.trailers_out = response_trailers(call.trailers, facts_.http, s.request.is_grpc());
      s.out_done = s.response_done = true;
      more_output(s);
      co_return;
    }
    if (call.ended && !s.response_started) {
      call.failure = "the upstream ended the stream without a response";
      co_return;
    }
    if (call.finished() && !call.ended) co_return;  // reset or failed: forward_mux says so
    co_await s.room.wait();
  }
}

void Session::consume(Stream& s, std::size_t n) {
  nghttp2_session_consume(session_.get(), s.id, n);
  wake_writer_.notify();
}

}  // namespace gatehouse::proxy::h2
