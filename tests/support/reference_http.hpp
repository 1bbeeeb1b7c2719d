// A small, strict HTTP/1.1 request parser for tests (RFC 9112 with nothing lenient): what an
// upstream receives from Gatehouse must parse here, request after request, or the test fails.
// And a raw recording upstream built on it: every byte it receives is kept, each request it
// parses is answered 200 (or 101 for an upgrade, then an echo tunnel).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// A field name the way upstream frameworks compare them: lower-case, trimmed, '_' read as '-'.
std::string normalized_name(std::string_view name);

struct RefRequest {
  std::string method, target, version;
  FieldList headers, trailers;
  std::string body;           // decoded
  std::size_t wire_body = 0;  // bytes of the message after its head (chunk framing included)
  bool chunked = false;
  bool upgrade = false;       // Upgrade + Connection: upgrade; what follows is a tunnel
  bool complete = false;

  // Values of every field whose normalized name is `normalized`.
  std::vector<std::string> all(std::string_view normalized) const;
};

enum class RefResult { complete, incomplete, invalid };

// Parses one request from `buf` at `pos` (advanced past it when complete).
RefResult ref_parse(std::string_view buf, std::size_t& pos, RefRequest& out, std::string& why);

// A raw upstream that records the bytes of each connection and answers what it parses.
class RecordingUpstream {
 public:
  struct Connection {
    std::string bytes;                  // everything received
    std::vector<RefRequest> requests;   // parsed, in order (upgrade requests included)
    std::string leftover;               // bytes not yet a whole request when the peer closed
    std::string error;                  // why the reference parser refused the stream
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
