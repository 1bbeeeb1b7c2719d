// One request's exchange, from a checked head to the end of its response: our own answer, the
// built-in whoami, or the upstream's (rebuilt head forwarded, body re-framed, response relayed,
// an upgrade tunnelled), and that request's access-log line. An Exchange is made fresh for each
// request, so nothing of one request's state can leak into the next.
//
// Templated on the client stream and the upstream, for tests/support/test_stream.hpp; the real
// ones are tls::Stream and http_session.cpp's link to the route's upstream. Streams offer
// tls::Stream's operations (read_ready, wait_readable, write_all, close_send, socket() with
// cancel(ec) and get_executor()). The upstream offers is_open(), stale(), close(), open() ->
// UpstreamLink::Opened, stream(), and tunnel(client, idle, counters) -> SpliceResult.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "common/deadline.hpp"
#include "proxy/access_log.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/h2/upstream_mux.hpp"
#include "proxy/http/exchange_parts.hpp"
#include "proxy/http/request_checks.hpp"
#include "proxy/http/request_record.hpp"
#include "proxy/http/whoami_answer.hpp"

namespace gatehouse::proxy::http {

template <typename Client, typename Upstream>
class Exchange {
 public:
  using Clock = std::chrono::steady_clock;
  using Reason = gatehouse::Reason;
  Exchange(Parts<Client, Upstream>& s, int number, Clock::time_point started)
      : s_(s), number_(number), started_(started) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // What the checks decided: our answer, or the request goes on. After our answer the connection
  // ends, except when the checks allow more (a rule's 403) and keep-alive does too: the refused
  // request's body is then read and dropped by its framing first, so the next head is where the
  // client put it.
  asio::awaitable<After> answer(const Answer& a) {
    host_ = a.host;
    rule_ = a.rule;
    if (a.reason != Reason::ok) s_.facts.worker.counters.refused[static_cast<std::size_t>(a.reason)].add();
    if (a.reason == Reason::policy_denied && s_.facts.route) s_.facts.route->requests_denied.add();
    const bool keep = !a.close_connection && s_.request.keep_alive() && !s_.facts.member.ending();
    if (keep && !co_await drop_body()) {
      log(failure_->close, failure_->detail, a.reason);
      co_return After::end(failure_->close);
    }
    co_await send(a.response, !keep);
    log(a.close, a.detail, a.reason);
    co_return keep && !failure_ ? After::next() : After::end(a.ends);
  }

  asio::awaitable<After> forward(RequestPlan&& plan) {
    plan_ = std::move(plan);
    host_ = plan_.host;
    rule_ = plan_.rule;
    const Head& in = s_.request.head();
    const bool keep_alive = s_.request.keep_alive() && !s_.facts.member.ending();
    Head out = upstream_request(in, plan_, keep_alive, s_.facts.http.headers, s_.facts.forward);
    if (s_.facts.whoami) {
      s_.endpoint = *s_.facts.whoami;
      co_return co_await serve_whoami(out, keep_alive);
    }
    Upstream& up = s_.upstream;
    if constexpr (requires { up.http2(); }) {  // the real upstream (tests' memory upstream speaks HTTP/1.1)
      if (const auto target = up.http2()) co_return co_await forward_http2(*target, std::move(out), keep_alive);
    }
    if (up.is_open() && up.stale()) up.close();
    if (!up.is_open()) {
      s_.response.reset();
      s_.upstream_in = {};
      auto opened = co_await up.open();
      if (!opened.ok) {
        s_.facts.worker.counters.refused[static_cast<std::size_t>(Reason::upstream_unavailable)].add();
        co_await send(bad_gateway(in, "upstream_unavailable", "The service behind this address is not answering."),
                      true);
        log(opened.close, opened.detail, Reason::upstream_unavailable);
        co_return After::end(opened.close);
      }
      s_.endpoint = opened.endpoint;
    }
    s_.response.expect_no_body(in.method == "HEAD");
    std::string head = serialize_request(out);
    if (auto ec = co_await up.stream().write_all(head.data(), head.size())) {
      up.close();
      co_await send(bad_gateway(in, "upstream_unavailable", "The service behind this address closed the connection."),
                    true);
      log(Close::upstream_error, ec.message());
      co_return After::end(Close::upstream_error);
    }
    co_return co_await relay(keep_alive);
  }

