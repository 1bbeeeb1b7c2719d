// Reads one request head from the client into the request parser, within head_timeout (from
// the first byte; keepalive_timeout before it on a kept-alive connection). Between requests the
// connection is marked idle so that a drain or a gentle close ends it at once. Templated on the
// client stream (tls::Stream, or tests/support/test_stream.hpp), at no cost to the real one.
#pragma once

#include <asio/awaitable.hpp>

#include "common/deadline.hpp"
#include "conf/settings.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/inbox.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy::http {

enum class HeadResult {
  ok,       // a head was parsed
  closed,   // the client closed before a request started
  idle,     // no request started in time
  drained,  // idle between requests while the worker drains or the connection is being closed
  timeout,  // a head started and did not finish in time (answered 408)
  bad,      // the parser refused the head (answered 431/505/501/400)
  error,    // the client's stream failed
};

// What the wait for a head depends on besides the stream.
struct HeadWait {
  WorkerContext& worker;
  LiveSockets& live;
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
  struct IdleMark {  // between requests a drain may close us
    LiveSockets& live;
    ~IdleMark() { live.idle = false; }
  } mark{w.live};
  w.live.idle = !w.first && in.available() == 0;
  if ((w.live.idle && w.worker.draining) || (!w.first && w.live.closing())) co_return HeadResult::drained;
  for (;;) {
    if (in.available() > 0) {
      if (!started && !w.first) deadline.arm(w.http.head_timeout, cancel);  // from the first byte on
      started = true;
      w.live.idle = false;
      std::string none;
      std::size_t used = 0;
      auto ev = parser.feed(in.next(), in.available(), used, none);
      in.pos += used;
      if (ev == MessageParser::Event::head) co_return HeadResult::ok;
      if (ev != MessageParser::Event::need_more) co_return HeadResult::bad;
      if (in.available() > 0) continue;
    }
    auto ec = co_await read_into(client, in);
    if (deadline.fired()) co_return started ? HeadResult::timeout : HeadResult::idle;
    if (w.live.idle && (w.worker.draining || w.live.closing())) co_return HeadResult::drained;
    if (ec == asio::error::eof) co_return HeadResult::closed;
    if (ec) co_return HeadResult::error;
  }
}

}  // namespace gatehouse::proxy::http
