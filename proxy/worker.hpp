// One thread, one io_context, one SO_REUSEPORT acceptor per listener. A connection never
// leaves the worker that accepted it, so nothing on its path is shared or locked.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/connection_group.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy {

// The little that all workers share: the connection cap.
class ConnectionSlots {
 public:
  explicit ConnectionSlots(std::int64_t max) : max_(max) {}
  // Each worker's way to be woken when a slot frees while it waits at the cap (a post to its
  // io_context). Registered before any worker runs.
  void add_waker(std::function<void()> wake) { wakers_.push_back(std::move(wake)); }
  // Around a wait at the cap: register first, then check, then wait, so no release is missed.
  void begin_wait() { waiting_.fetch_add(1, std::memory_order_seq_cst); }
  void end_wait() { waiting_.fetch_sub(1, std::memory_order_relaxed); }
  bool full() const { return used_.load(std::memory_order_relaxed) >= max_; }
  bool try_take() {
    if (used_.fetch_add(1, std::memory_order_relaxed) < max_) return true;
    release();
    return false;
  }
  void release();

 private:
  const std::int64_t max_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<int> waiting_{0};  // accept loops waiting at the cap, on any worker
  std::vector<std::function<void()>> wakers_;
};

// An io_context whose pending work (suspended connection frames) can be destroyed on demand.
class WorkerIo : public asio::io_context {
 public:
  using asio::execution_context::shutdown;
  using asio::io_context::io_context;
};

class Worker {
 public:
  Worker(size_t index, ConnectionSlots& slots, AccessLog access_log);
  // Destroys what is still pending on the io_context first, while the state it refers to
  // (context_, connections_) still exists: a drain that gave up (io_.stop()) leaves frames suspended.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  asio::io_context& io() { return io_; }
  void add_acceptor(size_t listener_index, asio::ip::tcp::acceptor acceptor);
  void start(std::shared_ptr<const Snapshot> snapshot);
  void adopt(std::shared_ptr<const Snapshot> snapshot);  // thread-safe: new connections use it
  // Thread-safe: the upstream monitor's new answer for an endpoint, kept in this worker's state.
  void learn_addresses(const std::string& endpoint, const Resolution& answer);
  // Thread-safe. Stops accepting, drains the connections (idle keep-alive ones end at once,
  // the rest may finish) and cancels those still open at `deadline`; the thread ends once none is left.
  void drain(std::chrono::steady_clock::time_point deadline);
  void join();
  const metrics::WorkerCounters& counters() const { return context_.counters; }
  const WorkerContext& context() const { return context_; }
  // Thread-safe: a copy of the certificates this worker saw lately, made on its own thread (the
  // table is never locked). A worker that no longer runs never answers: wait with a timeout.
  std::future<std::vector<SeenClient>> seen_clients(std::int64_t now);

 private:
  asio::awaitable<void> accept_loop(size_t slot);
  // Waits while every slot is in use (woken by a release on any worker, never by polling); with
  // `take`, also takes one. False when stopping.
  asio::awaitable<bool> wait_for_slot(bool take, asio::steady_timer& wait);
  void wake_slot_waiters();
  void spawn_connection(size_t listener_index, asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& client);
  asio::awaitable<void> drain_connections(std::chrono::steady_clock::time_point deadline);
  // True when the group emptied before `deadline`.
  asio::awaitable<bool> connections_end_by(std::chrono::steady_clock::time_point deadline);
  // After a reload: every open connection checked against the new snapshot, a batch at a time
  // so that the worker keeps serving in between.
  void revalidate_open_connections();
  void revalidate_batch();

  size_t index_;
  WorkerIo io_{1};  // first: the members after it hold its executor
  ConnectionSlots& slots_;
  WorkerContext context_;
  ConnectionGroup connections_{io_.get_executor()};  // every connection this worker serves
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::pair<size_t, asio::ip::tcp::acceptor>> acceptors_;
  std::vector<asio::steady_timer*> slot_waiters_;  // this worker's accept loops waiting at the cap
  bool accepting_ = true;
  bool revalidating_ = false;  // a sweep is under way (it picks up a newer reload by itself)
  std::thread thread_;
};

}  // namespace gatehouse::proxy
