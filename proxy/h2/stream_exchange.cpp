// One HTTP/2 stream's exchange: the same checks as an HTTP/1.1 request, then our answer, the
// built-in whoami, or the upstream's response over an HTTP/1.1 connection of the stream's own.
// The request head is rebuilt (rewrite.hpp), the body re-framed (Content-Length, or chunked
// when the client did not say), and the response's fields filtered for HTTP/2.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>

#include "proxy/h2/header_block.hpp"
#include "proxy/h2/session.hpp"
#include "proxy/http/request_reader.hpp"
#include "proxy/http/request_record.hpp"
#include "proxy/http/whoami_answer.hpp"

namespace gatehouse::proxy::h2 {
namespace {

// RFC 9110 §9.2.2: a request that may be sent again when its connection closed before any answer.
bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
}

}  // namespace

asio::awaitable<void> Session::serve_stream(Stream& s) {
  co_await asio::this_coro::throw_if_cancelled(false);
  if (s.request.too_large()) {
    refuse(s, 431, Close::request_head_too_large, "The request head is larger than this service accepts.",
           gatehouse::Reason::ok);
    co_return;
  }
  if (std::string problem = s.request.finish(s.request_ended); !problem.empty()) {
    refuse(s, 400, Close::bad_request, problem, gatehouse::Reason::ok);
    co_return;
  }
  http::Checked checked = http::check_request(s.request.head(), false, facts_.checks);
  if (auto* a = std::get_if<http::Answer>(&checked)) co_return co_await answer(s, *a);
  co_await forward(s, std::get<http::RequestPlan>(checked));
}

asio::awaitable<void> Session::answer(Stream& s, const http::Answer& a) {
  if (a.reason != gatehouse::Reason::ok) facts_.worker.counters.refused[static_cast<std::size_t>(a.reason)].add();
  if (a.reason == gatehouse::Reason::policy_denied && facts_.route) facts_.route->requests_denied.add();
  s.host = a.host;
  s.rule = a.rule;
  if (s.request.is_grpc()) {
    // A gRPC client shows grpc-status and grpc-message, never a page.
    const auto& refusal = facts_.checks.refusal;
    const gatehouse::Reason why = refusal ? refusal->reason : a.reason;
    const GrpcStatus status =
        grpc_status_of(a.response.status, why, refusal.has_value() && why != gatehouse::Reason::policy_denied);
    s.grpc_status = static_cast<int>(status);
    s.status = 200;
    submit_head(s, grpc_refusal_fields(status, a.response.summary), false);
  } else {
    s.status = a.response.status;
    respond(s, answer_fields(a.response), a.response.body);
  }
  log(s, a.close, a.detail, a.reason);
  co_return;
}

void Session::refuse(Stream& s, int status, Close close, const std::string& message, gatehouse::Reason reason) {
  http::Answer a;
  a.response = http::error_response(status, std::string(close_keyword(close)), message,
                                    http::wants_json(s.request.head().find("accept")));
  a.close = close;
  a.detail = message;
  a.reason = reason;
  if (reason != gatehouse::Reason::ok) facts_.worker.counters.refused[static_cast<std::size_t>(reason)].add();
  if (s.request.is_grpc()) {
    const GrpcStatus grpc = grpc_status_of(status, reason, false);
    s.grpc_status = static_cast<int>(grpc);
    s.status = 200;
    submit_head(s, grpc_refusal_fields(grpc, a.response.summary), false);
  } else {
    s.status = status;
    respond(s, answer_fields(a.response), a.response.body);
  }
  log(s, close, message, reason);
}

void Session::drop_body(Stream& s) {
  s.body_wanted = false;
  // Even for a closed stream: the connection's window counts these bytes until they are consumed.
  if (!s.body.empty()) nghttp2_session_consume(session_.get(), s.id, s.body.size());
  s.body.clear();
  wake_writer_.notify();
}

void Session::respond(Stream& s, const Fields& fields, std::string body) {
  s.out = std::move(body);
  s.out_pos = 0;
  s.out_done = true;
  s.bytes_out += s.out.size();
  submit_head(s, fields, !s.out.empty());
}

