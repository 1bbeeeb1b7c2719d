// gatehouse-bench's open loop against a real Gatehouse: latency counted from when each
// handshake was due (a stalled target shows), thresholds setting the exit status, and four
// shards started together whose merged report is one run's.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>

#include "bench/results.hpp"
#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kBench = GATEHOUSE_BENCH;

std::string bench_args(const ProxyHarness& p, std::uint16_t port) {
  std::string d = p.dir().path().string();
  return kBench + " 127.0.0.1:" + std::to_string(port) + " --cert " + d + "/alice-chain.pem --key " + d +
         "/alice.key --ca " + d + "/root.pem --sni localhost ";
}

nlohmann::json json_of(const CommandResult& r) {
  auto brace = r.output.find('{');
  return nlohmann::json::parse(brace == std::string::npos ? "" : r.output.substr(brace), nullptr, false);
}

// Copies bytes both ways until both sides have closed.
void pump(int a, int b) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buf[16384];
  for (int open = 2; open > 0;) {
    if (::poll(fds, 2, 10'000) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      int other = i == 0 ? b : a;
      if (n <= 0) {
        ::shutdown(other, SHUT_WR);
        fds[i].fd = -1;
        --open;
      } else if (!write_all_fd(other, std::string(buf, static_cast<std::size_t>(n)))) {
        return;
      }
    }
  }
}

// In front of the proxy: a target that stops answering for `stall` from the load's first
// connection (the one before is gatehouse-bench's reachability probe), then answers again.
class StallingFront {
 public:
  StallingFront(std::uint16_t proxy_port, std::chrono::milliseconds stall)
      : proxy_port_(proxy_port), stall_(stall), front_([this](int fd) { serve(fd); }) {}
  std::uint16_t port() const { return front_.port(); }

 private:
  void serve(int fd) {
    {
      std::unique_lock lock(mutex_);
      if (++seen_ == 2) release_ = Clock::now() + stall_;
      if (seen_ >= 2) {
        auto release = release_;
        lock.unlock();
        std::this_thread::sleep_until(release);  // the stall itself: what this target does
      }
    }
    int upstream = connect_tcp(proxy_port_);
    if (upstream < 0) return;
    pump(fd, upstream);
    ::close(upstream);
  }

  std::uint16_t proxy_port_;
  std::chrono::milliseconds stall_;
  std::mutex mutex_;
  int seen_ = 0;
  Clock::time_point release_;
  TestUpstream front_;
};

TEST(BenchOpenLoop, AStalledTargetShowsInTheLatencyFromTheDueTime) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  constexpr std::uint64_t kStallUs = 1'000'000;
  StallingFront open_front(proxy.port(), std::chrono::milliseconds(kStallUs / 1000));
  // 3 s: two seconds after the stall to catch up on its backlog, even on a loaded machine.
  auto open = run_command(bench_args(proxy, open_front.port()) + "-c 8 --rate 100 -d 3 --json");
  ASSERT_EQ(open.exit_code, 0) << open.output;
  auto j = json_of(open);
  ASSERT_FALSE(j.is_discarded()) << open.output;
  EXPECT_EQ(j["operations"], 300) << open.output;  // every arrival of the schedule, none lost
  EXPECT_TRUE(j["errors"].empty()) << open.output;
  // The first handshake waited the whole stall; those due during it waited for its end (over a
  // tenth of all 300 over 0.6 of the stall: the 40 due in its first 0.4 s).
  EXPECT_GE(j["latency_us"]["max"].get<std::uint64_t>(), kStallUs) << open.output;
  EXPECT_GE(j["latency_us"]["p99"].get<std::uint64_t>(), kStallUs * 9 / 10) << open.output;
  EXPECT_GE(j["latency_us"]["p90"].get<std::uint64_t>(), kStallUs * 6 / 10) << open.output;
  EXPECT_EQ(j["asked_rate"].get<double>(), 100.0);

  // The closed loop over the same stall: only the four handshakes under way saw it.
  StallingFront closed_front(proxy.port(), std::chrono::milliseconds(kStallUs / 1000));
  auto closed = run_command(bench_args(proxy, closed_front.port()) + "-c 4 --warmup 0 -d 2 --json");
  ASSERT_EQ(closed.exit_code, 0) << closed.output;
  auto c = json_of(closed);
  EXPECT_GE(c["latency_us"]["max"].get<std::uint64_t>(), kStallUs) << closed.output;
  EXPECT_LT(c["latency_us"]["p90"].get<std::uint64_t>(), kStallUs / 2) << closed.output;
}

