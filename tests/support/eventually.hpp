// Waiting for what really happens asynchronously (a counter in /metrics, a line in a log file,
// a process accepting): polls `condition` with short, growing pauses until it holds or `timeout`
// passes. Returns whether it held, so that the caller says what it waited for:
//   ASSERT_TRUE(eventually([&] { return proxy.totals().handshakes_ok >= 3; })) << "no handshakes";
// Never a fixed sleep: the wait ends as soon as the condition holds.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace gatehouse::test {

template <typename Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace gatehouse::test
