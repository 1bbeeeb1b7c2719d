// The gatehouse binary: `check` lists every problem with its place, `run` refuses to start on
// bad input (nothing half-started), and every command has --help.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

TEST(Cli, HelpOnEveryCommand) {
  for (const char* cmd : {"--help", "run --help", "check --help"}) {
    auto r = run_command(kBinary + " " + cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.output.find("Usage:"), std::string::npos) << cmd << ": " << r.output;
  }
  auto v = run_command(kBinary + " --version");
  EXPECT_NE(v.output.find("BoringSSL"), std::string::npos) << v.output;
}

TEST(Cli, CheckAcceptsAGoodConfig) {
  ProxyHarness h;
  auto file = h.dir().write("good.toml", h.config_text(ProxyConfig{}));
  auto r = run_command(kBinary + " check -c " + file.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos);
}

TEST(Cli, CheckReportsEveryPlantedMistakeInFilesWithItsLine) {
  ProxyHarness h;
  // Syntax is fine; the files are not: a missing cert, a key of another cert, a CA file that is
  // not PEM, a leaf used as client_ca, an endpoint that is not host:port.
  h.dir().write("notpem.pem", "this is not a certificate\n");
  const std::string text = R"([[listener]]
listen = "127.0.0.1:0"
  [listener.tls]
  certificates = [
    { cert = "missing.pem", key = "server-ecdsa.key" },
    { cert = "server-ecdsa.pem", key = "server-rsa.key" },
  ]
  client_ca = "notpem.pem"
  client_intermediates = "alice.pem"
  [[listener.route]]
  upstream = "app"

[[upstream]]
name = "app"
endpoints = ["127.0.0.1"]
)";
  auto file = h.dir().write("broken.toml", text);
  auto r = run_command(kBinary + " check -c " + file.string());
  EXPECT_EQ(r.exit_code, 1);
  auto has = [&](const std::string& s) { return r.output.find(s) != std::string::npos; };
  EXPECT_TRUE(has("broken.toml:5:14: listener[0].tls.certificates[0].cert: cannot read")) << r.output;
  EXPECT_TRUE(has("missing.pem: No such file or directory")) << r.output;
  EXPECT_TRUE(has("broken.toml:6:40: listener[0].tls.certificates[1].key:")) << r.output;
  EXPECT_TRUE(has("server-rsa.key is not the private key of")) << r.output;
  EXPECT_TRUE(has("broken.toml:8:15: listener[0].tls.client_ca:")) << r.output;
  EXPECT_TRUE(has("no PEM certificate found")) << r.output;
  EXPECT_TRUE(has("broken.toml:9:26: listener[0].tls.client_intermediates:")) << r.output;
  EXPECT_TRUE(has("is not a CA certificate")) << r.output;
  EXPECT_TRUE(has("broken.toml:15:13: upstream[0].endpoints: '127.0.0.1' must be host:port")) << r.output;
  EXPECT_TRUE(has("5 problem(s)")) << r.output;
}

TEST(Cli, RunRefusesToStartOnAMissingCertificate) {
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("server-ecdsa.pem"), 16, "gone.pem");
  auto file = h.dir().write("missing-cert.toml", text);
  auto r = run_command(kBinary + " run -c " + file.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("gone.pem: No such file or directory"), std::string::npos) << r.output;
}

