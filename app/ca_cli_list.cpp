// `ca list`: what the CA issued, as a table for people or JSON for scripts, with the same fields.
#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/ca_cli_common.hpp"
#include "tls/identity.hpp"

namespace gatehouse::app {
namespace {

using tls::ca::Access;
using tls::ca::CaFolder;
using tls::ca::IndexEntry;

struct Row {
  const IndexEntry* entry;
  std::string cn, status;
  std::optional<std::int64_t> days_left;  // none for a revoked certificate
  std::optional<std::int64_t> revocation_scheduled;
};

// The CN of an RFC 2253 subject ("CN=alice,OU=testers"), unescaped; "" when it has none.
std::string cn_of(const std::string& subject) {
  std::string value;
  bool in_cn = subject.starts_with("CN=");
  for (std::size_t i = in_cn ? 3 : 0; i < subject.size(); ++i) {
    char c = subject[i];
    if (c == '\\' && i + 1 < subject.size()) {
      if (in_cn) value += subject[i + 1];
      ++i;
    } else if (c == ',') {
      if (in_cn) return value;
      in_cn = subject.compare(i + 1, 3, "CN=") == 0;
      if (in_cn) i += 3;
    } else if (in_cn) {
      value += c;
    }
  }
  return value;
}

std::int64_t floor_days(std::int64_t seconds) { return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400); }

Row row_of(const IndexEntry& e, std::int64_t now) {
  Row r{&e, cn_of(e.subject), "valid", std::nullopt, std::nullopt};
  if (tls::ca::CaIndex::revoked_by(e, now)) {
    r.status = "revoked";
    return r;
  }
  if (e.revoked) r.revocation_scheduled = e.revoked_at;
  r.status = e.not_after < now ? "expired" : "valid";
  // A superseded certificate in its overlap is usable only until its revocation takes effect.
  std::int64_t end = e.revoked ? std::min(e.not_after, e.revoked_at) : e.not_after;
  r.days_left = floor_days(end - now);
  return r;
}

nlohmann::json json_of(const Row& r) {
  const IndexEntry& e = *r.entry;
  nlohmann::json j = {{"name", e.name},
                      {"cn", r.cn},
                      {"subject", e.subject},
                      {"serial", e.serial},
                      {"profile", e.profile},
                      {"status", r.status},
                      {"days_left", r.days_left ? nlohmann::json(*r.days_left) : nlohmann::json()},
                      {"not_before", tls::iso8601(e.not_before)},
                      {"not_after", tls::iso8601(e.not_after)},
                      {"revoked_at", e.revoked ? nlohmann::json(tls::iso8601(e.revoked_at)) : nlohmann::json()},
                      {"reason", e.revoked ? nlohmann::json(e.reason) : nlohmann::json()}};
  return j;
}

void print_table(const std::vector<Row>& rows) {
  const std::vector<std::string> head = {"NAME", "CN", "SERIAL", "STATUS", "DAYS LEFT", "NOT AFTER"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows)
    cells.push_back({r.entry->name, r.cn, r.entry->serial, r.status, r.days_left ? std::to_string(*r.days_left) : "-",
                     tls::iso8601(r.entry->not_after)});
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& line : cells) width[c] = std::max(width[c], line[c].size());
  }
  auto print = [&](const std::vector<std::string>& line) {
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (c + 1 == line.size())
        std::cout << line[c];
      else
        std::cout << std::left << std::setw(static_cast<int>(width[c] + 2)) << line[c];
    }
    std::cout << "\n";
  };
  print(head);
  for (const auto& line : cells) print(line);
  for (const auto& r : rows) {
    if (r.status == "revoked")
      std::cout << "  " << r.entry->name << " " << r.entry->serial << ": revoked " << tls::iso8601(r.entry->revoked_at)
                << " (" << r.entry->reason << ")\n";
    else if (r.revocation_scheduled)
      std::cout << "  " << r.entry->name << " " << r.entry->serial << ": superseded, revoked from "
                << tls::iso8601(*r.revocation_scheduled) << " (after the overlap)\n";
  }
}

}  // namespace

void add_ca_list_command(CLI::App* ca_cmd, std::function<int()>& action) {
  static CaOptions& o = ca_options();
  auto* list = ca_cmd->add_subcommand(
      "list",
      "Show every certificate the CA issued: NAME, CN, SERIAL, STATUS (valid/expired/revoked), DAYS LEFT, "
      "NOT AFTER");
  list->add_option("dir", o.dir, "CA folder")->required();
  list->add_option("--expiring", o.expiring,
                   "Only valid certificates that expire within this (30d, 12h, 2w): what to renew next");
  list->add_flag("--json", o.json,
                 "A JSON array instead of the table; keys: name, cn, subject, serial, profile, status, "
                 "days_left (null when revoked), not_before, not_after, revoked_at, reason (null unless revoked; a "
                 "valid certificate with a future revoked_at was superseded and is revoked from then)");
  list->callback([&action] {
    action = [] {
      std::optional<std::int64_t> within;
      if (!o.expiring.empty()) {
        auto span = parse_span(o.expiring, "--expiring");
        if (!span) return fail(span.error());
        within = *span;
      }
      auto ca = CaFolder::open(o.dir, Access::read_only);
      if (!ca) return fail(ca.error());
      const std::int64_t now = std::time(nullptr);
      std::vector<Row> rows;
      for (const auto& e : ca->entries()) {
        Row r = row_of(e, now);
        if (within && (r.status != "valid" || e.not_after - now > *within)) continue;
        rows.push_back(std::move(r));
      }
      if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows) out.push_back(json_of(r));
        std::cout << out.dump(2) << "\n";
        return 0;
      }
      if (rows.empty()) {
        std::cout << (within ? "(no valid certificate expires within " + o.expiring + ")\n" : "(nothing issued yet)\n");
        return 0;
      }
      print_table(rows);
      return 0;
    };
  });
}

}  // namespace gatehouse::app
