#include "proxy/admin/clients_report.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "conf/duration.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::admin {
namespace {

// A client's bytes quoted back in an error: printable ASCII only, and not much of it.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (text.size() > 40 ? "...'" : "'");
}

}  // namespace

SeenGathering gather_seen(std::vector<std::future<std::vector<SeenClient>>> answers,
                          std::chrono::steady_clock::time_point deadline) {
  SeenGathering out;
  out.workers = answers.size();
  std::vector<std::vector<SeenClient>> copies;
  for (auto& answer : answers) {
    if (answer.wait_until(deadline) != std::future_status::ready) {
      ++out.unanswered;
      continue;
    }
    try {
      copies.push_back(answer.get());
    } catch (const std::future_error&) {  // the worker's loop ended without running the request
      ++out.unanswered;
    }
  }
  out.clients = merge_seen(copies);
  return out;
}

std::vector<SeenClient> merge_seen(const std::vector<std::vector<SeenClient>>& per_worker) {
  std::map<std::string, SeenClient> by_fingerprint;
  for (const auto& copy : per_worker)
    for (const SeenClient& entry : copy) {
      auto [at, fresh] = by_fingerprint.try_emplace(entry.fingerprint, entry);
      if (fresh) continue;
      SeenClient& merged = at->second;
      merged.admitted += entry.admitted;
      merged.refused += entry.refused;
      merged.first_seen = std::min(merged.first_seen, entry.first_seen);
      if (entry.last_seen > merged.last_seen) {
        merged.last_seen = entry.last_seen;
        merged.listener = entry.listener;
        merged.last_reason = entry.last_reason;
        merged.verified = entry.verified;
      }
    }
  std::vector<SeenClient> out;
  out.reserve(by_fingerprint.size());
  for (auto& [fingerprint, entry] : by_fingerprint) out.push_back(std::move(entry));
  return out;
}

Result<ClientsQuery> parse_clients_query(std::string_view query) {
  using R = Result<ClientsQuery>;
  ClientsQuery out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (key != "expiring") return R::failure("unknown parameter " + quoted(key) + "; /clients takes only expiring");
    if (out.expiring) return R::failure("expiring is given twice");
    auto duration = conf::parse_duration(value);
    if (!duration)
      return R::failure("expiring=" + quoted(value) +
                        " is not a duration: write a whole number and a unit (d, h, m, s or ms), e.g. expiring=14d");
    out.expiring = std::chrono::duration_cast<std::chrono::seconds>(*duration);
  }
  return out;
}

std::int64_t days_left(std::int64_t not_after, std::int64_t now) {
  const std::int64_t seconds = not_after - now;
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

std::string clients_json(const std::vector<SeenClient>& clients, const ClientsQuery& query, std::int64_t now) {
  std::vector<const SeenClient*> shown;
  for (const SeenClient& c : clients)
    if (!query.expiring || c.not_after - now <= query.expiring->count()) shown.push_back(&c);
  std::sort(shown.begin(), shown.end(), [](const SeenClient* a, const SeenClient* b) {
    return a->not_after != b->not_after ? a->not_after < b->not_after : a->fingerprint < b->fingerprint;
  });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const SeenClient* c : shown)
    out.push_back({{"subject", c->subject},
                   {"issuer", c->issuer},
                   {"serial", c->serial},
                   {"fingerprint_sha256", c->fingerprint},
                   {"not_after", tls::iso8601(c->not_after)},
                   {"days_left", days_left(c->not_after, now)},
                   {"first_seen", tls::iso8601(c->first_seen)},
                   {"last_seen", tls::iso8601(c->last_seen)},
                   {"listener", c->listener},
                   {"admitted", c->admitted},
                   {"refused", c->refused},
                   {"last_reason", std::string(reason_keyword(c->last_reason))},
                   {"verified", c->verified}});
  // A subject is the client's bytes: invalid UTF-8 is replaced, never a broken document.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

SeenCounts seen_counts(const std::vector<SeenClient>& clients, std::int64_t now) {
  SeenCounts out;
  for (const SeenClient& c : clients) {
    if (c.admitted) ++out.admitted;
    if (c.refused) ++out.refused;
    if (c.admitted && c.not_after - now <= kExpiringSoon.count()) ++out.expiring_soon;
  }
  return out;
}

}  // namespace gatehouse::proxy::admin
