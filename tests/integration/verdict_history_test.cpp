// A cache may skip work; it must never change an outcome. Random sequences of client
// certificates and the chains sent with them, replayed on one worker with the verified-certificate
// cache on and off, must meet the same verdicts, connection by connection.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

// What the client sends: its certificate, and which certificates come with it.
enum class Variant { full, leaf_only, wrong_intermediate, root_in_between };
constexpr Variant kVariants[] = {Variant::full, Variant::leaf_only, Variant::wrong_intermediate,
                                 Variant::root_in_between};

struct Step {
  int client = 0;  // 0: alice (under the harness intermediate), 1: carol (under another one)
  Variant variant = Variant::full;
};

using Outcome = std::pair<std::string, std::string>;  // decision, reason

// The server knows the root only: a client must send its intermediate.
class History {
 public:
  explicit History(bool cache) {
    const Cert& root = proxy_.root();
    const Cert& inter = proxy_.intermediate();
    Cert other = make_intermediate("Other Intermediate CA", "Acme Test", root, 0);
    Cert alice = make_leaf(CertSpec{.cn = "alice", .o = {"Acme Test"}}, &inter);
    Cert carol = make_leaf(CertSpec{.cn = "carol", .o = {"Acme Test"}}, &other);
    const auto& dir = proxy_.dir();
    write_key(dir, "c0.key", alice);
    write_key(dir, "c1.key", carol);
    write_chain(dir, "c0-full.pem", {&alice, &inter});
    write_chain(dir, "c0-leaf_only.pem", {&alice});
    write_chain(dir, "c0-wrong_intermediate.pem", {&alice, &other});
    write_chain(dir, "c0-root_in_between.pem", {&alice, &root, &inter});
    write_chain(dir, "c1-full.pem", {&carol, &other});
    write_chain(dir, "c1-leaf_only.pem", {&carol});
    write_chain(dir, "c1-wrong_intermediate.pem", {&carol, &inter});
    write_chain(dir, "c1-root_in_between.pem", {&carol, &root, &other});
    ProxyConfig config;
    config.configure_intermediates = false;
    std::string text = proxy_.config_text(config);
    if (!cache) text.replace(text.find("[server]\n"), 9, "[server]\nverified_cache = 0\n");
    proxy_.start_text(text, dir.path());
  }

  Outcome connect(const Step& step) {
    static constexpr const char* kNames[] = {"full", "leaf_only", "wrong_intermediate", "root_in_between"};
    const std::string prefix = "c" + std::to_string(step.client);
    TlsClient client(proxy_.client(prefix + "-" + kNames[static_cast<int>(step.variant)] + ".pem", prefix + ".key"));
    if (client.connect() && client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")) client.read_all();
    auto log = proxy_.wait_for_log(++lines_);
    if (log.size() != lines_) return {"missing", "no access-log line"};
    return {log.back()["decision"], log.back()["reason"]};
  }

 private:
  ProxyHarness proxy_;
  std::size_t lines_ = 0;
};

TEST(VerdictHistory, LeafOnlyThenFullChainThenLeafOnlyIsRefusedAdmittedRefused) {
  History server(/*cache=*/true);
  const Outcome refused{"deny", "incomplete_chain"};
  const Outcome admitted{"allow", "ok"};
  EXPECT_EQ(server.connect({0, Variant::leaf_only}), refused);
  EXPECT_EQ(server.connect({0, Variant::full}), admitted);
  EXPECT_EQ(server.connect({0, Variant::leaf_only}), refused);
  EXPECT_EQ(server.connect({0, Variant::full}), admitted);  // this one may come from the cache
  EXPECT_EQ(server.connect({0, Variant::wrong_intermediate}), refused);
}

TEST(VerdictHistory, RandomSequencesMeetTheSameVerdictsWithTheCacheOnAndOff) {
  std::mt19937 random(20261205);
  std::vector<Step> steps;
  for (int i = 0; i < 40; ++i)
    steps.push_back({static_cast<int>(random() % 2), kVariants[random() % std::size(kVariants)]});
  History cached(/*cache=*/true);
  History uncached(/*cache=*/false);
  int admitted = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Outcome with = cached.connect(steps[i]);
    const Outcome without = uncached.connect(steps[i]);
    EXPECT_EQ(with, without) << "step " << i << ": client " << steps[i].client << ", variant "
                             << static_cast<int>(steps[i].variant);
    admitted += with.first == "allow";
  }
  EXPECT_GT(admitted, 0);  // the sequence exercised both outcomes
  EXPECT_LT(admitted, static_cast<int>(steps.size()));
}

}  // namespace
}  // namespace gatehouse::test
