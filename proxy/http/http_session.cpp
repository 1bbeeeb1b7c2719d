#include "proxy/http/http_session.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <variant>

#include "proxy/deadline.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/inbox.hpp"
#include "proxy/http/rewrite.hpp"
#include "proxy/splice.hpp"
#include "proxy/upstream_link.hpp"
#include "proxy/whoami.hpp"

namespace gatehouse::proxy::http {
namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr MessageParser::Limits kResponseLimits{64 * 1024, 1000};

class Session {
 public:
  explicit Session(HttpConnection& c)
      : c_(c),
        http_(c.listener.settings.http),
        link_(c.worker, c.upstream_socket),
        request_(HTTP_REQUEST, {static_cast<std::size_t>(http_.max_head_size), static_cast<std::size_t>(http_.max_headers)}),
        response_(HTTP_RESPONSE, kResponseLimits) {
    auto keep = [this](std::string_view name) { return trailer_allowed(name, http_); };
    request_.keep_trailers(keep);
    response_.keep_trailers(keep);
  }

  asio::awaitable<std::string> run() {
    for (int n = 1;; ++n) {
      started_ = Clock::now();
      request_no_ = n;
      auto head = co_await read_request_head(n == 1);
      if (head == HeadResult::closed) co_return "client_closed";
      if (head == HeadResult::error) co_return c_.worker.terminating ? "terminated" : "client_error";
      if (head == HeadResult::idle) co_return n == 1 ? "head_timeout" : "keepalive_timeout";
      if (head == HeadResult::drained) co_return "drained";
      if (head == HeadResult::timeout) {
        co_await answer_error(408, "head_timeout", "The request head did not arrive in time.");
        co_return "head_timeout";
      }
      if (head == HeadResult::bad) {  // nothing of it went upstream; the answer says why
        RequestRefusal refused = unparsable_request(request_);
        co_await answer_error(refused.status, refused.keyword, refused.message);
        co_return refused.keyword;
      }
      std::string close = co_await exchange();
      if (!close.empty()) co_return close;
    }
  }

 private:
  enum class HeadResult { ok, closed, idle, drained, timeout, bad, error };

  asio::awaitable<HeadResult> read_request_head(bool first) {
    Deadline deadline(c_.client.socket().get_executor());
    auto cancel = [this] { c_.client.socket().cancel(); };
    bool started = false;
    deadline.arm(first ? http_.head_timeout : http_.keepalive_timeout, cancel);
    struct IdleMark {  // between requests a drain may close us
      LiveSockets& live;
      ~IdleMark() { live.idle = false; }
    } mark{c_.live};
    c_.live.idle = !first && client_in_.available() == 0;
    if ((c_.live.idle && c_.worker.draining) || (!first && c_.live.closing())) co_return HeadResult::drained;
    for (;;) {
      if (client_in_.available() > 0) {
        if (!started && !first) deadline.arm(http_.head_timeout, cancel);  // from the first byte on
        started = true;
        c_.live.idle = false;
        std::string none;
        std::size_t used = 0;
        auto ev = request_.feed(client_in_.next(), client_in_.available(), used, none);
        client_in_.pos += used;
        if (ev == MessageParser::Event::head) co_return HeadResult::ok;
        if (ev != MessageParser::Event::need_more) co_return HeadResult::bad;
        if (client_in_.available() > 0) continue;
      }
      auto ec = co_await read_into(c_.client, client_in_);
      if (deadline.fired()) co_return started ? HeadResult::timeout : HeadResult::idle;
      if (c_.live.idle && (c_.worker.draining || c_.live.closing())) co_return HeadResult::drained;
      if (ec == asio::error::eof) co_return HeadResult::closed;
      if (ec) co_return HeadResult::error;
    }
  }

