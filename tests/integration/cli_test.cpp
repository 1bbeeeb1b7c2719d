// The gatehouse binary: `check` lists every problem with its place, `run` refuses to start on
// bad input (nothing half-started), and every command has --help.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"

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
