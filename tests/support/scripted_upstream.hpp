// An upstream on 127.0.0.1 that plays a script with each connection it accepts, one at a time:
// accept, read the request, write the response head, write the body. Told to, it fails at one
// of those steps instead of taking it: with a FIN, a reset, or by going silent until the proxy
// closes. The fault tests of serve_connection (tests/integration/connection_faults_test.cpp).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "tests/support/stepped_client.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {

enum class Fault { fin, rst, stall };

// Ends `fd`'s connection by `fault`: a FIN (then what comes is read until the peer closes, so
// that unread bytes never turn the FIN into a reset), a reset, or silence until the peer closes.
// False only when a silent peer was never closed on (`guard_ms`).
inline bool end_by(int fd, Fault fault, int guard_ms = 10000) {
  switch (fault) {
    case Fault::fin:
      ::shutdown(fd, SHUT_WR);
      read_until_eof(fd);
      break;
    case Fault::rst: {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      break;
    }
    case Fault::stall:
      if (!SteppedClient::wait_for_peer_close(fd, guard_ms)) return false;
      break;
  }
  return true;
}

class ScriptedUpstream {
 public:
  enum Step { accept = 1, read_request, response_head, response_body, steps_end };
  // What one connection sends and expects: `complete(request so far)` says the request is whole.
  struct Script {
    std::function<bool(const std::string&)> complete;
    std::string head, body;
    bool close_after = true;  // false: keeps the connection until the proxy closes it (keep-alive)
  };

  ScriptedUpstream() : stop_(::eventfd(0, EFD_CLOEXEC)), thread_([this] { loop(); }) {}
  ~ScriptedUpstream() {
    std::uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
    ::close(stop_);
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::string endpoint() const { return listening_.endpoint(); }
  // The next connections play `script`, failing at `fail_at` by `fault` (steps_end: no failure),
  // after writing half of that step's bytes when `mid`.
  void plan(Script script, int fail_at = steps_end, Fault fault = Fault::fin, bool mid = false) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
    fail_at_ = fail_at;
    fault_ = fault;
    mid_ = mid;
  }
  // Connections accepted and not yet closed by us; a silent one that was never closed on.
  int open() const { return open_.load(); }
  int hung() const { return hung_.load(); }

 private:
  void loop() {
    for (;;) {
      pollfd p[2] = {{listening_.fd(), POLLIN, 0}, {stop_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 || p[1].revents) return;
      int fd = ::accept4(listening_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++open_;
      timeval tv{10, 0};  // a guard against a hung test
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      int one = 1;  // the response's head and body leave at once, each
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::unique_lock lock(mutex_);
      const Script script = script_;
      const int fail_at = fail_at_;
      const Fault fault = fault_;
      const bool mid = mid_;
      lock.unlock();
      if (!play(fd, script, fail_at, fault, mid)) ++hung_;
      ::close(fd);
      --open_;
    }
  }

  static bool play(int fd, const Script& s, int fail_at, Fault fault, bool mid) {
    if (fail_at == accept) return end_by(fd, fault);
    // The request's first bytes are here: failing now leaves the rest of it unread.
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return false;
    if (fail_at == read_request) return end_by(fd, fault);
    std::string request;
    char buf[4096];
    while (!s.complete(request)) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return true;  // the proxy ended it (a client's failure passed on): we close too
      request.append(buf, static_cast<size_t>(n));
    }
    for (auto [step, bytes] : {std::pair{response_head, &s.head}, std::pair{response_body, &s.body}}) {
      if (step != fail_at) {
        write_all_fd(fd, *bytes);
        continue;
      }
      if (mid) write_all_fd(fd, bytes->substr(0, bytes->size() / 2));
      return end_by(fd, fault);
    }
    if (s.close_after) ::shutdown(fd, SHUT_WR);
    read_until_eof(fd);  // until the proxy closes (keep-alive), or its half-close after ours
    return true;
  }

  LoopbackSocket listening_{16};
  int stop_;
  std::mutex mutex_;
  Script script_;
  int fail_at_ = steps_end;
  Fault fault_ = Fault::fin;
  bool mid_ = false;
  std::atomic<int> open_{0}, hung_{0};
  std::thread thread_;
};

}  // namespace gatehouse::test
