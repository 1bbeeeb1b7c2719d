// A plain TCP upstream for tests on 127.0.0.1 or ::1, port 0, one thread per connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gatehouse::test {

class TestUpstream {
 public:
  using Handler = std::function<void(int fd)>;
  // `port` 0 picks a free port; a fixed one brings an upstream back where it was.
  explicit TestUpstream(Handler handler, bool ipv6 = false, std::uint16_t port = 0);
  ~TestUpstream();
  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  std::uint16_t port() const { return port_; }
  std::string endpoint() const;  // "127.0.0.1:port" / "[::1]:port"
  int accepted() const { return accepted_.load(); }

  // Echoes until EOF, then half-closes its side.
  static Handler echo();

 private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  bool ipv6_ = false;
  Handler handler_;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

// A TCP socket on 127.0.0.1, on a free port, closed when it goes. With `backlog` < 0 it is only
// bound (connections to the port are refused); otherwise it listens with that accept queue (0:
// a queue that fills at once, after which connections hang as with a vanished host).
class LoopbackSocket {
 public:
  explicit LoopbackSocket(int backlog);
  ~LoopbackSocket();
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A plain TCP connection to 127.0.0.1:port with a receive timeout guard; -1 on failure.
int connect_tcp(std::uint16_t port, int timeout_ms = 10000);
// Reads until EOF or error; returns what was read.
std::string read_until_eof(int fd);
bool write_all_fd(int fd, const std::string& data);

// GET on the admin listener: status code and body ({0, what came} when no answer).
std::pair<int, std::string> admin_get(std::uint16_t port, const std::string& target);
// The value of one metrics series ("name{labels}") in an exposition text, or -1 when absent.
double metric_value(const std::string& text, const std::string& series);

}  // namespace gatehouse::test
