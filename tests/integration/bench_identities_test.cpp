// gatehouse-bench presents many client identities, and a real Gatehouse sees each of them:
// minted by a `gatehouse ca` folder's intermediate, by a throwaway CA it writes out, or read
// from a folder of certificate/key pairs.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

const std::string kBench = GATEHOUSE_BENCH;
const std::string kBinary = GATEHOUSE_BINARY;

// A Gatehouse whose listener trusts `client_ca` (a root PEM file) instead of the harness's.
void start_trusting(ProxyHarness& proxy, const std::string& client_ca) {
  ProxyConfig config;
  config.configure_intermediates = false;  // the clients send theirs
  auto text = proxy.config_text(config);
  const std::string was = "client_ca = \"root.pem\"";
  text.replace(text.find(was), was.size(), "client_ca = \"" + client_ca + "\"");
  proxy.start_text(text, proxy.dir().path());
}

std::string bench(const ProxyHarness& p, const std::string& args) {
  return kBench + " 127.0.0.1:" + std::to_string(p.port()) + " --sni localhost --warmup 0 -d 60 --json " + args;
}

// The distinct subjects among the access log's first `lines` lines.
std::set<std::string> subjects_seen(ProxyHarness& proxy, std::size_t lines) {
  std::set<std::string> out;
  for (const auto& line : proxy.wait_for_log(lines))
    if (line.contains("subject")) out.insert(line["subject"].get<std::string>());
  return out;
}

TEST(BenchIdentities, MintedByAGatehouseCaFolderAndSeenByGatehouse) {
  TempDir tmp;
  const std::string ca = (tmp / "ca").string();
  ASSERT_EQ(run_command(kBinary + " ca init " + ca + " --name 'Bench Root'").exit_code, 0);
  ASSERT_EQ(run_command(kBinary + " ca intermediate " + ca + " --name 'Bench Intermediate'").exit_code, 0);
  ProxyHarness proxy;
  start_trusting(proxy, ca + "/root.pem");

  auto r = run_command(bench(proxy, "-c 1 -n 24 --identities 12 --identities-ca " + ca));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_TRUE(j["errors"].empty()) << r.output;
  EXPECT_EQ(j["identities"], 12);
  auto seen = subjects_seen(proxy, 24);
  EXPECT_EQ(seen.size(), 12u);  // every handshake a certificate of its own, round robin
  EXPECT_TRUE(seen.contains("CN=gatehouse-bench-0-11,O=gatehouse-bench")) << *seen.begin();
  // 24 handshakes (and any begun before the window opened) round 12 identities: the report says
  // how many showed a certificate the target had seen, and how many identities would have done.
  ASSERT_EQ(j["warnings"].size(), 1u) << r.output;
  const std::string warning = j["warnings"][0];
  std::size_t repeated = 0, presented = 0;
  ASSERT_EQ(std::sscanf(warning.c_str(), "%zu of %zu handshakes", &repeated, &presented), 2) << warning;
  EXPECT_GE(presented, 24u);
  EXPECT_EQ(repeated, presented - 12);
  EXPECT_NE(warning.find("already presented, which the target may remember"), std::string::npos) << warning;
  EXPECT_TRUE(warning.ends_with("give --identities " + std::to_string(presented) + " or more")) << warning;

  // A pair `gatehouse ca issue` wrote, presented as it is.
  ASSERT_EQ(run_command(kBinary + " ca issue " + ca + " --cn carol").exit_code, 0);
  auto from = run_command(bench(proxy, "-c 1 -n 3 --identities-from " + ca + "/issued"));
  ASSERT_EQ(from.exit_code, 0) << from.output;
  auto lines = proxy.wait_for_log(27);
  EXPECT_EQ(lines.back()["subject"], "CN=carol") << lines.back().dump();

  // Identities to spare: no warning.
  auto enough = run_command(bench(proxy, "-c 1 -n 12 --identities 16 --identities-ca " + ca));
  ASSERT_EQ(enough.exit_code, 0) << enough.output;
  EXPECT_TRUE(nlohmann::json::parse(enough.output.substr(enough.output.find('{')))["warnings"].empty())
      << enough.output;
}

TEST(BenchIdentities, AThrowawayCaIsWrittenOutForTheTargetToTrust) {
  TempDir tmp;
  const std::string out = (tmp / "bench-ca").string();
  {
    ProxyHarness untrusting;  // does not know the throwaway CA yet: every handshake refused
    untrusting.start(ProxyConfig{});
    auto refused = run_command(kBench + " 127.0.0.1:" + std::to_string(untrusting.port()) +
                               " --warmup 0 -c 1 -d 1 --identities 3 --identities-out " + out);
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find("alert: "), std::string::npos) << refused.output;
  }
  ASSERT_TRUE(std::filesystem::exists(out + "/root.pem"));
  ProxyHarness proxy;
  start_trusting(proxy, out + "/root.pem");
  auto r = run_command(bench(proxy, "-c 2 -n 10 --identities 5 --identities-ca-cert " + out +
                                        "/root.pem --identities-ca-key " + out + "/root.key"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(subjects_seen(proxy, 10).size(), 5u);
}

TEST(BenchIdentities, MixSetsTheShareOfResumedHandshakes) {
  ProxyHarness proxy;
  proxy.start(ProxyConfig{});
  const std::string d = proxy.dir().path().string();
  auto r = run_command(
      bench(proxy, "-c 1 -n 200 --mix full=0.5,resume=0.5 --cert " + d + "/alice-chain.pem --key " + d + "/alice.key"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  auto resumed = j["resumed"].get<int>(), all = j["operations"].get<int>();
  EXPECT_GT(resumed, all / 4) << r.output;  // about half; far from none or all
  EXPECT_LT(resumed, all * 3 / 4) << r.output;
  auto bad = run_command(bench(proxy, "--mix full=0.5,resume=0.9"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("add up to 1"), std::string::npos) << bad.output;
  auto both = run_command(bench(
      proxy, "--identities 2 --identities-out " + d + "/x --cert " + d + "/alice-chain.pem --key " + d + "/alice.key"));
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.output.find("not both"), std::string::npos) << both.output;
}

}  // namespace
}  // namespace gatehouse::test
