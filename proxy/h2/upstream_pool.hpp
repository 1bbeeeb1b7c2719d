// A worker's HTTP/2 connections to its h2c and h2 upstreams, shared by the streams of its
// clients: a stream takes a connection with room, waits for one being opened, or opens one.
// A reload's new generation gets new connections; the old ones finish their streams and close.
// Idle connections close after kMuxIdle. One worker thread uses it: nothing is locked.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::proxy {
struct UpstreamRuntime;
struct UpstreamState;
struct WorkerContext;
}  // namespace gatehouse::proxy

namespace gatehouse::proxy::h2 {

class MuxConnection;
struct MuxAcquired;  // upstream_mux.hpp

// How long a connection with no stream stays open for the next (nginx's upstream keepalive_timeout).
inline constexpr std::chrono::seconds kMuxIdle{60};

class MuxPool {
 public:
  MuxPool() = default;
  MuxPool(const MuxPool&) = delete;
  MuxPool& operator=(const MuxPool&) = delete;
  ~MuxPool();

  // A connection to `up` with room for one more stream. `preface` (a PROXY v2 header naming the
  // client `owner`, or empty) starts each new connection.
  asio::awaitable<MuxAcquired> acquire(WorkerContext& worker, std::uint64_t generation, const UpstreamRuntime& up,
                                       const UpstreamState& state, const std::string& preface, std::uint64_t owner);
  // After a reload: older generations' connections take no new stream.
  void retire_before(std::uint64_t generation);
  // The client `owner` is gone: its own connections take no new stream.
  void release_owner(std::uint64_t owner);
  // At the end of a drain: everything closes now.
  void close_all();

 private:
  friend class MuxConnection;
  void forget(const MuxConnection* connection);  // it closed

  std::vector<std::shared_ptr<MuxConnection>> connections_;
};

}  // namespace gatehouse::proxy::h2
