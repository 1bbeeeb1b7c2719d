// An HTTP/1.1 upstream for tests, parsed with llhttp's C API directly: answers each
// request with a JSON summary of what arrived (headers, body size and SHA-256, which upstream
// connection), honours keep-alive, sends 100 Continue when asked, and echoes WebSocket frames
// after answering an Upgrade with 101.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {

struct ReceivedRequest {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t body_bytes = 0;
  std::string body_sha256;
  int connection = 0;  // 1 for the upstream's first connection

  const std::string* header(const std::string& name) const;  // case-insensitive, first match
  int count(const std::string& name) const;
};

class HttpUpstream {
 public:
  HttpUpstream();
  std::string endpoint() const { return server_->endpoint(); }
  int connections() const { return server_->accepted(); }
  std::vector<ReceivedRequest> requests() const;
  // The raw bytes the first connection started with (a PROXY header, when one was sent).
  std::string first_bytes() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<TestUpstream> server_;
};

}  // namespace gatehouse::test
