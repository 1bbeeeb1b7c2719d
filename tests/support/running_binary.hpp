// Runs the real gatehouse binary for tests: start it, read its log (bounded), stop it.
#pragma once

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {

inline const std::string kGatehouseBinary = GATEHOUSE_BINARY;

// Starts the real binary, waits (bounded) for its "on port N" line, returns pid and port.
struct Running {
  ~Running() {
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {  // a failed test must not leave it behind
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  pid_t pid = -1;
  int stderr_fd = -1;
  std::uint16_t port = 0;
  std::string seen;
};

inline void start_binary(const std::string& config, Running& r, std::vector<std::string> extra = {}) {
  int fds[2];
  if (::pipe(fds) != 0) return;
  std::vector<std::string> args = {kGatehouseBinary, "run", "-c", config};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  r.pid = ::fork();
  if (r.pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::execv(kGatehouseBinary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  r.stderr_fd = fds[0];
  char buf[512];
  while (r.seen.find(" workers)") == std::string::npos) {
    pollfd p{r.stderr_fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    ssize_t n = ::read(r.stderr_fd, buf, sizeof buf);
    if (n <= 0) break;
    r.seen.append(buf, static_cast<size_t>(n));
  }
  auto at = r.seen.find("on port ");
  if (at != std::string::npos) r.port = static_cast<std::uint16_t>(std::stoi(r.seen.substr(at + 8)));
}

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

inline std::string info_level(std::string text) { return text.replace(text.find("level = \"warn\""), 14, "level = \"info\""); }

inline std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return line;
  return "";
}

}  // namespace gatehouse::test
