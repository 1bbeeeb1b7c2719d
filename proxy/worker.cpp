#include "proxy/worker.hpp"

#include <spdlog/spdlog.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/connection.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/revalidation.hpp"
#include "tls/verified_cache.hpp"

namespace gatehouse::proxy {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// Connections re-verified before the worker serves other events again (a full chain
// verification is tens of microseconds).
constexpr size_t kRevalidationBatch = 64;
// After the drain deadline, connections get this long to notice their cancellation.
constexpr auto kTerminateGrace = std::chrono::seconds(2);

void log_escaped(const char* what, size_t worker, const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("worker {}: {} ended with an unexpected error: {}", worker, what, ex.what());
  }
}
}  // namespace

void ConnectionSlots::release() {
  used_.fetch_sub(1, std::memory_order_seq_cst);
  // Only at the cap does anyone wait: then every worker's waiters look again.
  if (waiting_.load(std::memory_order_seq_cst) > 0)
    for (auto& wake : wakers_) wake();
}

Worker::Worker(size_t index, ConnectionSlots& slots, AccessLog access_log) : index_(index), slots_(slots) {
  context_.access_log = access_log.writer();
  context_.index = index;
  slots_.add_waker([this] { asio::post(io_, [this] { wake_slot_waiters(); }); });
}

void Worker::wake_slot_waiters() {
  for (auto* timer : slot_waiters_) timer->cancel();
}

void Worker::add_acceptor(size_t listener_index, asio::ip::tcp::acceptor acceptor) {
  acceptors_.emplace_back(listener_index, std::move(acceptor));
}

void Worker::start(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  context_.current = snapshot_.get();
  context_.bound = context_.state.bind(*snapshot_);
  context_.generation = 1;
  // Sized before the thread starts, so a scrape from another thread reads only the counters.
  context_.size_counters(snapshot_->listeners.size());
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_, accept_loop(i), [this](const std::exception_ptr& e) { log_escaped("accept loop", index_, e); });
  }
  // The cache is the thread's: this server's setting, whatever other servers in the process use.
  const auto cache_entries = static_cast<std::size_t>(snapshot_->settings.server.verified_cache);
  thread_ = std::thread([this, cache_entries] {
    tls::VerifiedCache::set_thread_capacity(cache_entries);
    run_event_loop(io_, "worker " + std::to_string(index_));
  });
}

std::future<std::vector<SeenClient>> Worker::seen_clients(std::int64_t now) {
  auto promise = std::make_shared<std::promise<std::vector<SeenClient>>>();
  auto answer = promise->get_future();
  asio::post(io_, [this, promise, now] { promise->set_value(context_.seen_clients.copy(now)); });
  return answer;
}

void Worker::adopt(std::shared_ptr<const Snapshot> snapshot) {
  // On the worker's own thread: the accept loop reads snapshot_ without a lock.
  asio::post(io_, [this, next = std::move(snapshot)]() mutable {
    snapshot_ = std::move(next);
    context_.current = snapshot_.get();
    context_.bound = context_.state.bind(*snapshot_);
    ++context_.generation;
    context_.h2_upstreams.retire_before(context_.generation);  // they finish their streams, then close
    revalidate_open_connections();
  });
}

void Worker::learn_addresses(const std::string& endpoint, const Resolution& answer) {
  asio::post(io_, [this, endpoint, answer] { context_.state.learn_addresses(endpoint, answer); });
}

void Worker::revalidate_open_connections() {
  if (revalidating_) return;
  revalidating_ = true;
  revalidate_batch();
}

void Worker::revalidate_batch() {
  // Ending a connection only emits its cancellation (the aborted operations' completions are
  // posted): no member leaves the group during the loop.
  size_t checked = 0;
  for (auto& member : connections_.members()) {
    if (member.checked_generation == context_.generation) continue;
    revalidate(context_, member);
    if (++checked == kRevalidationBatch) {
      asio::post(io_, [this] { revalidate_batch(); });
      return;
    }
  }
  revalidating_ = false;
}