void Session::submit_head(Stream& s, const Fields& fields, bool with_body) {
  if (!s.response_started) drop_body(s);  // our own answer: what the client still sends goes nowhere
  if (s.closed) return;
  const std::vector<nghttp2_nv> nv = nv_of(fields);
  nghttp2_data_provider body{};
  body.source.ptr = &s;
  body.read_callback = &Session::read_response;
  nghttp2_submit_response(session_.get(), s.id, nv.data(), nv.size(), with_body ? &body : nullptr);
  wake_writer_.notify();
}

void Session::more_output(Stream& s) {
  if (s.closed) return;
  nghttp2_session_resume_data(session_.get(), s.id);  // an error only says it was not deferred
  wake_writer_.notify();
}

asio::awaitable<void> Session::forward(Stream& s, http::RequestPlan& plan) {
  s.host = plan.host;
  s.rule = plan.rule;
  const http::Head& in = s.request.head();
  // Keep-alive upstream: the session keeps the connection for its next stream.
  http::Head out = http::upstream_request(in, plan, !facts_.member.ending(), facts_.http.headers, facts_.forward);
  if (facts_.whoami) co_return co_await serve_whoami(s, out);
  if (!target_.upstream || !target_.state) {
    refuse(s, 502, Close::upstream_unreachable, "This route has no upstream.", gatehouse::Reason::upstream_unavailable);
    co_return;
  }
  if (conf::is_http2(target_.upstream->settings.protocol)) {
    const std::string* te = in.find("te");
    const bool te_trailers = te && http::has_token(*te, "trailers");  // gRPC servers require it
    co_await forward_mux(s, std::move(out), te_trailers);
    co_return;
  }
  // A kept connection is used only if it still looks open and silent (a byte there unasked would
  // be read as this request's answer). The upstream may still close it just after that look (its
  // idle timeout): a request that can be sent again (no body, idempotent) then goes once more on
  // a new connection, if no byte of answer came; any other gets a 502.
  const bool no_body = s.request_ended && s.body.empty() && out.framing != http::Framing::chunked;
  const bool replayable = no_body && idempotent(in.method);
  bool kept = take_idle_upstream(s);
  if (!kept) {  // (no co_await inside && : GCC 12 miscompiles it)
    if (!co_await open_upstream(s)) co_return;
  }
  const std::string head = http::serialize_request(out);
  using namespace asio::experimental::awaitable_operators;
  IdleWatch idle(s.upstream->socket.get_executor());
  bool reusable = false;
  for (;;) {
    UpstreamLink& link = s.upstream->link;
    const std::error_code unsent = co_await link.write_all(head.data(), head.size());
    if (!unsent) {
      s.idle = &idle;
      idle.start(std::chrono::duration_cast<std::chrono::milliseconds>(facts_.idle_timeout), [&s] {
        s.failure = Close::idle_timeout;
        s.cancel_upstream();
        s.body_ready.notify();
        s.room.notify();
      });
      if (no_body) {
        s.request_sent = true;  // nothing to send beside the response to await
        co_await relay_response(s, link, in.method == "HEAD", reusable);
      } else {
        co_await (send_body(s, link, out.framing) && relay_response(s, link, in.method == "HEAD", reusable));
      }
      idle.stop();
      s.idle = nullptr;
    }
    const bool unanswered = unsent || (s.failure == Close::upstream_error && !s.upstream_spoke);
    // Not while Gatehouse is ending the connection (a drain, a revoked client): nothing new goes
    // upstream then.
    if (kept && replayable && unanswered && !s.closed && !facts_.member.ending()) {
      kept = false;
      s.failure.reset();
      s.failure_detail.clear();
      s.request_sent = false;
      s.upstream.reset();
      if (!co_await open_upstream(s)) co_return;
      target_.state->upstreams[target_.upstream->index].counters->replayed.add();
      continue;
    }
    if (unsent) {
      refuse(s, 502, Close::upstream_error, unsent.message(), gatehouse::Reason::ok);
      co_return;
    }
    break;
  }
  if (s.upstream) keep_upstream(s, reusable && s.request_sent && !s.failure && !s.closed);
  if (s.closed && !s.response_done) co_return log(s, Close::stream_reset, "reset by the client");
  if (s.failure) {
    if (!s.response_started) {
      refuse(s, 502, *s.failure, s.failure_detail, gatehouse::Reason::ok);
      co_return;
    }
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
    wake_writer_.notify();
    co_return log(s, *s.failure, s.failure_detail);
  }
  log(s, Close::done, "");
}