TEST(Cli, RunRefusesToStartWhenItsAddressIsTaken) {
  ProxyHarness h;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ProxyConfig config;
  config.listen = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto file = h.dir().write("taken.toml", h.config_text(config));
  auto r = run_command(kBinary + " run -c " + file.string());
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot listen on " + config.listen), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

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

void start_binary(const std::string& config, Running& r, std::vector<std::string> extra = {}) {
  int fds[2];
  if (::pipe(fds) != 0) return;
  std::vector<std::string> args = {kBinary, "run", "-c", config};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  r.pid = ::fork();
  if (r.pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::execv(kBinary.c_str(), argv.data());
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

std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return line;
  return "";
}

TEST(Cli, RunDropsToTheGivenUserAfterLoadingRootOnlyKeys) {
  if (::geteuid() != 0) GTEST_SKIP() << "--user needs the test to run as root (CI does)";
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\"");
  auto file = h.dir().write("drop.toml", text);
  for (const auto& entry : std::filesystem::directory_iterator(h.dir().path()))
    if (entry.path().extension() == ".key") ::chmod(entry.path().c_str(), 0600);  // root's alone

  auto unknown = run_command(kBinary + " run -c " + file.string() + " --user no-such-user-here");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("no user named 'no-such-user-here'"), std::string::npos) << unknown.output;

  Running running;
  start_binary(file.string(), running, {"--user", "nobody"});
  ASSERT_GT(running.pid, 0);
  ASSERT_NE(running.port, 0) << running.seen;
  const std::string nobody = std::to_string(::getpwnam("nobody")->pw_uid);
  EXPECT_EQ(status_line(running.pid, "Uid"), "Uid:\t" + nobody + "\t" + nobody + "\t" + nobody + "\t" + nobody);
  EXPECT_NE(running.seen.find("running as user 'nobody'"), std::string::npos) << running.seen;

  ClientOptions opt = h.client();
  opt.port = running.port;
  TlsClient client(opt);
  ASSERT_TRUE(client.connect()) << client.error();  // the keys were loaded before the drop
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

// Reads the binary's stderr until `needle` shows up (bounded: 10 s without output).
bool wait_for_output(Running& r, const std::string& needle) {
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

TEST(Cli, RunReloadsOnSighupAndOnPostReload) {
  ProxyHarness h;
  auto info = [](std::string text) { return text.replace(text.find("level = \"warn\""), 14, "level = \"info\""); };
  ProxyConfig deny;
  deny.routes = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";
  auto file = h.dir().write("reload.toml", info(h.config_text(ProxyConfig{})));
  Running running;
  start_binary(file.string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  auto at = running.seen.find("admin on ");
  ASSERT_NE(at, std::string::npos) << running.seen;
  const std::string admin_port = std::to_string(std::stoi(running.seen.substr(running.seen.find(" port ", at) + 6)));
  auto alice_gets_in = [&] {
    ClientOptions opt = h.client();
    opt.port = running.port;
    TlsClient client(opt);
    return client.connect() && client.send("GET / HTTP/1.0\r\n\r\n") &&
           client.read_all().value_or("").find("Hello, alice") != std::string::npos;
  };
  ASSERT_TRUE(alice_gets_in());

  h.dir().write("reload.toml", info(h.config_text(deny)));
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(wait_for_output(running, "reloaded: serving generation 2")) << running.seen;
  EXPECT_FALSE(alice_gets_in());

  h.dir().write("reload.toml", "[[listener]\n");  // broken: POST /reload says so, nothing changes
  auto post = [&] {
    return run_command("curl -s -w ' HTTP %{http_code}' -X POST http://127.0.0.1:" + admin_port + "/reload").output;
  };
  std::string refused = post();
  EXPECT_NE(refused.find("HTTP 422"), std::string::npos) << refused;
  EXPECT_NE(refused.find("reload failed, still serving generation 2"), std::string::npos) << refused;
  EXPECT_NE(refused.find("reload.toml:1"), std::string::npos) << refused;
  EXPECT_FALSE(alice_gets_in());

  h.dir().write("reload.toml", info(h.config_text(ProxyConfig{})));
  std::string ok = post();
  EXPECT_NE(ok.find("reloaded: serving generation 3\n HTTP 200"), std::string::npos) << ok;
  EXPECT_TRUE(alice_gets_in());
}

// Zero-downtime upgrades rely on the kernel handing a closing listener's queued connections to
// the other listeners on the port (net.ipv4.tcp_migrate_req, Linux 5.14+): set for the test and
// put back after it.
struct MigrateRequests {
  static constexpr const char* kPath = "/proc/sys/net/ipv4/tcp_migrate_req";
  std::string before;
  bool on = false;
  MigrateRequests() {
    std::ifstream(kPath) >> before;
    std::ofstream(kPath) << "1";
    std::string now;
    std::ifstream(kPath) >> now;
    on = now == "1";
  }
  ~MigrateRequests() {
    if (!before.empty()) std::ofstream(kPath) << before;
  }
};

TEST(Cli, ANewInstanceTakesOverThePortWithoutAFailedConnection) {
  MigrateRequests migrate;
  if (!migrate.on) GTEST_SKIP() << "cannot set net.ipv4.tcp_migrate_req (needs root and Linux 5.14+)";
  ProxyHarness h;
  auto info = [](std::string text) { return text.replace(text.find("level = \"warn\""), 14, "level = \"info\""); };
  Running old_one;
  start_binary(h.dir().write("old.toml", info(h.config_text(ProxyConfig{}))).string(), old_one);
  ASSERT_NE(old_one.port, 0) << old_one.seen;

  // Continuous handshakes and requests from two threads while the new instance comes and the
  // old one goes.
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::string first_failure;
  std::mutex failure_mutex;
  auto client_loop = [&] {
    while (!stop) {
      ClientOptions opt = h.client();
      opt.port = old_one.port;
      TlsClient client(opt);
      bool good = client.connect() && client.send("GET / HTTP/1.0\r\n\r\n") &&
                  client.read_all().value_or("").find("Hello, alice") != std::string::npos;
      if (good) {
        ++ok;
      } else {
        std::lock_guard lock(failure_mutex);
        if (failed++ == 0) first_failure = client.error();
      }
    }
  };
  auto wait_for_more = [&](int more) {
    const int target = ok + more;
    for (int i = 0; i < 5000 && ok < target && failed == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a counter, bounded
  };
  std::thread a(client_loop), b(client_loop);
  wait_for_more(50);

  ProxyConfig same_port;
  same_port.listen = "127.0.0.1:" + std::to_string(old_one.port);
  Running new_one;
  start_binary(h.dir().write("new.toml", info(h.config_text(same_port))).string(), new_one);
  EXPECT_EQ(new_one.port, old_one.port) << new_one.seen;  // serving at once, next to the old one
  wait_for_more(50);

  ::kill(old_one.pid, SIGTERM);  // stops accepting, drains, exits
  int status = 0;
  EXPECT_EQ(::waitpid(old_one.pid, &status, 0), old_one.pid);
  old_one.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  wait_for_more(100);  // all of these on the new instance
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GE(ok.load(), 200);
}

TEST(Cli, RunServesThenDrainsAndExitsOnSigterm) {
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\"");  // the port is logged at info
  auto file = h.dir().write("serve.toml", text);
  Running running;
  start_binary(file.string(), running);
  ASSERT_GT(running.pid, 0);
  ASSERT_NE(running.port, 0) << running.seen;

  ClientOptions opt = h.client();
  opt.port = running.port;
  TlsClient client(opt);
  ASSERT_TRUE(client.connect()) << client.error();

  ::kill(running.pid, SIGTERM);
  // Our open connection is served to its end during the drain.
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);

  int status = 0;
  ASSERT_EQ(::waitpid(running.pid, &status, 0), running.pid);
  running.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::string rest = read_until_eof(running.stderr_fd);
  ::close(running.stderr_fd);
  EXPECT_NE(rest.find("SIGTERM"), std::string::npos) << rest;
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Cli, AccessLogFileSurvivesRenameAndSigusr1) {
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\"\naccess = \"access.log\"");
  auto file = h.dir().write("rotate.toml", text);
  Running running;
  start_binary(file.string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  ClientOptions opt = h.client();
  opt.port = running.port;
  auto requests = [&](int n) {
    for (int i = 0; i < n; ++i) {
      TlsClient client(opt);
      ASSERT_TRUE(client.connect()) << client.error();
      client.send("GET / HTTP/1.0\r\n\r\n");
      client.read_all();
    }
  };
  requests(10);
  const auto log = h.dir() / "access.log";
  std::filesystem::rename(log, h.dir() / "access.log.1");  // what logrotate does
  ::kill(running.pid, SIGUSR1);
  for (int i = 0; i < 500 && !std::filesystem::exists(log); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(log));
  requests(10);
  ::kill(running.pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(running.pid, &status, 0), running.pid);
  running.pid = -1;
  auto old_lines = lines_of(h.dir() / "access.log.1");
  auto new_lines = lines_of(log);
  EXPECT_GE(old_lines.size(), 1u);
  EXPECT_GE(new_lines.size(), 10u);  // everything after the reopen, maybe a late line of the first ten
  std::set<std::string> clients;
  for (const auto* lines : {&old_lines, &new_lines})
    for (const auto& l : *lines) clients.insert(nlohmann::json::parse(l)["client"].get<std::string>());
  EXPECT_EQ(old_lines.size() + new_lines.size(), 20u);  // none lost
  EXPECT_EQ(clients.size(), 20u);                       // none written twice
}

}  // namespace
}  // namespace gatehouse::test