asio::awaitable<bool> Worker::wait_for_slot(bool take, asio::steady_timer& wait) {
  if (take ? slots_.try_take() : !slots_.full()) co_return true;
  slots_.begin_wait();
  slot_waiters_.push_back(&wait);
  bool got = false;
  while (accepting_ && !(got = take ? slots_.try_take() : !slots_.full())) {
    wait.expires_at(asio::steady_timer::time_point::max());
    co_await wait.async_wait(use_tuple);  // cancelled by wake_slot_waiters (a release or the drain)
  }
  std::erase(slot_waiters_, &wait);
  slots_.end_wait();
  co_return got;
}

asio::awaitable<void> Worker::accept_loop(size_t slot) {
  auto& [listener_index, acceptor] = acceptors_[slot];
  auto backoff = std::chrono::milliseconds(5);
  asio::steady_timer pause(io_);
  asio::steady_timer slot_wait(io_);
  while (accepting_) {
    // At the cap, leave new connections in the kernel's backlog rather than accept them.
    if (!co_await wait_for_slot(false, slot_wait)) co_return;
    asio::ip::tcp::endpoint client;  // filled by accept() itself: no getpeername() per connection
    auto [ec, socket] = co_await acceptor.async_accept(client, use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !accepting_) co_return;
      context_.counters.accept_errors.add();
      // Out of descriptors or memory: back off (5 ms doubling to 1 s) instead of spinning.
      spdlog::warn("accept on {}: {} (retrying in {} ms)", snapshot_->listeners[listener_index].settings.name,
                   ec.message(), backoff.count());
      pause.expires_after(backoff);
      co_await pause.async_wait(use_tuple);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    backoff = std::chrono::milliseconds(5);
    // Another worker may have taken the last slot meanwhile: this one waits, unserved.
    if (!co_await wait_for_slot(true, slot_wait)) co_return;
    spawn_connection(listener_index, std::move(socket), client);
  }
}

void Worker::spawn_connection(size_t listener_index, asio::ip::tcp::socket socket,
                              const asio::ip::tcp::endpoint& client) {
  const ListenerRuntime& listener = snapshot_->listeners[listener_index];
  ConnectionMember& member = connections_.join(listener_index, context_.generation);
  // The member's signal reaches the operation the connection awaits; the handler runs after the
  // coroutine's frame is gone, so the member outlives everything that refers to it.
  asio::co_spawn(
      io_,
      serve_connection(context_, member, snapshot_, context_.bound, context_.generation, listener, std::move(socket),
                       client),
      asio::bind_cancellation_slot(member.slot(), [this, &member](const std::exception_ptr& e) {
        connections_.leave(member);
        slots_.release();  // wakes accept loops waiting at the cap, here and elsewhere
        log_escaped("connection", index_, e);
      }));
}

void Worker::drain(std::chrono::steady_clock::time_point deadline) {
  asio::post(io_, [this, deadline] {
    accepting_ = false;
    wake_slot_waiters();
    asio::error_code ignored;
    for (auto& [index, acceptor] : acceptors_) acceptor.close(ignored);
    connections_.drain();
    asio::co_spawn(io_, drain_connections(deadline),
                   [this](const std::exception_ptr& e) { log_escaped("drain", index_, e); });
  });
}

asio::awaitable<bool> Worker::connections_end_by(std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(io_, deadline);
  co_await (connections_.wait_empty() || timer.async_wait(use_tuple));
  co_return connections_.empty();
}

// Plain statements around each co_await: written as `if (co_await ...) co_return;` this
// coroutine trapped (SIGILL) on its first resumption with GCC 12.
asio::awaitable<void> Worker::drain_connections(std::chrono::steady_clock::time_point deadline) {
  bool ended = co_await connections_end_by(deadline);
  if (!ended) {
    spdlog::warn("worker {}: drain_timeout passed with {} connection(s) open: closing them", index_,
                 connections_.size());
    connections_.terminate();
    ended = co_await connections_end_by(std::chrono::steady_clock::now() + kTerminateGrace);
  }
  // Nothing uses the HTTP/2 upstream connections any more; open, they would keep the loop running.
  context_.h2_upstreams.close_all();
  if (!ended) {
    spdlog::error("worker {}: {} connection(s) still open after their cancellation: stopping", index_,
                  connections_.size());
    io_.stop();
  }
}

Worker::~Worker() {
  if (thread_.joinable()) {
    io_.stop();
    thread_.join();
  }
  io_.shutdown();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace gatehouse::proxy
