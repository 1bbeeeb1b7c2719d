// Reads one request head from the client into the request parser, within head_timeout (from
// the first byte; keepalive_timeout before it on a kept-alive connection). Between requests the
// connection's member is idle, so that a drain or a gentle close cancels the wait at once; a
// connection already ending reads no further request. Templated on the
// client stream (tls::Stream, or tests/support/test_stream.hpp), at no cost to the real one.
#pragma once

#include <asio/awaitable.hpp>

#include "common/deadline.hpp"
#include "conf/settings.hpp"
#include "proxy/connection_group.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/inbox.hpp"

namespace gatehouse::proxy::http {

enum class HeadResult {
  ok,       // a head was parsed
  closed,   // the client closed before a request started
  idle,     // no request started in time
  drained,  // between requests, the connection is ending (a drain, a reload's verdict, its age)
  timeout,  // a head started and did not finish in time (answered 408)
  bad,      // the parser refused the head (answered 431/505/501/400)
  error,    // the client's stream failed
};

// What the wait for a head depends on besides the stream.
struct HeadWait {
  ConnectionMember& member;
  const conf::HttpSettings& http;
  bool first;  // the connection's first request: head_timeout from the start
};

template <typename Stream>
asio::awaitable<HeadResult> read_request_head(Stream& client, Inbox& in, MessageParser& parser, HeadWait w) {
  Deadline deadline(client.socket().get_executor());
  auto cancel = [&client] {
    asio::error_code ignored;
    client.socket().cancel(ignored);
  };
  bool started = false;
  deadline.arm(w.first ? w.http.head_timeout : w.http.keepalive_timeout, cancel);
  struct IdleMark {  // between requests a drain may end us at once
    ConnectionMember& member;
    ~IdleMark() { member.set_phase(Phase::request); }
  } mark{w.member};
  // A drain still lets the connection's first request through (answered with Connection: close).
  const auto ending = w.member.ending();
  if (ending && (!w.first || *ending != Close::drained)) co_return HeadResult::drained;
  if (!w.first && in.available() == 0) w.member.set_phase(Phase::idle);
  for (;;) {
    if (in.available() > 0) {
      const bool first_bytes = !started;
      started = true;
      w.member.set_phase(Phase::request);
      std::string none;
      std::size_t used = 0;
      auto ev = parser.feed(in.next(), in.available(), used, none);
      in.pos += used;
      if (ev == MessageParser::Event::head) co_return HeadResult::ok;
      if (ev != MessageParser::Event::need_more) co_return HeadResult::bad;
      // head_timeout from the first byte on; armed only for a head that did not come whole (a
      // timer re-armed for every request can cost a timerfd_settime each).
      if (first_bytes && !w.first) deadline.arm(w.http.head_timeout, cancel);
      if (in.available() > 0) continue;
    }
    auto ec = co_await read_into(client, in);
    if (deadline.fired()) co_return started ? HeadResult::timeout : HeadResult::idle;
    // Cancelled while idle (or the cancellation came with the bytes): nothing was in flight.
    if (w.member.phase() == Phase::idle && w.member.ending()) co_return HeadResult::drained;
    if (ec == asio::error::eof) co_return HeadResult::closed;
    if (ec) co_return HeadResult::error;
  }
}

}  // namespace gatehouse::proxy::http
