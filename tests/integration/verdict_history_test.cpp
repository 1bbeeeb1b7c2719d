// A cache may skip work; it must never change an outcome. Random sequences of client
// certificates and the chains sent with them, replayed on one worker with the verified-certificate
// cache and the remembered intermediates (SignatureMemo) on and off (`verified_cache = 0`), must
// meet the same verdicts, connection by connection, reloads included.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/proxy_harness.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

// What the client sends: its certificate, and which certificates come with it.
enum class Variant {
  full,
  leaf_only,
  wrong_intermediate,
  root_in_between,
  expired_intermediate,       // the intermediate's name and key, dates past
  not_yet_valid_intermediate,
  revoked_intermediate,       // its name and key, a serial the root's CRL revokes
  expired_then_good,          // both, the bad one first
  good_then_expired,
};
constexpr Variant kVariants[] = {Variant::full,
                                 Variant::leaf_only,
                                 Variant::wrong_intermediate,
                                 Variant::root_in_between,
                                 Variant::expired_intermediate,
                                 Variant::not_yet_valid_intermediate,
                                 Variant::revoked_intermediate,
                                 Variant::expired_then_good,
                                 Variant::good_then_expired};
constexpr const char* kNames[] = {"full",    "leaf_only",   "wrong_intermediate", "root_in_between", "expired",
                                  "not_yet", "revoked_int", "expired_then_good",  "good_then_expired"};

// Clients 0..kUnderInter-1 are under the harness intermediate; then carol (another intermediate)
// and a client the intermediate's CRL revokes.
constexpr int kUnderInter = 6;
constexpr int kCarol = kUnderInter;
constexpr int kRevoked = kUnderInter + 1;
constexpr int kClients = kUnderInter + 2;

struct Step {
  int client = 0;
  Variant variant = Variant::full;
  bool reload = false;  // before connecting: switch between the real root and a look-alike
};

using Outcome = std::pair<std::string, std::string>;  // decision, reason

// The server knows the root only (and its CRL and the intermediate's): a client must send its
// intermediate. Its other configuration trusts a look-alike root (same name and key identifiers,
// another key) instead.
class History {
 public:
  explicit History(bool cache) : cache_(cache) {
    const Cert& root = proxy_.root();
    const Cert& inter = proxy_.intermediate();
    const auto& dir = proxy_.dir();
    Cert other = make_intermediate("Other Intermediate CA", "Acme Test", root, 0);
    Cert expired = make_variant(inter, root, -90 * 86400, -86400);
    Cert not_yet = make_variant(inter, root, 86400, 90 * 86400);
    Cert revoked_inter = make_variant(inter, root, -3600, 90 * 86400);
    Cert fake_root = make_look_alike_root(root);
    dir.write("fake-root.pem", tls::to_pem(fake_root.x509.get()));
    std::vector<Cert> clients;
    for (int i = 0; i < kUnderInter; ++i)
      clients.push_back(make_leaf(CertSpec{.cn = "client" + std::to_string(i), .o = {"Acme Test"}}, &inter));
    clients.push_back(make_leaf(CertSpec{.cn = "carol", .o = {"Acme Test"}}, &other));
    clients.push_back(make_leaf(CertSpec{.cn = "mallory", .o = {"Acme Test"}}, &inter));
    dir.write("crl.pem", crl_pem(root, {&revoked_inter}) + crl_pem(inter, {&clients[kRevoked]}));
    for (int c = 0; c < kClients; ++c) {
      const Cert& leaf = clients[c];
      const Cert& own = c == kCarol ? other : inter;
      const Cert& wrong = c == kCarol ? inter : other;
      const std::string p = "c" + std::to_string(c) + "-";
      write_key(dir, "c" + std::to_string(c) + ".key", leaf);
      write_chain(dir, p + "full.pem", {&leaf, &own});
      write_chain(dir, p + "leaf_only.pem", {&leaf});
      write_chain(dir, p + "wrong_intermediate.pem", {&leaf, &wrong});
      write_chain(dir, p + "root_in_between.pem", {&leaf, &root, &own});
      write_chain(dir, p + "expired.pem", {&leaf, &expired});
      write_chain(dir, p + "not_yet.pem", {&leaf, &not_yet});
      write_chain(dir, p + "revoked_int.pem", {&leaf, &revoked_inter});
      write_chain(dir, p + "expired_then_good.pem", {&leaf, &expired, &own});
      write_chain(dir, p + "good_then_expired.pem", {&leaf, &own, &expired});
    }
    proxy_.start_text(config(/*look_alike=*/false), dir.path());
  }

