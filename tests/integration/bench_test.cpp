// gatehouse-bench against a real Gatehouse: counts what it was asked to, resumes sessions,
// and refuses bad input in words.
#include <gtest/gtest.h>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

const std::string kBench = GATEHOUSE_BENCH;

std::string bench(const ProxyHarness& p, const std::string& args, const std::string& key = "alice.key") {
  std::string d = p.dir().path().string();
  return kBench + " 127.0.0.1:" + std::to_string(p.port()) + " --cert " + d + "/alice-chain.pem --key " + d + "/" +
         key + " --ca " + d + "/root.pem --sni localhost --warmup 0 " + args;
}

TEST(Bench, HandshakesAndResumptionsAreCounted) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto full = run_command(bench(proxy, "-c 4 -n 200 -d 60 --json --pid " + std::to_string(::getpid())));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  auto j = nlohmann::json::parse(full.output.substr(full.output.find('{')), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << full.output;
  EXPECT_GE(j["operations"].get<int>(), 200);
  EXPECT_TRUE(j["errors"].empty()) << full.output;
  EXPECT_GT(j["latency_us"]["p99"].get<int>(), 0);
  // The target's CPU, and its split: its own code, and the kernel on its behalf.
  const double cpu = j.value("target_cpu_us_per_operation", -1.0);
  const double user = j.value("target_user_us_per_operation", -1.0), kernel = j.value("target_kernel_us_per_operation", -1.0);
  EXPECT_GT(cpu, 0) << full.output;
  EXPECT_GE(user, 0) << full.output;
  EXPECT_GE(kernel, 0) << full.output;
  EXPECT_NEAR(user + kernel, cpu, cpu * 1e-9) << full.output;
  EXPECT_GE(proxy.totals().handshakes_ok, 200u);

  auto resumed = run_command(bench(proxy, "--mode resume -c 2 -n 50 -d 60 --json"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto r = nlohmann::json::parse(resumed.output.substr(resumed.output.find('{')));
  EXPECT_GE(r["resumed"].get<int>(), r["operations"].get<int>() - 2);  // all but each connection's first
}

nlohmann::json json_of(const CommandResult& r) {
  auto brace = r.output.find('{');
  return nlohmann::json::parse(brace == std::string::npos ? "" : r.output.substr(brace), nullptr, false);
}

TEST(Bench, BulkReportsCpuPerGibAndHoldReportsMemoryPerConnection) {
  TestUpstream echo{TestUpstream::echo()};
  ProxyHarness proxy;
  ProxyConfig config;
  config.endpoints = {echo.endpoint()};
  proxy.start(config);
  const std::string pid = std::to_string(::getpid());  // the proxy runs in this process
  auto bulk = run_command(bench(proxy, "--mode bulk -c 2 --bulk-mib 4 -n 4 -d 60 --json --pid " + pid));
  ASSERT_EQ(bulk.exit_code, 0) << bulk.output;
  auto b = json_of(bulk);
  ASSERT_FALSE(b.is_discarded()) << bulk.output;
  EXPECT_TRUE(b["errors"].empty()) << bulk.output;
  // Counted as they flow: transfers still under way when the count is reached have sent more
  // than they got back.
  EXPECT_GE(b["bytes_received"].get<std::uint64_t>(), 4u * (4u << 20));
  EXPECT_LE(b["bytes_received"].get<std::uint64_t>(), b["bytes_sent"].get<std::uint64_t>());
  EXPECT_GT(b["target_cpu_seconds_per_gib"].get<double>(), 0);

  auto hold = run_command(bench(proxy, "--mode hold -c 20 -d 1 --json --pid " + pid));
  ASSERT_EQ(hold.exit_code, 0) << hold.output;
  auto h = json_of(hold);
  ASSERT_FALSE(h.is_discarded()) << hold.output;
  EXPECT_EQ(h["held"], 20);
  EXPECT_TRUE(h.contains("target_kib_per_connection")) << hold.output;
  EXPECT_GT(h["target_rss_kib_held"].get<long>(), 0);
}

TEST(Bench, SigalgsChooseTheServerCertificate) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});  // ECDSA and RSA server certificates
  // Only RSA-PSS allowed: the handshake succeeds only if the proxy picked its RSA certificate.
  for (const char* algs : {"RSA-PSS+SHA256", "ECDSA+SHA256"}) {
    auto r = run_command(bench(proxy, std::string("-n 5 -d 60 --json --sigalgs ") + algs));
    ASSERT_EQ(r.exit_code, 0) << algs << ": " << r.output;
    EXPECT_TRUE(json_of(r)["errors"].empty()) << algs << ": " << r.output;
  }
  auto bad = run_command(bench(proxy, "-d 1 --sigalgs SHA1-please"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("unknown signature algorithm"), std::string::npos) << bad.output;
}

TEST(Bench, RefusalsAreReportedByAlertName) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  std::string d = proxy.dir().path().string();
  auto r = run_command(kBench + " 127.0.0.1:" + std::to_string(proxy.port()) + " --warmup 0 -d 1 -c 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;  // nothing succeeded
  EXPECT_NE(r.output.find("alert: "), std::string::npos) << r.output;
}

TEST(Bench, BadInputIsExplained) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  auto wrong_key = run_command(bench(proxy, "-d 1", "server-ecdsa.key"));
  EXPECT_EQ(wrong_key.exit_code, 2);
  EXPECT_NE(wrong_key.output.find("is not the private key of"), std::string::npos) << wrong_key.output;
  auto nobody = run_command(kBench + " 127.0.0.1:1 -d 1");
  EXPECT_EQ(nobody.exit_code, 2);
  EXPECT_NE(nobody.output.find("cannot connect to 127.0.0.1:1"), std::string::npos) << nobody.output;
  EXPECT_EQ(run_command(kBench + " --help").exit_code, 0);
}

}  // namespace
}  // namespace gatehouse::test