asio::awaitable<void> Session::send_body(Stream& s, UpstreamLink& link, http::Framing framing) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const bool chunked = framing == http::Framing::chunked;
  std::string frame;
  for (;;) {
    if (s.failure || s.closed) co_return;
    if (!s.body.empty()) {
      std::string data;
      data.swap(s.body);
      const std::size_t size = data.size();
      frame = chunked ? http::chunk_of(data) : std::move(data);
      if (auto ec = co_await link.write_all(frame.data(), frame.size())) {
        if (!s.failure && !s.closed) s.fail(Close::upstream_error, ec.message());
        co_return;
      }
      if (s.idle) s.idle->touch();
      // The client may send as much again: its window comes back only now.
      nghttp2_session_consume(session_.get(), s.id, size);
      wake_writer_.notify();
      continue;
    }
    if (s.request_ended) {
      if (!chunked) {
        s.request_sent = true;
        co_return;
      }
      std::string last = "0\r\n";
      for (const auto& t : s.request_trailers) last += t.name + ": " + t.value + "\r\n";
      last += "\r\n";
      if (auto ec = co_await link.write_all(last.data(), last.size())) {
        if (!s.failure && !s.closed) s.fail(Close::upstream_error, ec.message());
      } else {
        s.request_sent = true;
      }
      co_return;
    }
    co_await s.body_ready.wait();
  }
}

asio::awaitable<void> Session::relay_response(Stream& s, UpstreamLink& link, bool head_request, bool& reusable) {
  co_await asio::this_coro::throw_if_cancelled(false);
  http::MessageParser response(HTTP_RESPONSE, http::kResponseLimits);
  response.keep_trailers([&http = facts_.http](std::string_view name) { return http::trailer_allowed(name, http); });
  response.emit_chunk_framing(false);  // HTTP/2 frames the body itself
  response.expect_no_body(head_request);
  http::Inbox in;
  std::string body;
  for (;;) {
    while (in.available() > 0 || response.pending()) {
      std::size_t used = 0;
      body.clear();
      const auto ev = response.feed(in.next(), in.available(), used, body);
      in.pos += used;
      if (s.idle) s.idle->touch();
      if (ev == http::MessageParser::Event::error)
        co_return s.fail(Close::upstream_error, "the upstream's response is not valid HTTP: " + response.error());
      if (ev == http::MessageParser::Event::head) {
        const http::Head& h = response.head();
        if (h.status == 101) co_return s.fail(Close::upstream_error, "101 Switching Protocols on an HTTP/2 stream");
        if (h.status < 200) {  // 100 Continue, 103 Early Hints: passed on as informational heads
          if (!s.closed) {
            const Fields fields = response_fields(h);  // named: nv points into it until the submit
            const std::vector<nghttp2_nv> nv = nv_of(fields);
            nghttp2_submit_headers(session_.get(), NGHTTP2_FLAG_NONE, s.id, nullptr, nv.data(), nv.size(), nullptr);
            wake_writer_.notify();
          }
          continue;
        }
        s.status = h.status;
        s.response_started = true;
        const bool no_body = h.framing == http::Framing::none || head_request;
        if (no_body) s.out_done = true;
        submit_head(s, response_fields(h), !no_body);
        continue;
      }
      if (!body.empty()) {
        s.out += body;
        s.bytes_out += body.size();
      }
      if (ev == http::MessageParser::Event::body_done && s.status >= 200) {
        s.trailers_out = trailer_fields(response.kept_trailers());
        s.out_done = true;
        s.response_done = true;
        // Nothing beyond the response, and the upstream keeps the connection: the next stream's,
        // given back before the client sees this response and sends its next request.
        reusable = response.keep_alive() && in.available() == 0;
        if (reusable && s.request_sent) keep_upstream(s, true);
        more_output(s);
        co_return;
      }
      if (!body.empty()) more_output(s);
    }
    // The client's window is full: read no more from the upstream until it takes some.
    while (s.buffered() > kMaxBuffered && !s.closed && !s.failure) co_await s.room.wait();
    if (s.closed || s.failure) co_return;
    auto ec = co_await http::read_into(link, in);
    if (!ec) s.upstream_spoke = true;
    if (ec == asio::error::eof) {
      body.clear();
      const auto ev = response.finish(body);
      s.out += body;
      s.bytes_out += body.size();
      if (ev == http::MessageParser::Event::body_done && s.status >= 200) {
        s.out_done = true;
        s.response_done = true;
        more_output(s);
        co_return;
      }
      co_return s.fail(Close::upstream_error,
                       s.response_started ? "closed in the middle of the response" : "closed without answering");
    }
    if (ec) {
      if (!s.failure && !s.closed) s.fail(Close::upstream_error, ec.message());
      co_return;
    }
  }
}

