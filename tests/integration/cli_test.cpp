// The gatehouse binary: `check` lists every problem with its place, `run` refuses to start on
// bad input (nothing half-started), and every command has --help.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/running_binary.hpp"
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
#ifdef GATEHOUSE_MIMALLOC
  // The binary checks at run time that its malloc is mimalloc's (common/allocator.cpp).
  EXPECT_NE(v.output.find("allocator: mimalloc 2."), std::string::npos) << v.output;
#else
  EXPECT_NE(v.output.find("allocator: system"), std::string::npos) << v.output;
#endif
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
  LoopbackSocket taken(1);
  ProxyConfig config;
  config.listen = taken.endpoint();
  auto file = h.dir().write("taken.toml", h.config_text(config));
  auto r = run_command(kBinary + " run -c " + file.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot listen on " + config.listen), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test

namespace gatehouse::test {
namespace {

TEST(Cli, RunServesThenDrainsAndExitsOnSigterm) {
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\"");  // SIGTERM and "stopped" are logged at info
  auto file = h.dir().write("serve.toml", text);
  Running running;
  start_binary(file.string(), running);
  ASSERT_GT(running.pid, 0);
  ASSERT_NE(running.port, 0) << running.seen;
  // The ready line on stdout (app/ready_line.hpp) says what a config's port 0 became.
  EXPECT_EQ(running.ready["pid"], running.pid);
  EXPECT_EQ(running.ready["generation"], 1);
  ASSERT_EQ(running.ready["listeners"].size(), 1u) << running.ready.dump();
  EXPECT_EQ(running.ready["listeners"][0]["name"], "test");
  EXPECT_EQ(running.ready["listeners"][0]["address"], "127.0.0.1:" + std::to_string(running.port));
  EXPECT_EQ(running.ready["listeners"][0]["mode"], "tcp");
  EXPECT_NE(running.admin_port, 0) << running.ready.dump();

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
  EXPECT_NE(rest.find("SIGTERM"), std::string::npos) << rest;
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
  EXPECT_EQ(running.events().size(), 1u);  // the access-log line on stdout is no event
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
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(log); })) << "not reopened after SIGUSR1";
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
