#include "proxy/h2/upstream_pool.hpp"

#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>

#include "proxy/h2/upstream_mux.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy::h2 {

MuxPool::~MuxPool() = default;

asio::awaitable<MuxAcquired> MuxPool::acquire(WorkerContext& worker, std::uint64_t generation,
                                              const UpstreamRuntime& up, const UpstreamState& state,
                                              const std::string& preface, std::uint64_t owner) {
  const MuxKey key{generation, up.index, preface.empty() ? 0 : owner};
  for (;;) {
    std::shared_ptr<MuxConnection> opening;
    for (const auto& c : connections_) {
      if (c->key() != key) continue;
      if (c->has_room()) co_return MuxAcquired{c, {}};
      if (c->connecting() && !opening) opening = c;
    }
    if (!opening) break;
    // One connection at a time is opened per key: the streams that come meanwhile wait for it,
    // and share its failure (a dead upstream costs them one connect_timeout, not one each).
    asio::error_code ignored;
    co_await opening->settled().async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (opening->closed() && !opening->opened().ok && !opening->opened().detail.empty())
      co_return MuxAcquired{nullptr, opening->opened()};
  }
  auto connection = std::make_shared<MuxConnection>(worker, *this, key, co_await asio::this_coro::executor);
  if (generation < worker.generation) connection->close_after_use();  // a reload retired its generation
  connections_.push_back(connection);
  UpstreamLink::Opened opened = co_await connection->open(up, state, preface);
  if (!opened.ok) co_return MuxAcquired{nullptr, std::move(opened)};
  co_return MuxAcquired{std::move(connection), {}};
}

asio::awaitable<MuxAcquired> acquire(const MuxTarget& t) {
  return t.worker.h2_upstreams.acquire(t.worker, t.generation, t.upstream, t.state, t.preface, t.owner);
}

void MuxPool::retire_before(std::uint64_t generation) {
  const auto old = connections_;  // retire() may forget them
  for (const auto& c : old)
    if (c->key().generation < generation) c->retire();
}

void MuxPool::release_owner(std::uint64_t owner) {
  if (owner == 0) return;
  const auto old = connections_;
  for (const auto& c : old)
    if (c->key().owner == owner) c->retire();
}

void MuxPool::close_all() {
  const auto old = connections_;
  for (const auto& c : old) c->close("Gatehouse is stopping");
  connections_.clear();
}

void MuxPool::forget(const MuxConnection* connection) {
  std::erase_if(connections_, [connection](const auto& c) { return c.get() == connection; });
}

}  // namespace gatehouse::proxy::h2
