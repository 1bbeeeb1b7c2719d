// The part of an Exchange (exchange.hpp, which includes this file at its end) that carries an
// HTTP/1.1 client's request to an HTTP/2 upstream (protocol "h2c" or "h2"): the rebuilt head as
// HTTP/2 fields on a stream of the worker's shared connection (proxy/h2/upstream_mux.hpp), the
// body as the client sends it (read on only while the upstream takes it), and the response back
// as HTTP/1.1: Content-Length when the upstream gave one, chunked otherwise (with the allowed
// trailers), or until close for an HTTP/1.0 client. The stream is reset (CANCEL) if the client
// goes; an upstream's reset is a 502 before the response, and a cut connection after it.
#pragma once

#include "proxy/h2/upstream_mux.hpp"
#include "proxy/http/reason_phrase.hpp"

namespace gatehouse::proxy::http {

template <typename Client, typename Upstream>
asio::awaitable<After> Exchange<Client, Upstream>::forward_http2(const h2::MuxTarget& target, Head out,
                                                                 bool keep_alive) {
  using namespace asio::experimental::awaitable_operators;
  const Head& in = s_.request.head();
  h2::MuxAcquired got = co_await h2::acquire(target);
  if (!got.connection) {
    s_.facts.worker.counters.refused[static_cast<std::size_t>(Reason::upstream_unavailable)].add();
    co_await send(bad_gateway(in, "upstream_unavailable", "The service behind this address is not answering."), true);
    log(got.failure.close, got.failure.detail, Reason::upstream_unavailable);
    co_return After::end(got.failure.close);
  }
  s_.endpoint = got.connection->endpoint();
  const auto ex = s_.client.socket().get_executor();
  h2::Event response_side(ex), request_side(ex);
  h2::MuxCall call(response_side, request_side);
  call.on_body_sent = [&request_side](std::size_t) { request_side.notify(); };
  const std::string* te = in.find("te");
  const bool te_trailers = te && has_token(*te, "trailers");
  const bool over_tls = target.upstream.tls != nullptr;
  const Framing framing = out.framing;  // `out` is moved into the fields
  if (!call.start(got.connection, h2::upstream_request_fields(std::move(out), te_trailers, over_tls),
                  framing != Framing::none)) {
    co_await send(bad_gateway(in, "upstream_error", "The service behind this address failed to answer."), true);
    log(Close::upstream_error, call.failure);
    co_return After::end(Close::upstream_error);
  }
  if (framing == Framing::none) request_done_ = true;
  // The body goes up as DATA, its trailers as HTTP/2 trailers: no chunk framing in between.
  s_.request.emit_chunk_framing(false);
  const std::string* expect = in.find("expect");
  if (expect && has_token(*expect, "100-continue") && !request_done_ &&
      !co_await to_client("HTTP/1.1 100 Continue\r\n\r\n")) {  // the upstream's own 100 is not passed on
    log(failure_->close, failure_->detail);
    co_return After::end(failure_->close);
  }
  IdleWatch idle(ex);
  idle_ = &idle;
  idle.start(s_.facts.idle_timeout, [this, &response_side, &request_side] {
    fail(Close::idle_timeout);
    response_side.notify();
    request_side.notify();
  });
  co_await (send_body_http2(call, request_side) && relay_http2(call, response_side));
  idle.stop();
  idle_ = nullptr;
  s_.request.emit_chunk_framing(true);  // the next request may go to an HTTP/1.1 hop
  if (failure_) {
    if (!response_started_)
      co_await send(bad_gateway(in, "upstream_error", "The service behind this address failed to answer."), true);
    log(failure_->close, failure_->detail);
    co_return After::end(failure_->close);
  }
  log(Close::done);
  if (!request_done_ || close_client_ || !keep_alive) {
    co_await s_.client.close_send();
    co_return After::end(Close::done);
  }
  co_return After::next();
}

template <typename Client, typename Upstream>
asio::awaitable<void> Exchange<Client, Upstream>::send_body_http2(h2::MuxCall& call, h2::Event& request_side) {
  co_await asio::this_coro::throw_if_cancelled(false);
  constexpr std::size_t kMaxPending = 256 * 1024;  // read from the client no faster than the upstream takes
  std::string out;
  while (!request_done_) {
    while ((s_.client_in.available() > 0 || s_.request.pending()) && !request_done_) {
      std::size_t used = 0;
      out.clear();
      auto ev = s_.request.feed(s_.client_in.next(), s_.client_in.available(), used, out);
      s_.client_in.pos += used;
      if (ev == MessageParser::Event::error) co_return fail(Close::client_error, "bad request body: " + s_.request.error());
      if (!out.empty()) {
        call.send_body(out);
        bytes_in_ += out.size();
        s_.facts.counters.bytes_client_to_upstream.add(out.size());
      }
      if (idle_) idle_->touch();
      if (ev == MessageParser::Event::body_done) {
        request_done_ = true;
        call.end_body(h2::trailer_fields(s_.request.kept_trailers()));
      }
    }
    while (call.body_pending() > kMaxPending && !call.finished() && !failure_) co_await request_side.wait();
    if (request_done_ || response_done_ || failure_ || call.finished()) co_return;
    auto ec = co_await read_into(s_.client, s_.client_in);
    if (ec && response_done_) co_return;  // cancelled: the upstream already answered
    if (ec == asio::error::eof) co_return fail(Close::client_closed, "the request body was cut short");
    if (ec) co_return fail_on(ec, Close::client_error);
  }
}

template <typename Client, typename Upstream>
asio::awaitable<void> Exchange<Client, Upstream>::relay_http2(h2::MuxCall& call, h2::Event& response_side) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const bool head_request = s_.request.head().method == "HEAD";
  bool chunked = false, no_body = false;
  while (!failure_) {
    if (!response_started_ && !call.head.empty()) {
      Head h;
      h.status = call.status;
      h.reason = std::string(reason_phrase(call.status));
      for (const auto& f : call.head)
        if (!f.name.starts_with(':')) h.headers.push_back(f);
      const std::string* length = h.find("content-length");
      no_body = head_request || h.status == 204 || h.status == 304;
      if (length) {
        h.framing = Framing::content_length;
        h.has_content_length = true;
        h.content_length = std::strtoull(length->c_str(), nullptr, 10);  // nghttp2 checked it is a number
      } else if (!no_body) {
        h.framing = s_.request.head().minor == 0 ? Framing::until_close : Framing::chunked;
      }
      chunked = h.framing == Framing::chunked;
      status_ = h.status;
      response_started_ = true;
      close_client_ = h.framing == Framing::until_close || s_.facts.member.ending();
      if (!co_await to_client(serialize_response(h, s_.request.head().minor, close_client_, false))) co_return;
    }
    if (response_started_ && !call.data.empty()) {
      std::string bytes;
      bytes.swap(call.data);
      call.take(bytes.size());  // the upstream may send as much again on this stream
      if (chunked) bytes = chunk_of(bytes);  // (not inside co_await's argument: GCC 12 miscompiles that)
      if (!no_body && !co_await to_client(bytes)) co_return;
      if (idle_) idle_->touch();
    }
    if (response_started_ && call.ended && call.data.empty()) {
      if (chunked) {
        std::string last = "0\r\n";
        for (const auto& t : call.trailers)
          if (trailer_allowed(t.name, s_.facts.http)) last += t.name + ": " + t.value + "\r\n";
        if (!co_await to_client(last + "\r\n")) co_return;
      }
      co_return finish_response();
    }
    if (call.ended && !response_started_) co_return fail(Close::upstream_error, "ended the stream without a response");
    if (call.finished() && !call.ended) {
      // Before the response: a 502. After it started: the client's connection is cut, so the
      // response never looks complete.
      co_return fail(Close::upstream_error,
                     call.reset ? std::string("the upstream reset the stream (") + nghttp2_http2_strerror(*call.reset) + ")"
                                : call.failure);
    }
    co_await response_side.wait();
  }
}

}  // namespace gatehouse::proxy::http
