// The real binary under floods: out of file descriptors (accept backs off, then recovers once
// descriptors are free), and round after round of handshakes, abandoned connections and idle
// ones, after which its descriptors and memory are back where they were.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/running_binary.hpp"
#include "tests/support/sanitized.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

size_t open_descriptors(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

long rss_kib(pid_t pid) {
  std::string line = status_line(pid, "VmRSS");  // "VmRSS:	   12345 kB"
  return line.empty() ? -1 : std::stol(line.substr(line.find_first_of("0123456789")));
}

// Bounded wait until the process holds `want` descriptors or fewer.
bool descriptors_settle(pid_t pid, size_t want) {
  return eventually([&] { return open_descriptors(pid) <= want; });
}

TEST(Flood, OutOfDescriptorsAcceptBacksOffAndRecovers) {
  if (kSanitized)  // UBSan's vptr check opens a pipe to probe memory: with no descriptor left it misfires
    GTEST_SKIP() << "descriptor exhaustion is tested on the plain build";
  ProxyHarness h;
  ProxyConfig config;
  config.handshake_timeout = "60s";  // the flood must hold its descriptors until we let go
  Running running;
  start_binary(h.dir().write("fd.toml", info_level(h.config_text(config))).string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  if (alice_visits(h, running.port) != "CN=localhost,O=Acme Test") {
    wait_for_output(running, "\x01");  // collect what it said, to the end of its output
    FAIL() << running.seen;
  }
  const size_t idle = open_descriptors(running.pid);
  rlimit few{idle + 16, idle + 16};
  ASSERT_EQ(::prlimit(running.pid, RLIMIT_NOFILE, &few, nullptr), 0);

  std::vector<int> flood;
  for (int i = 0; i < 64; ++i) flood.push_back(connect_tcp(running.port));
  ASSERT_TRUE(wait_for_output(running, "Too many open files")) << running.seen;
  for (int fd : flood) ::close(fd);
  ASSERT_TRUE(descriptors_settle(running.pid, idle + 2));
  // Counted for alerting, on the admin endpoint.
  ASSERT_NE(running.admin_port, 0) << running.ready.dump();
  auto metrics = run_command("curl -s http://127.0.0.1:" + std::to_string(running.admin_port) + "/metrics");
  EXPECT_NE(metrics.output.find("gatehouse_accept_errors_total "), std::string::npos) << metrics.output;
  EXPECT_EQ(metrics.output.find("gatehouse_accept_errors_total 0\n"), std::string::npos) << metrics.output;
  // Accepting again: the first good client after the flood is served.
  if (alice_visits(h, running.port) != "CN=localhost,O=Acme Test") {
    wait_for_output(running, "\x01");
    FAIL() << "not served after the flood; the proxy said:\n" << running.seen;
  }
  // It waited with a growing pause, never spinning: a handful of warnings, not thousands.
  size_t warnings = 0;
  for (size_t at = 0; (at = running.seen.find("Too many open files", at)) != std::string::npos; ++at) ++warnings;
  EXPECT_LT(warnings, 20u) << running.seen;
}

TEST(Flood, DescriptorsAndMemoryReturnToTheirBaselineAfterRoundsOfAbuse) {
  ProxyHarness h;
  ProxyConfig config;
  config.handshake_timeout = "300ms";
  Running running;
  // The access log goes to a file: thousands of lines, and nobody reads the binary's stdout.
  std::string text = info_level(h.config_text(config));
  text.replace(text.find("level = \"info\""), 14, "level = \"info\"\naccess = \"access.log\"");
  start_binary(h.dir().write("flood.toml", text).string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  const std::string d = h.dir().path().string();
  const std::string bench = std::string(GATEHOUSE_BENCH) + " 127.0.0.1:" + std::to_string(running.port) + " --cert " +
                            d + "/alice-chain.pem --key " + d + "/alice.key --sni localhost --warmup 0 ";
  auto round = [&] {
    EXPECT_EQ(run_command(bench + "--mode handshake -c 8 -n 400").exit_code, 0);
    EXPECT_EQ(run_command(bench + "--mode resume -c 8 -n 400").exit_code, 0);
    EXPECT_EQ(run_command(bench + "--mode hold -c 300 -d 0.3").exit_code, 0);
    std::vector<int> abandoned;  // connect, say nothing, leave: cut at the handshake timeout
    for (int i = 0; i < 100; ++i) abandoned.push_back(connect_tcp(running.port));
    for (int i = 0; i < 50; ++i)
      write_all_fd(abandoned[static_cast<size_t>(i)], std::string("\x16\x03\x01\x00\x10garbage", 12));
    for (int fd : abandoned) ::close(fd);
  };
  const size_t idle_descriptors = open_descriptors(running.pid);
  round();  // the first round sets the high-water mark of the allocator's arenas
  ASSERT_TRUE(descriptors_settle(running.pid, idle_descriptors));
  const long baseline = rss_kib(running.pid);
  for (int i = 0; i < 4; ++i) round();
  EXPECT_TRUE(descriptors_settle(running.pid, idle_descriptors)) << open_descriptors(running.pid);
  const long after = rss_kib(running.pid);
  if (kSanitized)
    GTEST_SKIP() << "RSS under a sanitizer is not the program's (" << baseline << " -> " << after
                 << " KiB); descriptors were checked";
  // The same work again must not need more memory: no leak per connection, no pool growing.
  EXPECT_LE(after, baseline + baseline / 4 + 4096) << "RSS " << baseline << " KiB -> " << after << " KiB";
}

}  // namespace
}  // namespace gatehouse::test