 private:
  // To an HTTP/2 upstream (exchange_http2.hpp).
  asio::awaitable<After> forward_http2(const h2::MuxTarget& target, Head out, bool keep_alive);
  asio::awaitable<void> send_body_http2(h2::MuxCall& call, h2::Event& request_side);
  asio::awaitable<void> relay_http2(h2::MuxCall& call, h2::Event& response_side);

  // The request body upstream and the response back, at once (an upstream may answer early).
  asio::awaitable<After> relay(bool keep_alive) {
    using namespace asio::experimental::awaitable_operators;
    upgrade_asked_ = !plan_.upgrade.empty();
    IdleWatch idle(s_.client.socket().get_executor());
    idle_ = &idle;
    idle.start(s_.facts.idle_timeout, [this] { fail(Close::idle_timeout); });
    co_await (forward_request_body() && relay_response());
    idle.stop();
    idle_ = nullptr;
    if (failure_) {
      if (failure_->close == Close::upstream_error && !response_started_ && !upgraded_)
        co_await send(
            bad_gateway(s_.request.head(), "upstream_error", "The service behind this address failed to answer."),
            true);
      log(failure_->close, failure_->detail);
      co_return After::end(failure_->close);
    }
    if (upgraded_) co_return After::end(co_await tunnel());
    log(Close::done);
    // An answer before the whole request arrived leaves us unable to find the next request.
    if (!request_done_ || close_client_ || !keep_alive) {
      co_await s_.client.close_send();
      co_return After::end(Close::done);
    }
    if (!s_.response.keep_alive() || upstream_eof_ || s_.upstream_in.available() > 0) s_.upstream.close();
    if (upgrade_asked_) s_.request.reset();  // the parser stopped at that head
    co_return After::next();
  }

  // The first failure ends the exchange: both sides' pending operations are cancelled.
  void fail(Close close, std::string detail = "") {
    if (failure_) return;
    failure_ = Failure{close, std::move(detail)};
    cancel_both();
  }

  void cancel_both() {
    asio::error_code ignored;
    s_.client.socket().cancel(ignored);
    if (s_.upstream.is_open()) s_.upstream.stream().socket().cancel(ignored);
  }

  // An operation on `side`'s stream failed with `ec`. operation_aborted: our own fail()
  // cancelled it (failure_ says why), or the connection was cancelled (its member says why: the
  // drain deadline).
  void fail_on(std::error_code ec, Close side) {
    if (ec != asio::error::operation_aborted) return fail(side, ec.message());
    if (!failure_) fail(s_.facts.member.ending().value_or(Close::terminated));
  }

  // Also a side of `&&` in relay(), a coroutine of its own: after a cancellation its operations
  // return operation_aborted instead of throwing.
  asio::awaitable<void> forward_request_body() {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::string out;
    for (;;) {
      while ((s_.client_in.available() > 0 || s_.request.pending()) && !request_done_) {
        std::size_t used = 0;
        out.clear();
        auto ev = s_.request.feed(s_.client_in.next(), s_.client_in.available(), used, out);
        s_.client_in.pos += used;
        if (ev == MessageParser::Event::error)
          co_return fail(Close::client_error, "bad request body: " + s_.request.error());
        if (!out.empty()) {
          if (!discard_body_) {
            if (auto ec = co_await s_.upstream.stream().write_all(out.data(), out.size()))
              co_return fail(Close::upstream_error, ec.message());
          }
          bytes_in_ += out.size();
          s_.facts.counters.bytes_client_to_upstream.add(out.size());
        }
        if (idle_) idle_->touch();
        if (ev == MessageParser::Event::body_done) request_done_ = true;
      }
      if (request_done_ || response_done_ || failure_) co_return;
      auto ec = co_await read_into(s_.client, s_.client_in);
      if (ec && response_done_) co_return;  // cancelled: the upstream already answered
      if (ec == asio::error::eof) co_return fail(Close::client_closed, "the request body was cut short");
      if (ec) co_return fail_on(ec, Close::client_error);
    }
  }

