// Ticket keys Gatehouse makes itself: a new key every period, the previous one decrypting for
// one more period, nothing older; a listener's ring is kept by a reload while its period stays.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "app/default_config.hpp"
#include "conf/parse.hpp"
#include "proxy/snapshot.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/pki/dev_pki.hpp"
#include "tls/ticket_ring.hpp"

namespace gatehouse::tls {
namespace {

TEST(TicketKeyRing, RotatesEveryPeriodAndKeepsThePreviousKeyForOneMore) {
  const std::int64_t t0 = 1'000'000;
  TicketKeyRing ring(3600, t0);
  TicketKey first = ring.current(t0);
  EXPECT_EQ(ring.find(first.name, t0 + 3599), &ring.current(t0 + 3599));  // still current

  TicketKey second = ring.current(t0 + 3600);  // rotated
  EXPECT_NE(std::memcmp(first.name, second.name, sizeof first.name), 0);
  const TicketKey* old = ring.find(first.name, t0 + 3601);
  ASSERT_NE(old, nullptr);  // tickets sealed an hour ago still open
  EXPECT_EQ(std::memcmp(old->aes, first.aes, sizeof first.aes), 0);

  ring.current(t0 + 7200);  // the next rotation retires the first key
  EXPECT_EQ(ring.find(first.name, t0 + 7201), nullptr);
  EXPECT_NE(ring.find(second.name, t0 + 7201), nullptr);

  // Idle for more than two periods: nothing from before decrypts any more.
  TicketKey third = ring.current(t0 + 7201);
  ring.current(t0 + 7200 + 3 * 3600);
  EXPECT_EQ(ring.find(third.name, t0 + 7200 + 3 * 3600), nullptr);
}

// A listener's ring passes from the snapshot a reload replaces to the next one, and to no one
// else: two servers built from the same config (the same listener name) never share keys.
TEST(TicketKeyRing, AReloadKeepsTheListenersRingAndAnotherServerHasItsOwn) {
  test::TempDir tmp;
  auto pki = pki::ensure_dev_pki(tmp / "pki");
  ASSERT_TRUE(pki) << pki.error();
  auto parsed = conf::parse_text(app::default_config_text(), "<embedded default>", pki->dir);
  ASSERT_TRUE(parsed.settings) << parsed.diagnostics.to_string();
  conf::Diagnostics problems;
  auto a = proxy::build_snapshot(*parsed.settings, problems);
  auto b = proxy::build_snapshot(*parsed.settings, problems);
  ASSERT_TRUE(a && b) << problems.to_string();
  const auto& ring = a->listeners.at(0).ticket_ring;
  ASSERT_NE(ring, nullptr);
  EXPECT_NE(b->listeners.at(0).ticket_ring, ring);  // another server

  auto reloaded = proxy::build_snapshot(*parsed.settings, problems, a.get());
  ASSERT_TRUE(reloaded) << problems.to_string();
  EXPECT_EQ(reloaded->listeners.at(0).ticket_ring, ring);  // a reload keeps the keys

  conf::Settings slower = *parsed.settings;
  slower.listeners.at(0).tls.ticket_rotation *= 2;
  auto rotated = proxy::build_snapshot(slower, problems, a.get());
  ASSERT_TRUE(rotated) << problems.to_string();
  EXPECT_NE(rotated->listeners.at(0).ticket_ring, ring);  // a new period, new keys
}

TEST(TicketKeyFile, WarnsWhenEveryUserCanReadIt) {
  auto path = std::filesystem::temp_directory_path() / ("gatehouse-tickets-" + std::to_string(::getpid()));
  std::ofstream(path) << std::string(160, 'k');  // two keys
  auto load = [&](mode_t mode) {
    ::chmod(path.c_str(), mode);
    conf::Diagnostics problems;
    auto keys = load_ticket_keys(conf::FileRef{path, {}}, "gh.toml", problems);
    EXPECT_EQ(keys.size(), 2u);
    return problems.warnings_to_string();
  };
  EXPECT_EQ(load(0600), "");
  EXPECT_EQ(load(0640), "");  // a dedicated group (Kubernetes fsGroup)
  EXPECT_NE(load(0644).find("can be read by every user"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gatehouse::tls