  // One request: checks, then answered by us, by whoami, or by the upstream.
  asio::awaitable<std::string> exchange() {
    const Head& in = request_.head();
    host_.clear();
    bytes_in_ = bytes_out_ = 0;
    status_ = 0;
    const bool json = wants_json(in.find("accept"));
    if (c_.refusal) {
      co_await answer(refusal_response(*c_.refusal, http_.refusal_codes, json), true);
      log("refused");
      co_return "refused";
    }
    RequestDecision decision = plan_request(in, request_.upgrade(), http_);
    if (const auto* refused = std::get_if<RequestRefusal>(&decision)) {
      co_await answer_error(refused->status, refused->keyword, refused->message);
      co_return "bad_request";
    }
    plan_ = std::get<RequestPlan>(std::move(decision));
    host_ = plan_.host;
    // Domain fronting guard: the Host must be served by the route the SNI chose.
    if (c_.listener.router->select(host_) != c_.route) {
      co_await answer_error(421, "misdirected_request",
                            "This connection was opened for \"" + c_.connection.sni + "\"; a request for \"" + host_ +
                                "\" needs a connection of its own.");
      co_return "misdirected_request";
    }
    const bool upgrade = !plan_.upgrade.empty();
    const bool keep_alive = request_.keep_alive() && !c_.worker.draining;
    Head out = upstream_request(in, plan_, keep_alive, http_.headers, c_.facts);
    const UpstreamRuntime& up = *c_.listener.route_upstreams[static_cast<std::size_t>(c_.route)];
    if (up.endpoints.front().kind == Endpoint::Kind::builtin_whoami) {
      endpoint_ = up.endpoints.front().label;
      co_return co_await serve_whoami(out, json, keep_alive);
    }
    if (link_.is_open() && stale(c_.upstream_socket)) link_.close();
    if (!link_.is_open()) {
      response_.reset();
      upstream_in_ = {};
      auto opened = co_await link_.open(up, c_.state->upstreams[up.index], c_.proxy_preface);
      if (!opened.ok) {
        c_.worker.counters.refused[static_cast<std::size_t>(gatehouse::Reason::upstream_unavailable)].add();
        co_await answer_error(502, "upstream_unavailable", "The service behind this address is not answering.");
        log(std::string(close_keyword(opened.close)), gatehouse::Reason::upstream_unavailable, opened.detail);
        co_return std::string(close_keyword(opened.close));
      }
      endpoint_ = opened.endpoint;
    }
    response_.expect_no_body(in.method == "HEAD");
    std::string head = serialize_request(out);
    if (auto ec = co_await link_.write_all(head.data(), head.size())) {
      link_.close();
      co_await answer_error(502, "upstream_unavailable", "The service behind this address closed the connection.");
      log("upstream_error: " + ec.message());
      co_return "upstream_error";
    }
    co_return co_await relay(upgrade, keep_alive);
  }

  asio::awaitable<std::string> relay(bool upgrade_asked, bool keep_alive) {
    request_done_ = response_done_ = upgraded_ = response_started_ = upstream_eof_ = close_client_ = false;
    failure_.clear();
    upgrade_asked_ = upgrade_asked;
    IdleWatch idle(c_.client.socket().get_executor());
    idle_ = &idle;
    idle.start(c_.listener.settings.idle_timeout, [this] { fail("idle_timeout", false); });
    co_await (forward_request_body() && relay_response());
    idle.stop();
    idle_ = nullptr;
    if (!failure_.empty()) {
      if (upstream_failed_ && !response_started_ && !upgraded_) {
        co_await answer_error(502, "upstream_error", "The service behind this address failed to answer.");
        log(failure_.starts_with("upstream_error") ? failure_ : "upstream_error: " + failure_);
      } else {
        log(failure_);
      }
      co_return failure_;
    }
    if (upgraded_) co_return co_await tunnel();
    log("done");
    // An answer before the whole request arrived leaves us unable to find the next request.
    if (!request_done_ || close_client_ || !keep_alive) {
      co_await c_.client.close_send();
      co_return "done";
    }
    if (!response_.keep_alive() || upstream_eof_ || upstream_in_.available() > 0) link_.close();
    if (upgrade_asked_) request_.reset();  // the parser stopped at that head
    co_return "";
  }

  void fail(std::string why, bool upstream) {
    if (!failure_.empty()) return;
    failure_ = std::move(why);
    upstream_failed_ = upstream;
    asio::error_code ignored;
    c_.client.socket().cancel(ignored);
    c_.upstream_socket.cancel(ignored);
  }