TEST(BenchOpenLoop, ThresholdsSetTheExitStatusAndSayWhichFailed) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto args = bench_args(proxy, proxy.port()) + "-c 2 --rate 50 -d 1 ";
  auto pass = run_command(args + "--max-p99 10s --max-errors 0%");
  EXPECT_EQ(pass.exit_code, 0) << pass.output;
  auto slow = run_command(args + "--max-p99 1us --max-errors 0% --json");
  EXPECT_EQ(slow.exit_code, 3) << slow.output;
  EXPECT_NE(slow.output.find("threshold failed: p99"), std::string::npos) << slow.output;
  EXPECT_EQ(slow.output.find("threshold failed: errors"), std::string::npos) << slow.output;
  auto j = json_of(slow);
  ASSERT_EQ(j["thresholds"].size(), 2u) << slow.output;
  EXPECT_FALSE(j["thresholds"][0]["passed"].get<bool>());
  EXPECT_TRUE(j["thresholds"][1]["passed"].get<bool>());
  // No client certificate: every handshake refused.
  auto refused = run_command(kBench + " 127.0.0.1:" + std::to_string(proxy.port()) +
                             " --sni localhost -c 2 --rate 50 -d 1 --max-errors 0.1%");
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_NE(refused.output.find("threshold failed: errors 100% > 0.1%"), std::string::npos) << refused.output;
  auto bad = run_command(args + "--max-p99 fast");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("is not a latency"), std::string::npos) << bad.output;
}

TEST(BenchOpenLoop, AGeneratorThatFallsBehindSaysSo) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  // One connection cannot start 20,000 handshakes in a second.
  auto r = run_command(bench_args(proxy, proxy.port()) + "-c 1 --rate 20000 -d 1 --max-errors 1% --json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  auto j = json_of(r);
  ASSERT_FALSE(j.is_discarded()) << r.output;
  const auto started = j["operations"].get<std::uint64_t>() + j["error_count"].get<std::uint64_t>();
  EXPECT_GT(j["not_started"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(started + j["not_started"].get<std::uint64_t>(), 20000u);  // every arrival accounted for
  EXPECT_NE(j["warnings"].dump().find("of the 20000/s asked"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("threshold failed: errors"), std::string::npos) << r.output;
}

TEST(BenchOpenLoop, AProgressLineOnlyOnATerminal) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  const std::string args = bench_args(proxy, proxy.port()) + "-c 2 --rate 50 -d 2";
  auto piped = run_command(args);
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(piped.output.find(" ops/s"), std::string::npos) << piped.output;
  // util-linux `script` gives the run a pseudo-terminal.
  auto on_tty = run_command("script -qec '" + args + "' /dev/null");
  ASSERT_EQ(on_tty.exit_code, 0) << on_tty.output;
  EXPECT_NE(on_tty.output.find(" ops/s"), std::string::npos) << on_tty.output;
}

TEST(BenchOpenLoop, AShardThatMissedTheSharedStartSaysSo) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto r = run_command(bench_args(proxy, proxy.port()) + "-c 2 --rate 20 -d 1 --json --start-at 2001-09-09T01:46:40Z");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = json_of(r);
  EXPECT_NE(j["warnings"].dump().find("it started late"), std::string::npos) << r.output;
  auto bad = run_command(bench_args(proxy, proxy.port()) + "--start-at tomorrow");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("neither unix seconds nor RFC 3339"), std::string::npos) << bad.output;
}

TEST(BenchOpenLoop, FindMaxReportsTheCurveAndTheHighestRateThatHeld) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  const std::string args = bench_args(proxy, proxy.port()) + "-c 4 -d 1 --find-max --start-rate 20 --bisections 1 ";
  auto loose = run_command(args + "--max-rate 80 --p99 5s --json");  // 20, 40, 80: all hold
  ASSERT_EQ(loose.exit_code, 0) << loose.output;
  auto j = json_of(loose)["find_max"];
  EXPECT_EQ(j["highest_rate"].get<double>(), 80.0) << loose.output;
  ASSERT_EQ(j["curve"].size(), 3u) << loose.output;
  EXPECT_EQ(j["curve"][1]["rate"].get<double>(), 40.0);
  EXPECT_GT(j["curve"][2]["per_second"].get<double>(), 70.0) << loose.output;  // each step a real run
  auto impossible = run_command(args + "--p99 1us");
  EXPECT_EQ(impossible.exit_code, 3) << impossible.output;
  EXPECT_NE(impossible.output.find("no rate held p99 <= 1us, not even 20/s"), std::string::npos) << impossible.output;
  auto stray = run_command(bench_args(proxy, proxy.port()) + "--p99 20ms");
  EXPECT_EQ(stray.exit_code, 2) << stray.output;
}

