// GET /clients and the client-certificate gauges: the workers' tables of certificates seen
// lately (proxy/seen_clients.hpp), gathered and merged by fingerprint.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "proxy/seen_clients.hpp"

namespace gatehouse::proxy::admin {

// How long the admin thread waits for the workers' copies: a stuck worker costs a partial
// answer, never a hung admin listener.
inline constexpr std::chrono::milliseconds kSeenClientsTimeout{500};
// "Expiring soon" for gatehouse_client_certificates_expiring_soon.
inline constexpr std::chrono::seconds kExpiringSoon = std::chrono::hours(24 * 14);

struct SeenGathering {
  std::vector<SeenClient> clients;  // one per fingerprint
  std::size_t workers = 0;
  std::size_t unanswered = 0;  // workers that did not answer by the deadline: a partial answer
};

// Waits for each worker's copy until `deadline`, and merges them by fingerprint: counts add
// up, first and last seen widen, the latest sighting gives listener, reason and verified.
SeenGathering gather_seen(std::vector<std::future<std::vector<SeenClient>>> answers,
                          std::chrono::steady_clock::time_point deadline);
std::vector<SeenClient> merge_seen(const std::vector<std::vector<SeenClient>>& per_worker);

struct ClientsQuery {
  std::optional<std::chrono::seconds> expiring;  // only certificates with not_after before now + this
};
// The query string of GET /clients ("", "expiring=14d"); an error says what is wrong.
Result<ClientsQuery> parse_clients_query(std::string_view query);

// Whole days until `not_after`, rounded down: negative once it expired.
std::int64_t days_left(std::int64_t not_after, std::int64_t now);
// The JSON array of /clients, sorted by days_left (soonest first).
std::string clients_json(const std::vector<SeenClient>& clients, const ClientsQuery& query, std::int64_t now);

struct SeenCounts {
  std::uint64_t admitted = 0;       // distinct certificates admitted at least once in the window
  std::uint64_t refused = 0;        // ... refused at least once (one can count in both)
  std::uint64_t expiring_soon = 0;  // admitted ones with not_after within kExpiringSoon
};
SeenCounts seen_counts(const std::vector<SeenClient>& clients, std::int64_t now);

}  // namespace gatehouse::proxy::admin
