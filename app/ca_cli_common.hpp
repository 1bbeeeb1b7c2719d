// What the `gatehouse ca` command files share: the option values, the validity and duration
// options, and how a CRL is written and reported (by `ca crl` and `ca revoke --publish`).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tls/ca/ca_folder.hpp"

namespace gatehouse::app {

// Values of the options; one per process, so a static holder keeps CLI11 bindings simple.
struct CaOptions {
  std::string dir, name, key = "p256", profile = "client", csr_file, out, what, reason = "unspecified";
  std::string password, password_file, crl_url, not_before, not_after, overlap, expiring;
  std::string bundle_dir, site, contact;     // `export --bundle [DIR] --site --contact`
  std::vector<std::string> cn, o, ou, sans;  // cn: a list only so that a repeated --cn is seen and refused
  int days = 0, path_len = -1, crl_days = 7;
  bool force = false, legacy = false, use_csr_names = false, publish = false, json = false;
  bool generate_password = false;
};
CaOptions& ca_options();

int fail(const std::string& message);
tls::pki::KeyType key_type(const std::string& k);

// --days as a positive whole number: 0 or -1 is an error naming the option, never the default.
CLI::Option* add_days_option(CLI::App* cmd, int& days, const std::string& help);
// --not-before/--not-after (ISO 8601, UTC), exclusive with --days (already added to `cmd`).
void add_window_options(CLI::App* cmd, CaOptions& o);

// "2027-03-05", "2027-03-05T12:00", "2027-03-05T12:00:00Z" (UTC) as Unix seconds, or an error.
Result<std::int64_t> parse_utc_time(const std::string& text, const std::string& option);
// "7d", "12h", "2w" or a bare number of days, as seconds (>= 0), or an error naming `option`.
Result<std::int64_t> parse_span(const std::string& text, const std::string& option);
// The absolute window the options give, if any (both or neither), checked.
struct Window {
  std::optional<std::int64_t> not_before, not_after;
};
Result<Window> window_of(const CaOptions& o);

// Writes crl.pem like `ca crl` and says on stdout/stderr what it did and what it could not.
int publish_crl(tls::ca::CaFolder& ca, int days, const std::string& dir);

// The commands, one registration function per file.
void add_ca_issue_commands(CLI::App* ca_cmd, std::function<int()>& action);
void add_ca_revocation_commands(CLI::App* ca_cmd, std::function<int()>& action);
void add_ca_list_command(CLI::App* ca_cmd, std::function<int()>& action);
void add_ca_export_command(CLI::App* ca_cmd, std::function<int()>& action);

}  // namespace gatehouse::app
