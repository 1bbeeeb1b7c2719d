// The per-worker table of client certificates seen lately: its bound, which entry it evicts,
// its 24 h window (the clock is the test's), and the /clients query and merge.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "proxy/admin/clients_report.hpp"
#include "proxy/seen_clients.hpp"

namespace gatehouse::proxy {
namespace {

constexpr std::int64_t kT0 = 1'800'000'000;  // a fixed "now", Unix seconds

tls::PeerIdentity cert(const std::string& name, std::int64_t not_after = kT0 + 30 * 86400) {
  tls::PeerIdentity id;
  id.subject = "CN=" + name;
  id.issuer = "CN=Test CA";
  id.serial = "01";
  id.fingerprint = "fp-" + name;
  id.not_after = not_after;
  return id;
}

std::vector<std::string> fingerprints(const std::vector<SeenClient>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.fingerprint);
  return out;
}

TEST(SeenClients, CountsAdmissionsAndRefusalsPerCertificate) {
  SeenClients table;
  table.record(cert("alice"), true, "web", Reason::ok, kT0);
  table.record(cert("alice"), true, "web", Reason::ok, kT0 + 5);
  table.record(cert("mallory"), false, "web", Reason::untrusted_issuer, kT0 + 7);
  auto seen = table.copy(kT0 + 10);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].fingerprint, "fp-mallory");  // most recently seen first
  EXPECT_EQ(seen[0].refused, 1u);
  EXPECT_FALSE(seen[0].verified);
  EXPECT_EQ(seen[0].last_reason, Reason::untrusted_issuer);
  EXPECT_EQ(seen[1].admitted, 2u);
  EXPECT_EQ(seen[1].first_seen, kT0);
  EXPECT_EQ(seen[1].last_seen, kT0 + 5);
  EXPECT_TRUE(seen[1].verified);
}

TEST(SeenClients, EvictsTheLeastRecentlySeenAtItsBound) {
  SeenClients table(8, std::chrono::hours(24));
  for (int i = 0; i < 8; ++i) table.record(cert("c" + std::to_string(i)), true, "web", Reason::ok, kT0 + i);
  table.record(cert("c0"), true, "web", Reason::ok, kT0 + 10);  // c0 is now the most recent
  table.record(cert("new"), true, "web", Reason::ok, kT0 + 11);
  EXPECT_EQ(table.size(), 8u);
  auto seen = fingerprints(table.copy(kT0 + 12));
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "fp-c1"), 0);  // the least recently seen went
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "fp-c0"), 1);
  EXPECT_EQ(seen.front(), "fp-new");
}

TEST(SeenClients, StrangersNeverPushTheVerifiedOut) {
  SeenClients table(8, std::chrono::hours(24));
  for (int i = 0; i < 6; ++i) table.record(cert("tester" + std::to_string(i)), true, "web", Reason::ok, kT0);
  for (int i = 0; i < 100; ++i)
    table.record(cert("stranger" + std::to_string(i)), false, "web", Reason::untrusted_issuer, kT0 + 1 + i);
  auto seen = table.copy(kT0 + 200);
  EXPECT_EQ(seen.size(), 8u);
  std::size_t verified = 0, strangers = 0;
  for (const auto& e : seen) (e.verified ? verified : strangers) += 1;
  EXPECT_EQ(verified, 6u);
  EXPECT_EQ(strangers, 2u);  // a quarter of 8
  EXPECT_EQ(seen.front().fingerprint, "fp-stranger99");
}

TEST(SeenClients, EntriesOlderThanTheWindowDropOut) {
  SeenClients table(16, std::chrono::hours(24));
  table.record(cert("old"), true, "web", Reason::ok, kT0);
  table.record(cert("recent"), true, "web", Reason::ok, kT0 + 3600);
  EXPECT_EQ(table.copy(kT0 + 86400).size(), 2u);  // exactly 24 h: still in
  auto later = table.copy(kT0 + 86401);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].fingerprint, "fp-recent");
  EXPECT_EQ(table.size(), 1u);  // forgotten, not only hidden
  table.record(cert("old"), true, "web", Reason::ok, kT0 + 90000);
  auto back = table.copy(kT0 + 90000);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].first_seen, kT0 + 90000);  // seen again: a new entry
  EXPECT_EQ(back[0].admitted, 1u);
}