bench::Results read(const std::filesystem::path& file) {
  auto r = bench::read_results_file(file.string());
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : bench::Results{};
}

TEST(BenchOpenLoop, FourShardsStartedTogetherMergeIntoOneRun) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  TempDir out;
  const auto start_at = std::chrono::system_clock::now() + std::chrono::seconds(2);  // time to launch all four
  const auto start_s = std::chrono::duration_cast<std::chrono::seconds>(start_at.time_since_epoch()).count();
  const std::string shard_args =
      bench_args(proxy, proxy.port()) + "-c 2 --rate 200 -d 1 --start-at " + std::to_string(start_s) + " ";
  std::string all = "(";
  for (int i = 0; i < 4; ++i)
    all += shard_args + "--shard " + std::to_string(i) + "/4 --out " +
           (out / ("shard" + std::to_string(i) + ".json")).string() + " > /dev/null & ";
  auto shards = run_command(all + "wait)");
  ASSERT_EQ(shards.exit_code, 0) << shards.output;
  auto merged_run = run_command(kBench + " merge --json --plot " + (out / "merged.svg").string() + " --out " +
                                (out / "merged.json").string() + " " + (out / "shard0.json").string() + " " +
                                (out / "shard1.json").string() + " " + (out / "shard2.json").string() + " " +
                                (out / "shard3.json").string());
  ASSERT_EQ(merged_run.exit_code, 0) << merged_run.output;
  auto one_run =
      run_command(bench_args(proxy, proxy.port()) + "-c 8 --rate 200 -d 1 --out " + (out / "one.json").string());
  ASSERT_EQ(one_run.exit_code, 0) << one_run.output;

  bench::LatencyHistogram union_of_shards;
  std::uint64_t shard_operations = 0;
  for (int i = 0; i < 4; ++i) {
    auto shard = read(out / ("shard" + std::to_string(i) + ".json"));
    // A quarter of the arrivals, each served, failed or (on a loaded machine, due too late to
    // start before the window closed) counted as not started.
    EXPECT_EQ(shard.operations + shard.error_count() + shard.not_started, 50u) << "shard " << i;
    ASSERT_FALSE(shard.series.empty());
    EXPECT_GE(shard.series.begin()->first, start_s) << "shard " << i << " started before --start-at";
    union_of_shards.merge(shard.latency);
    shard_operations += shard.operations;
  }
  auto merged = read(out / "merged.json");
  auto one = read(out / "one.json");
  EXPECT_EQ(merged.shards, 4);
  EXPECT_EQ(merged.operations, shard_operations);
  EXPECT_EQ(merged.operations + merged.error_count() + merged.not_started, 200u);
  EXPECT_EQ(one.operations + one.error_count() + one.not_started, 200u);
  EXPECT_DOUBLE_EQ(merged.asked_rate, 200.0);
  EXPECT_EQ(merged.latency, union_of_shards);
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(merged.latency.quantile(q), union_of_shards.quantile(q)) << q;
  auto j = json_of(merged_run);
  EXPECT_EQ(j["latency_us"]["p99"].get<std::uint64_t>(), union_of_shards.quantile(0.99));
  EXPECT_EQ(slurp((out / "merged.svg").string()).rfind("<svg", 0), 0u);

  // Thresholds judge the merged whole; what is not a results file is refused by name.
  auto strict = run_command(kBench + " merge --max-p99 1us " + (out / "shard0.json").string());
  EXPECT_EQ(strict.exit_code, 3) << strict.output;
  EXPECT_NE(strict.output.find("threshold failed: p99"), std::string::npos) << strict.output;
  out.write("notes.json", "{\"format\": \"k6\"}");
  auto foreign = run_command(kBench + " merge " + (out / "shard0.json").string() + " " + (out / "notes.json").string());
  EXPECT_EQ(foreign.exit_code, 2) << foreign.output;
  EXPECT_NE(foreign.output.find("notes.json: not a gatehouse-bench results file"), std::string::npos) << foreign.output;
}

TEST(BenchOpenLoop, StagesRampTheRate) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  // Up to 200/s in half a second, down to 0 in the next: 50 + 50 arrivals.
  auto r = run_command(bench_args(proxy, proxy.port()) + "-c 4 --stages 500ms:200,500ms:0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = json_of(r);
  EXPECT_EQ(j["operations"].get<int>() + j["error_count"].get<int>(), 100) << r.output;
  EXPECT_DOUBLE_EQ(j["asked_rate"].get<double>(), 100.0);  // the average over the window
  auto bad = run_command(bench_args(proxy, proxy.port()) + "--stages 30s");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("is not DURATION:RATE"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace gatehouse::test