  Outcome connect(const Step& step) {
    if (step.reload) {
      look_alike_ = !look_alike_;
      if (!proxy_.reload_text(config(look_alike_), proxy_.dir().path()).ok) return {"reload", "failed"};
    }
    const std::string prefix = "c" + std::to_string(step.client);
    {  // the verdict is the handshake's: the line is written when the client hangs up
      TlsClient client(
          proxy_.client(prefix + "-" + kNames[static_cast<int>(step.variant)] + ".pem", prefix + ".key"));
      client.connect();
    }
    auto log = proxy_.wait_for_log(++lines_);
    if (log.size() != lines_) return {"missing", "no access-log line"};
    return {log.back()["decision"], log.back()["reason"]};
  }

 private:
  std::string config(bool look_alike) const {
    ProxyConfig config;
    config.configure_intermediates = false;
    config.tls_extra = look_alike ? "" : "  crl = \"crl.pem\"\n";
    std::string text = proxy_.config_text(config);
    if (look_alike) text.replace(text.find("client_ca = \"root.pem\""), 22, "client_ca = \"fake-root.pem\"");
    if (!cache_) text.replace(text.find("[server]\n"), 9, "[server]\nverified_cache = 0\n");
    return text;
  }

  ProxyHarness proxy_;
  bool cache_;
  bool look_alike_ = false;
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

// An attacker holding one valid certificate, after good chains through the same intermediate
// were seen: every bad chain is still refused for its own reason.
TEST(VerdictHistory, GoodChainsSeenBeforeLetNoBadChainThrough) {
  History server(/*cache=*/true);
  const Outcome admitted{"allow", "ok"};
  for (int c = 0; c < kUnderInter; ++c) EXPECT_EQ(server.connect({c, Variant::full}), admitted);
  EXPECT_EQ(server.connect({1, Variant::expired_intermediate}), Outcome("deny", "expired"));
  EXPECT_EQ(server.connect({1, Variant::not_yet_valid_intermediate}), Outcome("deny", "not_yet_valid"));
  EXPECT_EQ(server.connect({1, Variant::revoked_intermediate}), Outcome("deny", "revoked"));
  EXPECT_EQ(server.connect({1, Variant::expired_then_good}), Outcome("deny", "expired"));
  EXPECT_EQ(server.connect({kRevoked, Variant::full}), Outcome("deny", "revoked"));
  // A reload to a root with the same name and key identifiers but another key.
  EXPECT_EQ(server.connect({2, Variant::full, /*reload=*/true}), Outcome("deny", "bad_signature"));
  EXPECT_EQ(server.connect({3, Variant::full, /*reload=*/true}), admitted);
}

TEST(VerdictHistory, RandomSequencesMeetTheSameVerdictsWithTheCacheOnAndOff) {
  std::mt19937 random(20261206);
  std::vector<Step> steps;
  for (int i = 0; i < 150; ++i) {
    // Mostly the intermediate's many clients, as a real CA's, with an occasional reload.
    const int client = random() % 4 == 0 ? static_cast<int>(random() % kClients) : static_cast<int>(random() % kUnderInter);
    steps.push_back({client, kVariants[random() % std::size(kVariants)], random() % 12 == 0});
  }
  History cached(/*cache=*/true);
  History uncached(/*cache=*/false);
  int admitted = 0, reloads = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Outcome with = cached.connect(steps[i]);
    const Outcome without = uncached.connect(steps[i]);
    EXPECT_EQ(with, without) << "step " << i << ": client " << steps[i].client << ", variant "
                             << kNames[static_cast<int>(steps[i].variant)] << (steps[i].reload ? ", after a reload" : "");
    admitted += with.first == "allow";
    reloads += steps[i].reload;
  }
  EXPECT_GT(admitted, 5);  // the sequence exercised both outcomes, and reloads
  EXPECT_LT(admitted, static_cast<int>(steps.size()));
  EXPECT_GT(reloads, 1);
}

}  // namespace
}  // namespace gatehouse::test
