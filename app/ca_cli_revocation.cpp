// `ca revoke`, `ca renew` and `ca crl`: taking certificates back and publishing that.
#include <ctime>
#include <iostream>

#include "app/ca_cli_common.hpp"
#include "tls/identity.hpp"

namespace gatehouse::app {
namespace {

using tls::ca::Access;
using tls::ca::CaFolder;

const char* const kReasonHelp =
    "keyCompromise, superseded, affiliationChanged, cessationOfOperation, privilegeWithdrawn, cACompromise, "
    "certificateHold, unspecified";

}  // namespace

void add_ca_revocation_commands(CLI::App* ca_cmd, std::function<int()>& action) {
  static CaOptions& o = ca_options();

  auto* revoke = ca_cmd->add_subcommand(
      "revoke", "Revoke a certificate by name, file or serial; with --publish also write the CRL (as `ca crl`)");
  revoke->add_option("dir", o.dir, "CA folder")->required();
  revoke
      ->add_option("what", o.what,
                   "NAME as `ca issue` printed it and `ca export` takes (its current certificate), a "
                   "certificate file, or a serial as `ca list` shows it")
      ->required();
  revoke->add_option("--reason", o.reason, kReasonHelp);
  auto* publish = revoke->add_flag("--publish", o.publish, "Also write DIR/crl.pem and DIR/crl/ now, as `ca crl` does");
  add_days_option(revoke, o.crl_days, "With --publish: days until the CRL's next update is due")
      ->capture_default_str()
      ->needs(publish);
  revoke->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto entry = ca->revoke(o.what, o.reason);
      if (!entry) return fail(entry.error());
      std::cout << "Revoked " << entry->serial << " (" << entry->subject << "), reason " << entry->reason << ".\n";
      if (!o.publish) {
        std::cout << "Publish it: `gatehouse ca crl " << o.dir << "` (or revoke with --publish), then reload the "
                  << "proxy.\n";
        return 0;
      }
      if (int published = publish_crl(*ca, o.crl_days, o.dir); published != 0) return published;
      std::cout << "Reload the proxy (POST /reload on its admin listener, or SIGHUP) so it reads the new CRL.\n";
      return 0;
    };
  });

  auto* renew = ca_cmd->add_subcommand(
      "renew",
      "A new key and certificate for NAME with its names, profile and key type; the old certificate is "
      "revoked as superseded, at once or after --overlap");
  renew->add_option("dir", o.dir, "CA folder")->required();
  renew->add_option("name", o.name, "Name under issued/ (as `ca issue` printed it)")->required();
  add_days_option(renew, o.days, "Validity in days (default: the old certificate's)");
  add_window_options(renew, o);
  renew->add_option("--overlap", o.overlap,
                    "Keep the old certificate valid this long (7d, 12h, 2w) so its holder can switch; the "
                    "revocation is recorded now and `ca crl` lists it once the time has passed");
  renew->callback([&action] {
    action = [] {
      std::int64_t overlap = 0;
      if (!o.overlap.empty()) {
        auto parsed = parse_span(o.overlap, "--overlap");
        if (!parsed) return fail(parsed.error());
        overlap = *parsed;
      }
      auto window = window_of(o);
      if (!window) return fail(window.error());
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto files = ca->renew(o.name, o.days, window->not_before, window->not_after, overlap);
      if (!files) return fail(files.error());
      std::cout << "Renewed '" << o.name << "': serial " << files->serial << "\n  certificate: " << files->cert.string()
                << "\n  key:         " << files->key.string() << " (new; keep it secret)\n"
                << "  full chain:  " << files->chain.string() << "\n";
      if (files->superseded) {
        const auto& old = *files->superseded;
        if (old.revoked_at <= std::time(nullptr))
          std::cout << "The old certificate " << old.serial << " is revoked as superseded. Publish it: "
                    << "`gatehouse ca crl " << o.dir << "`, then reload the proxy.\n";
        else
          std::cout << "The old certificate " << old.serial << " stays valid until " << tls::iso8601(old.revoked_at)
                    << ", then counts as revoked (superseded): the first `gatehouse ca crl " << o.dir
                    << "` after that lists it (the daily CRL timer does).\n";
      }
      std::cout << "Send the holder the new one: `gatehouse ca export " << o.dir << " " << o.name
                << " --p12 --generate-password`.\n";
      return 0;
    };
  });

  auto* crl = ca_cmd->add_subcommand("crl",
                                     "Write the signed CRL(s) to DIR/crl.pem (the proxy's `crl`) and, in DER for a "
                                     "web server, DIR/crl/HASH.crl; each gets a CRL number above any used before "
                                     "(DIR/crlnumber). Without private/root.key only the intermediate's is renewed "
                                     "(the root's last one is kept, with a warning)");
  crl->add_option("dir", o.dir, "CA folder")->required();
  add_days_option(crl, o.crl_days, "Days until the next update is due")->capture_default_str();
  crl->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      return publish_crl(*ca, o.crl_days, o.dir);
    };
  });
}

}  // namespace gatehouse::app
