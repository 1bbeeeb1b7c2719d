// The requests of one http-mode connection, one after the other (keep-alive and pipelining):
// read a head, check it, and hand the verdict to a fresh Exchange, until either side closes.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>

#include "proxy/close_reason.hpp"
#include "proxy/http/exchange.hpp"
#include "proxy/http/exchange_parts.hpp"
#include "proxy/http/request_checks.hpp"
#include "proxy/http/request_reader.hpp"

namespace gatehouse::proxy::http {

// What to do with the head the reader left in `request` (or the part of it that came).
inline Checked decide(HeadResult head, const MessageParser& request, const ConnectionFacts& facts) {
  if (head == HeadResult::timeout) return head_timeout_answer(request.head());
  if (head == HeadResult::bad) return check_unparsable(request.head(), request.problem(), request.error());
  return check_request(request.head(), request.upgrade(), facts);
}

// Returns why the connection ended.
template <typename Client, typename Upstream>
asio::awaitable<Close> serve_requests(Client& client, Upstream& upstream, const SessionFacts& facts) {
  Parts<Client, Upstream> parts(client, upstream, facts);
  for (int n = 1;; ++n) {
    const auto started = std::chrono::steady_clock::now();
    const HeadWait wait{facts.member, facts.http, n == 1};
    const HeadResult head = co_await read_request_head(client, parts.client_in, parts.request, wait);
    switch (head) {
      case HeadResult::closed:
        co_return Close::client_closed;
      case HeadResult::error:
        co_return facts.member.ending() == Close::terminated ? Close::terminated : Close::client_error;
      case HeadResult::idle:
        co_return n == 1 ? Close::head_timeout : Close::keepalive_timeout;
      case HeadResult::drained:
        co_return Close::drained;
      case HeadResult::ok:
      case HeadResult::timeout:
      case HeadResult::bad:
        break;
    }
    Checked checked = decide(head, parts.request, facts.checks);
    Exchange<Client, Upstream> exchange(parts, n, started);
    // Two statements: GCC 12 mishandles a temporary awaitable chosen by ?: (it is destroyed twice).
    After after;
    if (auto* answer = std::get_if<Answer>(&checked))
      after = co_await exchange.answer(*answer);
    else
      after = co_await exchange.forward(std::get<RequestPlan>(std::move(checked)));
    if (!after.another) co_return after.close;
  }
}

}  // namespace gatehouse::proxy::http