bool Session::take_idle_upstream(Stream& s) {
  while (!idle_upstreams_.empty()) {
    std::unique_ptr<UpstreamConn> kept = std::move(idle_upstreams_.back());
    idle_upstreams_.pop_back();
    if (!http::stale(kept->socket)) {  // closed or sent something unasked while idle: not reused
      s.upstream = std::move(kept);
      s.endpoint = s.upstream->endpoint;
      return true;
    }
  }
  return false;
}

asio::awaitable<bool> Session::open_upstream(Stream& s) {
  const asio::any_io_executor ex = client_.socket().get_executor();
  s.upstream = std::make_unique<UpstreamConn>(facts_.worker, ex);
  auto opened = co_await s.upstream->link.open(*target_.upstream, target_.state->upstreams[target_.upstream->index],
                                               target_.preface);
  if (s.closed) {
    log(s, Close::stream_reset, "reset by the client before the upstream answered");
    co_return false;
  }
  if (!opened.ok) {
    refuse(s, 502, opened.close, opened.detail, gatehouse::Reason::upstream_unavailable);
    co_return false;
  }
  s.endpoint = s.upstream->endpoint = opened.endpoint;
  co_return true;
}

void Session::keep_upstream(Stream& s, bool reusable) {
  constexpr std::size_t kMaxIdleUpstreams = 16;  // a browser's burst of streams, kept warm
  if (reusable && s.upstream && idle_upstreams_.size() < kMaxIdleUpstreams && !goaway_)
    idle_upstreams_.push_back(std::move(s.upstream));
  s.upstream.reset();
}

asio::awaitable<void> Session::serve_whoami(Stream& s, const http::Head& out) {
  // Like an upstream, it reads (and drops) the body before it answers.
  while (!s.request_ended && !s.closed) {
    drop_body(s);
    co_await s.body_ready.wait();
  }
  if (s.closed) co_return log(s, Close::stream_reset, "reset by the client");
  s.endpoint = *facts_.whoami;
  const ConnectionRecord& c = facts_.connection;
  const http::Response r = http::whoami_response(out, *facts_.forward.identity, c.tls_version, c.cipher,
                                                 http::wants_json(s.request.head().find("accept")));
  s.status = r.status;
  respond(s, answer_fields(r), r.body);
  log(s, Close::done, "");
}

void Session::log(const Stream& s, Close close, const std::string& detail, gatehouse::Reason reason) {
  ++facts_.requests_logged;
  if (facts_.worker.access_log.enabled()) {  // the record copies a dozen strings: not for nothing
    ConnectionRecord r = http::request_record(
        facts_.connection, {s.request.head(), s.host, s.rule, s.endpoint, s.status, facts_.requests_logged, s.bytes_in,
                            s.bytes_out, s.started, close, reason, detail});
    r.http_stream = s.id;
    r.grpc_status = s.grpc_status;
    facts_.worker.access_log.write(r);
  }
  facts_.counters.http_requests[1].add();
  if (close == Close::stream_reset)
    facts_.counters.h2_streams_reset[static_cast<std::size_t>(metrics::H2ResetBy::client)].add();
  if (s.grpc_status >= 0)
    facts_.counters.grpc_calls[s.grpc_status <= 16 ? static_cast<std::size_t>(s.grpc_status) : 2].add();
}

}  // namespace gatehouse::proxy::h2