  asio::awaitable<void> relay_response() {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::string out;
    MessageParser& response = s_.response;
    Inbox& in = s_.upstream_in;
    for (;;) {
      while (in.available() > 0 || response.pending()) {
        std::size_t used = 0;
        out.clear();
        auto ev = response.feed(in.next(), in.available(), used, out);
        in.pos += used;
        if (idle_) idle_->touch();
        if (ev == MessageParser::Event::error)
          co_return fail(Close::upstream_error, "the upstream's response is not valid HTTP: " + response.error());
        if (ev == MessageParser::Event::head) {
          if (!co_await send_response_head()) co_return;
          continue;  // even after 101: the parser still owes the head's last byte
        }
        if (!out.empty() && !co_await to_client(out)) co_return;
        if (ev == MessageParser::Event::body_done && (status_ >= 200 || upgraded_)) co_return finish_response();
      }
      // The body may have failed before this read was started: fail()'s cancel missed it, and the
      // upstream, still owed the rest of the body, would never answer (a hang until idle_timeout).
      if (failure_) co_return;
      auto ec = co_await read_into(s_.upstream.stream(), in);
      if (ec == asio::error::eof) {
        out.clear();
        auto ev = response.finish(out);
        if (!out.empty() && !co_await to_client(out)) co_return;
        upstream_eof_ = true;
        if (ev == MessageParser::Event::body_done && status_ >= 200) co_return finish_response();
        co_return fail(Close::upstream_error,
                       response_started_ ? "closed in the middle of the response" : "closed without answering");
      }
      if (ec) co_return fail_on(ec, Close::upstream_error);
    }
  }

  void finish_response() {
    response_done_ = true;
    asio::error_code ignored;
    if (!request_done_) s_.client.socket().cancel(ignored);  // stop waiting for the rest of the body
  }

  asio::awaitable<bool> send_response_head() {
    const Head& h = s_.response.head();
    const int client_minor = s_.request.head().minor;
    if (h.status == 101) {
      if (!upgrade_asked_) {
        fail(Close::upstream_error, "101 Switching Protocols to a request that did not ask for it");
        co_return false;
      }
      if (!upgrade_accepted(h, plan_.upgrade)) {
        fail(Close::upstream_error, "101 Switching Protocols to a protocol the request did not ask for");
        co_return false;
      }
      upgraded_ = true;
      status_ = 101;
      co_return co_await to_client(serialize_response(h, client_minor, false, true));
    }
    if (h.status >= 200) {
      status_ = h.status;
      response_started_ = true;
      // An HTTP/1.0 client knows no chunks: it gets the bare body, ended by closing the connection.
      const bool dechunk = h.framing == Framing::chunked && client_minor == 0;
      s_.response.emit_chunk_framing(!dechunk);
      close_client_ = h.framing == Framing::until_close || dechunk || s_.facts.member.ending();
      if (dechunk) {
        Head plain = h;
        plain.framing = Framing::until_close;
        co_return co_await to_client(serialize_response(plain, 0, true, false));
      }
    }
    co_return co_await to_client(serialize_response(h, client_minor, close_client_, false));
  }

  asio::awaitable<bool> to_client(const std::string& data) {
    if (auto ec = co_await s_.client.write_all(data.data(), data.size())) {
      fail_on(ec, Close::client_error);
      co_return false;
    }
    bytes_out_ += data.size();
    s_.facts.counters.bytes_upstream_to_client.add(data.size());
    co_return true;
  }

