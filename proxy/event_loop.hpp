// Runs an io_context on a thread of its own. An exception escaping io_context::run() on a bare
// std::thread is std::terminate: the whole proxy would die for one handler's bug. Handlers are
// written not to throw (error_code overloads, coroutines whose completion logs); if one throws
// anyway, the exception is logged and the loop runs on: run() may be called again after a
// handler threw, and the handler that threw is gone from the queue.
#pragma once

#include <spdlog/spdlog.h>
#include <asio/io_context.hpp>
#include <atomic>
#include <cstdint>
#include <exception>
#include <string_view>

namespace gatehouse::proxy {

// Returns when the io_context stops or runs out of work; `escaped` counts the exceptions caught.
inline void run_event_loop(asio::io_context& io, std::string_view who, std::atomic<std::uint64_t>* escaped = nullptr) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}: a handler threw ({}); the event loop goes on", who, e.what());
    } catch (...) {
      spdlog::error("{}: a handler threw an unknown exception; the event loop goes on", who);
    }
    if (escaped) escaped->fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace gatehouse::proxy