  asio::awaitable<void> forward_request_body() {
    std::string out;
    for (;;) {
      while ((client_in_.available() > 0 || request_.pending()) && !request_done_) {
        std::size_t used = 0;
        out.clear();
        auto ev = request_.feed(client_in_.next(), client_in_.available(), used, out);
        client_in_.pos += used;
        if (ev == MessageParser::Event::error) co_return fail("bad request body: " + request_.error(), false);
        if (!out.empty()) {
          if (!discard_body_) {
            if (auto ec = co_await link_.write_all(out.data(), out.size()))
              co_return fail("upstream_error: " + ec.message(), true);
          }
          bytes_in_ += out.size();
          c_.worker.listener(c_.listener.index).bytes_client_to_upstream.add(out.size());
        }
        if (idle_) idle_->touch();
        if (ev == MessageParser::Event::body_done) request_done_ = true;
      }
      if (request_done_ || response_done_ || !failure_.empty()) co_return;
      auto ec = co_await read_into(c_.client, client_in_);
      if (ec && response_done_) co_return;  // cancelled: the upstream already answered
      if (ec == asio::error::eof) co_return fail("client_closed: the request body was cut short", false);
      if (ec) co_return fail(ec == asio::error::operation_aborted ? failure_ : "client_error: " + ec.message(), false);
    }
  }

  asio::awaitable<void> relay_response() {
    std::string out;
    for (;;) {
      while (upstream_in_.available() > 0 || response_.pending()) {
        std::size_t used = 0;
        out.clear();
        auto ev = response_.feed(upstream_in_.next(), upstream_in_.available(), used, out);
        upstream_in_.pos += used;
        if (idle_) idle_->touch();
        if (ev == MessageParser::Event::error)
          co_return fail("the upstream's response is not valid HTTP: " + response_.error(), true);
        if (ev == MessageParser::Event::head) {
          if (!co_await send_response_head()) co_return;
          continue;  // even after 101: the parser still owes the head's last byte
        }
        if (!out.empty() && !co_await to_client(out)) co_return;
        if (ev == MessageParser::Event::body_done && (status_ >= 200 || upgraded_)) co_return finish_response();
      }
      // The body may have failed before this read was started: fail()'s cancel missed it, and the
      // upstream, still owed the rest of the body, would never answer (a hang until idle_timeout).
      if (!failure_.empty()) co_return;
      auto ec = co_await read_into(link_, upstream_in_);
      if (ec == asio::error::eof) {
        out.clear();
        auto ev = response_.finish(out);
        if (!out.empty() && !co_await to_client(out)) co_return;
        upstream_eof_ = true;
        if (ev == MessageParser::Event::body_done && status_ >= 200) co_return finish_response();
        co_return fail(response_started_ ? "upstream_error: closed in the middle of the response"
                                         : "upstream_error: closed without answering", true);
      }
      if (ec) co_return fail(ec == asio::error::operation_aborted ? failure_ : "upstream_error: " + ec.message(), true);
    }
  }

  void finish_response() {
    response_done_ = true;
    asio::error_code ignored;
    if (!request_done_) c_.client.socket().cancel(ignored);  // stop waiting for the rest of the body
  }

  asio::awaitable<bool> send_response_head() {
    const Head& h = response_.head();
    if (h.status == 101) {
      if (!upgrade_asked_) {
        fail("upstream_error: 101 Switching Protocols to a request that did not ask for it", true);
        co_return false;
      }
      if (!upgrade_accepted(h, plan_.upgrade)) {
        fail("upstream_error: 101 Switching Protocols to a protocol the request did not ask for", true);
        co_return false;
      }
      upgraded_ = true;
      status_ = 101;
      co_return co_await to_client(serialize_response(h, request_.head().minor, false, true));
    }
    if (h.status >= 200) {
      status_ = h.status;
      response_started_ = true;
      // An HTTP/1.0 client knows no chunks: it gets the bare body, ended by closing the connection.
      const bool dechunk = h.framing == Framing::chunked && request_.head().minor == 0;
      response_.emit_chunk_framing(!dechunk);
      close_client_ = h.framing == Framing::until_close || dechunk || c_.worker.draining;
      if (dechunk) {
        Head plain = h;
        plain.framing = Framing::until_close;
        co_return co_await to_client(serialize_response(plain, 0, true, false));
      }
    }
    co_return co_await to_client(serialize_response(h, request_.head().minor, close_client_, false));
  }

  asio::awaitable<bool> to_client(const std::string& data) {
    if (auto ec = co_await c_.client.write_all(data.data(), data.size())) {
      fail(ec == asio::error::operation_aborted ? failure_ : "client_error: " + ec.message(), false);
      co_return false;
    }
    bytes_out_ += data.size();
    c_.worker.listener(c_.listener.index).bytes_upstream_to_client.add(data.size());
    co_return true;
  }

