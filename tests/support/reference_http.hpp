// A raw recording upstream built on the strict reference parser (reference_parser.hpp): every
// byte it receives is kept, each request it parses is answered 200 (or 101 for an upgrade, then
// an echo tunnel).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/reference_parser.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {

// A raw upstream that records the bytes of each connection and answers what it parses.
class RecordingUpstream {
 public:
  struct Connection {
    std::string bytes;                 // everything received
    std::vector<RefRequest> requests;  // parsed, in order (upgrade requests included)
    std::string leftover;              // bytes not yet a whole request when the peer closed
    std::string error;                 // why the reference parser refused the stream
    bool open = true;
  };

  RecordingUpstream();
  ~RecordingUpstream();
  std::string endpoint() const { return server_->endpoint(); }
  std::vector<Connection> connections() const;
  void clear();  // forgets the closed connections
  // Waits (bounded) until no connection is open; false if one still is.
  bool wait_all_closed(int timeout_ms = 10000) const;

 private:
  struct State {
    mutable std::mutex mutex;
    mutable std::condition_variable cv;
    std::vector<std::shared_ptr<Connection>> connections;
  };
  std::shared_ptr<State> state_;
  std::unique_ptr<TestUpstream> server_;
};

}  // namespace gatehouse::test
