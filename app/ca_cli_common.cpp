#include "app/ca_cli_common.hpp"

#include <ctime>
#include <iostream>
#include <regex>

#include "tls/identity.hpp"

namespace gatehouse::app {

using tls::pki::KeyType;

CaOptions& ca_options() {
  static CaOptions options;
  return options;
}

int fail(const std::string& message) {
  std::cerr << "gatehouse ca: " << message << "\n";
  return 1;
}

KeyType key_type(const std::string& k) {
  if (k == "rsa2048") return KeyType::rsa2048;
  if (k == "rsa4096") return KeyType::rsa4096;
  if (k == "p384") return KeyType::ecdsa_p384;
  return KeyType::ecdsa_p256;
}

CLI::Option* add_days_option(CLI::App* cmd, int& days, const std::string& help) {
  CLI::Validator positive(
      [](std::string& text) -> std::string {
        std::size_t used = 0;
        long value = 0;
        try {
          value = std::stol(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || used == 0 || value <= 0)
          return "must be a positive whole number of days, not '" + text + "'";
        if (value > 100000) return "must be at most 100000 days (about 270 years), not " + text;
        return "";
      },
      "DAYS>0");
  return cmd->add_option("--days", days, help)->check(positive);
}

void add_window_options(CLI::App* cmd, CaOptions& o) {
  auto* days = cmd->get_option("--days");
  auto* nb = cmd->add_option("--not-before", o.not_before,
                             "Valid from this UTC date or time (ISO 8601: 2027-03-05 or 2027-03-05T12:00:00Z), "
                             "e.g. in the future for a not-yet-valid certificate; needs --not-after, not --days");
  auto* na = cmd->add_option("--not-after", o.not_after,
                             "Valid until this UTC date or time (ISO 8601), after --not-before; in the past "
                             "makes an expired certificate on purpose (for tests)");
  nb->excludes(days)->needs(na);
  na->excludes(days)->needs(nb);
}

Result<std::int64_t> parse_utc_time(const std::string& text, const std::string& option) {
  using RT = Result<std::int64_t>;
  auto bad = [&](const std::string& why) {
    return RT::failure(option + " '" + text + "' " + why +
                       ": give an ISO 8601 UTC date or time, like 2027-03-05 or 2027-03-05T12:00:00Z");
  };
  static const std::regex kIso(R"(^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|\+00:?00)?$)");
  static const std::regex kOffset(R"(^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?[+-]\d{2}:?\d{2}$)");
  std::smatch m;
  if (std::regex_match(text, kOffset)) return bad("is not in UTC (end it with Z, or with nothing)");
  if (!std::regex_match(text, m, kIso)) return bad("is not a date");
  auto field = [&](int i) { return m[i].matched ? std::stoi(m[i].str()) : 0; };
  const int y = field(1), mo = field(2), d = field(3), h = field(4), mi = field(5), s = field(6);
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  const std::time_t t = timegm(&tm);
  // timegm turns 2027-02-30 into March 2: a date that changes on the way was not a date.
  std::tm back{};
  gmtime_r(&t, &back);
  if (y < 1950 || back.tm_year != y - 1900 || back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h ||
      back.tm_min != mi || back.tm_sec != s)
    return bad("is not a valid date");
  return static_cast<std::int64_t>(t);
}

Result<std::int64_t> parse_span(const std::string& text, const std::string& option) {
  using RT = Result<std::int64_t>;
  std::size_t used = 0;
  long long value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = used ? text.substr(used) : "";
  const std::int64_t scale = unit.empty() || unit == "d" ? 86400 : unit == "h" ? 3600 : unit == "w" ? 7 * 86400 : 0;
  if (used == 0 || value < 0 || scale == 0 || value > 100000)
    return RT::failure(option + " '" + text + "' is not a duration: give days like 7d (or 12h, 2w)");
  return static_cast<std::int64_t>(value) * scale;
}

Result<Window> window_of(const CaOptions& o) {
  if (o.not_before.empty() && o.not_after.empty()) return Window{};
  auto nb = parse_utc_time(o.not_before, "--not-before");
  if (!nb) return Result<Window>::failure(nb.error());
  auto na = parse_utc_time(o.not_after, "--not-after");
  if (!na) return Result<Window>::failure(na.error());
  if (*na <= *nb)
    return Result<Window>::failure("--not-after (" + tls::iso8601(*na) + ") must come after --not-before (" +
                                   tls::iso8601(*nb) + ")");
  return Window{*nb, *na};
}

int publish_crl(tls::ca::CaFolder& ca, int days, const std::string& dir) {
  tls::ca::CrlWarnings warnings;
  auto path = ca.write_crl(days, &warnings);
  if (!path) return fail(path.error());
  if (!warnings.counter_behind.empty()) std::cerr << "gatehouse ca: warning: " << warnings.counter_behind << "\n";
  for (const auto& serial : warnings.carried_over)
    std::cerr << "gatehouse ca: warning: " << serial << " is revoked in the last crl.pem but not in index.json "
              << "(restored from a backup?); it stays revoked in the new CRL\n";
  if (warnings.root_not_renewed) {
    std::cerr << "gatehouse ca: warning: the root's CRL was not renewed: " << (ca.dir() / "private/root.key").string()
              << " is not here (offline, as advised). ";
    const std::int64_t next = warnings.root_crl_next_update;
    if (next == 0)
      std::cerr << "There was no root CRL to keep, so a revoked intermediate is listed nowhere. ";
    else
      std::cerr << "Its last one was kept as it was; it expires " << tls::iso8601(next)
                << (next < std::time(nullptr) ? " (already expired: a proxy with crl_stale = \"reject\" refuses "
                                                "every client of this CA)"
                                              : "")
                << ". ";
    std::cerr << "To renew it: put root.key back in " << (ca.dir() / "private").string() << "/, run `gatehouse ca crl "
              << dir << "` again, then take the key offline again.\n";
  }
  for (const auto& e : warnings.scheduled)
    std::cout << "Not listed yet: " << e.serial << " (" << e.subject << "), superseded, revoked from "
              << tls::iso8601(e.revoked_at) << "; the first `ca crl` after that lists it (the daily timer does)\n";
  std::cout << "Wrote " << path->string() << ", valid for " << days << " day(s)\n";
  if (!ca.crl_base_url().empty())
    std::cout << "Publish " << (ca.dir() / "crl").string() << "/*.crl at " << ca.crl_base_url()
              << "/ (the proxy's admin listener serves the CRLs it loads under /crl/)\n";
  return 0;
}

}  // namespace gatehouse::app