  // After 101: what each side sent beyond the heads goes first, then bytes both ways.
  asio::awaitable<std::string> tunnel() {
    c_.live.enter_tunnel();  // a reload's verdict or max_connection_age no longer waits for a request
    std::string from_client(client_in_.next(), client_in_.available());
    std::string from_upstream(upstream_in_.next(), upstream_in_.available());
    client_in_ = {};
    upstream_in_ = {};
    if (!from_client.empty() && co_await link_.write_all(from_client.data(), from_client.size())) co_return "upstream_error";
    if (!from_upstream.empty() && !co_await to_client(from_upstream)) co_return "client_error";
    auto spliced = co_await splice(c_.client, link_, c_.listener.settings.idle_timeout,
                                   c_.worker.listener(c_.listener.index),
                                   c_.worker.terminating);
    bytes_in_ += spliced.client_to_upstream + from_client.size();
    bytes_out_ += spliced.upstream_to_client;
    std::string close(close_keyword(spliced.close));
    log(spliced.detail.empty() ? close : close + ": " + spliced.detail);
    co_return close;
  }

  asio::awaitable<std::string> serve_whoami(const Head& out, bool json, bool keep_alive) {
    const std::string* expect = request_.head().find("expect");
    if (expect && has_token(*expect, "100-continue")) co_await to_client("HTTP/1.1 100 Continue\r\n\r\n");
    discard_body_ = true;
    request_done_ = response_done_ = false;
    failure_.clear();
    IdleWatch idle(c_.client.socket().get_executor());
    idle_ = &idle;
    idle.start(c_.listener.settings.idle_timeout, [this] { fail("idle_timeout", false); });
    co_await forward_request_body();
    idle.stop();
    idle_ = nullptr;
    discard_body_ = false;
    if (!failure_.empty()) {
      log(failure_);
      co_return failure_;
    }
    HeaderList received;
    for (const auto& h : out.headers) received.emplace_back(h.name, h.value);
    SSL* ssl = c_.client.ssl();
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    std::string body = whoami_http_body(*c_.facts.identity, SSL_get_version(ssl),
                                        cipher ? SSL_CIPHER_standard_name(cipher) : "", received, json);
    Response r{200, "OK", json ? "application/json" : "text/plain; charset=utf-8", body};
    co_await answer(r, !keep_alive);
    log("done");
    co_return keep_alive ? "" : "done";
  }

  asio::awaitable<void> answer_error(int status, const std::string& keyword, const std::string& message) {
    co_await answer(error_response(status, keyword, message, wants_json(request_.head().find("accept"))), true);
    if (status != 502) log(keyword, gatehouse::Reason::ok, message);  // the log says why, as the client is told
  }

  asio::awaitable<void> answer(const Response& r, bool close) {
    status_ = r.status;
    std::string text = serialize(r, close);
    if (co_await to_client(text) && close) co_await c_.client.close_send();
  }

  void log(const std::string& close, gatehouse::Reason reason = gatehouse::Reason::ok, const std::string& detail = "") {
    ConnectionRecord r = c_.connection;
    const Head& in = request_.head();
    r.http_method = in.method.empty() ? "-" : in.method;
    r.http_target = in.target;
    r.http_host = host_;
    r.http_status = status_;
    r.http_request = request_no_;
    r.endpoint = endpoint_;
    r.bytes_client_to_upstream = bytes_in_;
    r.bytes_upstream_to_client = bytes_out_;
    r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    r.close = close;
    if (reason != gatehouse::Reason::ok) r.reason = reason;
    if (!detail.empty()) r.detail = detail;
    c_.worker.access_log.write(r);
    ++c_.requests_logged;
  }

  HttpConnection& c_;
  const conf::HttpSettings& http_;
  UpstreamLink link_;
  MessageParser request_;
  MessageParser response_;
  Inbox client_in_, upstream_in_;
  IdleWatch* idle_ = nullptr;
  Clock::time_point started_;
  int request_no_ = 0;
  int status_ = 0;
  RequestPlan plan_;
  std::string host_, endpoint_, failure_;
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
  bool request_done_ = false, response_done_ = false, upgraded_ = false, response_started_ = false;
  bool upstream_eof_ = false, close_client_ = false, upstream_failed_ = false, upgrade_asked_ = false;
  bool discard_body_ = false;
};

}  // namespace

asio::awaitable<std::string> serve_http(HttpConnection& connection) {
  Session session(connection);
  co_return co_await session.run();
}

}  // namespace gatehouse::proxy::http
