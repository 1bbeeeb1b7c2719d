// Runs the real gatehouse binary for tests: start it, read its output (bounded), stop it.
// Its stdout (the JSON events of app/ready_line.hpp, and access-log lines with the default
// access = "stdout") is drained by a thread, so a busy test never blocks the binary's writes;
// its stderr (the human log) is read on demand into `seen`.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {

inline const std::string kGatehouseBinary = GATEHOUSE_BINARY;

class Running {
 public:
  // NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json() is noexcept; json.hpp says the same
  Running() = default;
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {  // a failed test must not leave it behind
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();  // its stdout ended with it
    if (stderr_fd >= 0) ::close(stderr_fd);
  }

  pid_t pid = -1;
  int stderr_fd = -1;
  std::string seen;        // its stderr, as far as wait_for_output read it
  nlohmann::json ready;    // its "ready" event; null when it never printed one
  std::uint16_t port = 0;  // the first listener's bound port, from `ready`
  std::uint16_t admin_port = 0;

  // The bound port of the listener called `name` (0 when there is none).
  std::uint16_t port_of(const std::string& name) const {
    for (const auto& l : ready.value("listeners", nlohmann::json::array()))
      if (l["name"] == name) return port_in(l["address"].get<std::string>());
    return 0;
  }

  // The event called `name` (of that generation, unless 0) once it was printed; bounded.
  std::optional<nlohmann::json> wait_for_event(const std::string& name, std::uint64_t generation = 0,
                                               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    std::optional<nlohmann::json> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (e["event"] == name && (generation == 0 || e["generation"] == generation)) found = e;
      return found.has_value() || stdout_closed_;
    });
    return found;
  }
  // Every event printed so far.
  std::vector<nlohmann::json> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

  static std::uint16_t port_in(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  // Started by start_binary: reads stdout to its end, keeping the events.
  void read_stdout(int fd) {
    reader_ = std::thread([this, fd] {
      std::string pending;
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        pending.append(buf, static_cast<size_t>(n));
        for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1)) {
          auto j = nlohmann::json::parse(pending.substr(0, end), nullptr, false);
          if (j.is_discarded() || !j.is_object() || !j.contains("event")) continue;  // an access-log line
          std::lock_guard lock(mutex_);
          events_.push_back(std::move(j));
          changed_.notify_all();
        }
      }
      ::close(fd);
      std::lock_guard lock(mutex_);
      stdout_closed_ = true;
      changed_.notify_all();
    });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<nlohmann::json> events_;
  bool stdout_closed_ = false;
  std::thread reader_;
};

// Reads the binary's stderr until `needle` shows up (bounded: 10 s without output).
inline bool wait_for_output(Running& r, const std::string& needle) {
  char buf[512];
  while (r.seen.find(needle) == std::string::npos) {
    pollfd p{r.stderr_fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return false;
    ssize_t n = ::read(r.stderr_fd, buf, sizeof buf);
    if (n <= 0) return false;
    r.seen.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Starts the real binary and waits (bounded) for its ready event: pid, ports, admin port.
inline void start_binary(const std::string& config, Running& r, std::vector<std::string> extra = {}) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return;
  if (::pipe2(err, O_CLOEXEC) != 0) return;
  std::vector<std::string> args = {kGatehouseBinary, "run", "-c", config};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  r.pid = ::fork();
  if (r.pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);  // dup2 leaves these two open across exec
    ::dup2(err[1], STDERR_FILENO);
    ::execv(kGatehouseBinary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  r.stderr_fd = err[0];
  r.read_stdout(out[0]);
  auto ready = r.wait_for_event("ready");
  if (!ready) {  // what it said instead goes into `seen`, for the failure message
    wait_for_output(r, std::string(1, '\0'));
    return;
  }
  r.ready = *ready;
  if (!r.ready["listeners"].empty()) r.port = Running::port_in(r.ready["listeners"][0]["address"]);
  if (r.ready["admin"].is_string()) r.admin_port = Running::port_in(r.ready["admin"]);
}

// One request as alice through the instance on `port`: the subject of the server certificate
// when whoami answered her, "refused" otherwise.
inline std::string alice_visits(const ProxyHarness& h, std::uint16_t port) {
  ClientOptions opt = h.client();
  opt.port = port;
  TlsClient client(opt);
  bool in = client.connect() && client.send("GET / HTTP/1.0\r\n\r\n") &&
            client.read_all().value_or("").find("Hello, alice") != std::string::npos;
  return in ? client.server_leaf_subject() : std::string("refused");
}

inline std::string info_level(std::string text) {
  return text.replace(text.find("level = \"warn\""), 14, "level = \"info\"");
}

inline std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return line;
  return "";
}

}  // namespace gatehouse::test