TEST(SeenClients, MovesWithItsLastSightingWhenVerificationDiffers) {
  SeenClients table(8, std::chrono::hours(24));
  table.record(cert("alice"), true, "web", Reason::ok, kT0);
  table.record(cert("alice"), false, "other", Reason::untrusted_issuer, kT0 + 1);
  auto seen = table.copy(kT0 + 2);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].verified);
  EXPECT_EQ(seen[0].listener, "other");
  EXPECT_EQ(seen[0].admitted, 1u);
  EXPECT_EQ(seen[0].refused, 1u);
}

TEST(SeenClients, KeepsOnlyTheFirstKibOfAHugeSubject) {
  SeenClients table;
  auto huge = cert("huge");
  huge.subject = "CN=" + std::string(100'000, 'x');
  table.record(huge, false, "web", Reason::untrusted_issuer, kT0);
  auto seen = table.copy(kT0);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_LE(seen[0].subject.size(), 1024u + 3);
  EXPECT_EQ(seen[0].subject.substr(0, 4), "CN=x");
}

TEST(ClientsReport, MergesWorkersByFingerprint) {
  SeenClient a{.fingerprint = "f", .first_seen = kT0 + 5, .last_seen = kT0 + 5, .listener = "one", .admitted = 1};
  SeenClient b{.fingerprint = "f",
               .first_seen = kT0,
               .last_seen = kT0 + 9,
               .listener = "two",
               .refused = 2,
               .last_reason = Reason::expired};
  auto merged = admin::merge_seen({{a}, {b}});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].admitted, 1u);
  EXPECT_EQ(merged[0].refused, 2u);
  EXPECT_EQ(merged[0].first_seen, kT0);
  EXPECT_EQ(merged[0].last_seen, kT0 + 9);
  EXPECT_EQ(merged[0].listener, "two");
  EXPECT_EQ(merged[0].last_reason, Reason::expired);
}

TEST(ClientsReport, QueryTakesOnlyAnExpiringDuration) {
  EXPECT_FALSE(admin::parse_clients_query("")->expiring);
  auto fortnight = admin::parse_clients_query("expiring=14d");
  ASSERT_TRUE(fortnight) << fortnight.error();
  EXPECT_EQ(*fortnight->expiring, std::chrono::hours(24 * 14));
  auto bad = admin::parse_clients_query("expiring=soon");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("'soon' is not a duration"), std::string::npos) << bad.error();
  EXPECT_FALSE(admin::parse_clients_query("expiring=14d&expiring=1d"));
  EXPECT_FALSE(admin::parse_clients_query("expiring="));
  auto other = admin::parse_clients_query("who=%0d%0aX");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().find('\n'), std::string::npos);
}

TEST(ClientsReport, DaysLeftRoundDownAndSortSoonestFirst) {
  EXPECT_EQ(admin::days_left(kT0 + 86400 + 5, kT0), 1);
  EXPECT_EQ(admin::days_left(kT0 - 5, kT0), -1);
  std::vector<SeenClient> clients{{.fingerprint = "late", .not_after = kT0 + 90 * 86400},
                                  {.fingerprint = "soon", .not_after = kT0 + 3 * 86400},
                                  {.fingerprint = "gone", .not_after = kT0 - 86400}};
  auto all = nlohmann::json::parse(admin::clients_json(clients, {}, kT0));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["fingerprint_sha256"], "gone");
  EXPECT_EQ(all[1]["days_left"], 3);
  EXPECT_EQ(all[2]["fingerprint_sha256"], "late");
  auto soon = nlohmann::json::parse(admin::clients_json(clients, {std::chrono::hours(24 * 14)}, kT0));
  EXPECT_EQ(soon.size(), 2u);
}

// A worker that does not answer by the deadline is left out, and the answer says so.
TEST(ClientsReport, AStuckWorkerGivesAPartialAnswer) {
  std::promise<std::vector<SeenClient>> answered, stuck, gone;
  answered.set_value({SeenClient{.fingerprint = "f", .admitted = 1}});
  std::vector<std::future<std::vector<SeenClient>>> answers;
  answers.push_back(answered.get_future());
  answers.push_back(stuck.get_future());
  answers.push_back(gone.get_future());
  { auto dropped = std::move(gone); }  // its loop ended without running the request
  auto gathered = admin::gather_seen(std::move(answers), std::chrono::steady_clock::now());
  EXPECT_EQ(gathered.workers, 3u);
  EXPECT_EQ(gathered.unanswered, 2u);
  ASSERT_EQ(gathered.clients.size(), 1u);
  EXPECT_EQ(gathered.clients[0].fingerprint, "f");
}

}  // namespace
}  // namespace gatehouse::proxy