  // After 101: what each side sent beyond the heads goes first, then bytes both ways.
  asio::awaitable<Close> tunnel() {
    s_.facts.member.enter_tunnel();  // a reload's verdict or max_connection_age no longer waits for a request
    std::string from_client(s_.client_in.next(), s_.client_in.available());
    std::string from_upstream(s_.upstream_in.next(), s_.upstream_in.available());
    s_.client_in = {};
    s_.upstream_in = {};
    if (!from_client.empty() && co_await s_.upstream.stream().write_all(from_client.data(), from_client.size()))
      co_return Close::upstream_error;
    if (!from_upstream.empty() && !co_await to_client(from_upstream)) co_return Close::client_error;
    auto spliced = co_await s_.upstream.tunnel(s_.client, s_.facts.idle_timeout, s_.facts.counters);
    bytes_in_ += spliced.client_to_upstream + from_client.size();
    bytes_out_ += spliced.upstream_to_client;
    if (spliced.close == Close::terminated) {  // cut by Gatehouse: the member says why
      const ConnectionMember& m = s_.facts.member;
      const Close why = m.ending().value_or(Close::terminated);
      log(why, m.ending_detail(), m.ending_reason());
      co_return why;
    }
    log(spliced.close, spliced.detail);
    co_return spliced.close;
  }

  // Reads the request's body to its end and drops it, within idle_timeout; false: failure_ says why.
  asio::awaitable<bool> drop_body() {
    discard_body_ = true;
    IdleWatch idle(s_.client.socket().get_executor());
    idle_ = &idle;
    idle.start(s_.facts.idle_timeout, [this] { fail(Close::idle_timeout); });
    co_await forward_request_body();
    idle.stop();
    idle_ = nullptr;
    co_return !failure_;
  }

  // The built-in whoami reads the body (and drops it) before it answers, as an upstream would.
  asio::awaitable<After> serve_whoami(const Head& out, bool keep_alive) {
    const std::string* expect = s_.request.head().find("expect");
    if (expect && has_token(*expect, "100-continue")) co_await to_client("HTTP/1.1 100 Continue\r\n\r\n");
    if (!co_await drop_body()) {
      log(failure_->close, failure_->detail);
      co_return After::end(failure_->close);
    }
    const bool json = wants_json(s_.request.head().find("accept"));
    const ConnectionRecord& c = s_.facts.connection;
    co_await send(whoami_response(out, *s_.facts.forward.identity, c.tls_version, c.cipher, json), !keep_alive);
    log(Close::done);
    co_return keep_alive ? After::next() : After::end(Close::done);
  }

  asio::awaitable<void> send(const Response& r, bool close) {
    status_ = r.status;
    std::string text = serialize(r, close);
    if (co_await to_client(text) && close) co_await s_.client.close_send();
  }

  // This request's access-log line; `detail` (plain words) replaces the connection's when given.
  void log(Close close, const std::string& detail = "", Reason reason = Reason::ok) {
    if (s_.facts.worker.access_log.enabled())  // the record copies a dozen strings: not for nothing
      s_.facts.worker.access_log.write(request_record(
          s_.facts.connection, {s_.request.head(), host_, rule_, s_.endpoint, status_, number_, bytes_in_, bytes_out_,
                                started_, close, reason, detail}));
    ++s_.facts.requests_logged;
    s_.facts.counters.http_requests[0].add();
  }

  Parts<Client, Upstream>& s_;
  const int number_;
  const Clock::time_point started_;
  RequestPlan plan_;
  IdleWatch* idle_ = nullptr;
  struct Failure {
    Close close;         // client_*, upstream_error or idle_timeout
    std::string detail;  // plain words: the error, or what was wrong
  };
  std::optional<Failure> failure_;  // the first failure, which ends the exchange
  std::string host_;
  std::string_view rule_;  // points into the compiled policy, which outlives the connection
  int status_ = 0;
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
  bool request_done_ = false, response_done_ = false, upgraded_ = false, response_started_ = false;
  bool upstream_eof_ = false, close_client_ = false, upgrade_asked_ = false;
  bool discard_body_ = false;
};

}  // namespace gatehouse::proxy::http

#include "proxy/http/exchange_http2.hpp"  // Exchange's HTTP/2 upstream members
