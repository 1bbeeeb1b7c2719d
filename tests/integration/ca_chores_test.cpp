// The tech lead's week with `gatehouse ca` (issue 18): positive --days, certificates valid in a
// chosen window, re-issue and renewal that revoke the replaced certificate, revoke-and-publish by
// name, `ca list` for people and scripts, .p12 passwords off the command line, and `ca crl` with
// the root key offline. Every check runs the real binary; openssl judges the files.
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/identity.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

class CaChores : public testing::Test {
 protected:
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }
  void make_ca() {
    ASSERT_EQ(gh("ca init " + ca + " --name 'Acme Staging Root'").exit_code, 0);
    ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Staging Intermediate'").exit_code, 0);
  }
  // The serial of a certificate file as openssl prints it in a CRL (hex, no colons).
  std::string serial_hex(const std::string& file) {
    auto r = run_command("openssl x509 -noout -serial -in " + file);
    return r.output.substr(r.output.find('=') + 1, r.output.find('\n') - r.output.find('=') - 1);
  }
  std::string crl_text() { return run_command("openssl crl -noout -text -in " + ca + "/crl.pem").output; }
  nlohmann::json listed() {
    auto r = gh("ca list " + ca + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output, nullptr, false);
  }
  const nlohmann::json* entry(const nlohmann::json& list, const std::string& serial_colons) {
    for (const auto& e : list)
      if (e["serial"] == serial_colons) return &e;
    return nullptr;
  }

  TempDir tmp;
  std::string ca = path("ca");
};

std::string with_colons(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
  return out;
}

TEST_F(CaChores, DaysMustBePositiveForEveryCommand) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  ASSERT_EQ(gh("ca csr --cn carol --out " + path("carol")).exit_code, 0);
  for (const char* days_text : {"0", "-1", "7x"}) {
    const std::string days = days_text;
    for (const std::string& command :
         {"ca init " + path("other") + " --name X", "ca intermediate " + ca + " --name I2 --force",
          "ca issue " + ca + " --cn bob", "ca sign " + ca + " " + path("carol.csr") + " --cn carol", "ca crl " + ca,
          "ca renew " + ca + " alice", "ca revoke " + ca + " alice --publish"}) {
      auto r = gh(command + " --days " + days);
      EXPECT_NE(r.exit_code, 0) << command << " --days " << days << ": " << r.output;
      EXPECT_NE(r.output.find("--days: must be a positive whole number of days, not '" + days + "'"), std::string::npos)
          << command << ": " << r.output;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/bob.pem"));
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/carol.pem"));
  EXPECT_FALSE(std::filesystem::exists(path("other")));
  EXPECT_FALSE(std::filesystem::exists(ca + "/crl.pem"));
  EXPECT_EQ(listed().size(), 2u);  // intermediate and alice, nothing renewed or revoked
  EXPECT_EQ(listed()[1]["status"], "valid");
}

TEST_F(CaChores, NotBeforeAndNotAfterMakeExpiredAndFutureCertificates) {
  make_ca();
  auto r = gh("ca issue " + ca + " --cn old --not-before 2020-01-01 --not-after 2020-02-01T10:30:00Z");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto dates = run_command("openssl x509 -noout -dates -in " + ca + "/issued/old.pem").output;
  EXPECT_NE(dates.find("notBefore=Jan  1 00:00:00 2020 GMT"), std::string::npos) << dates;
  EXPECT_NE(dates.find("notAfter=Feb  1 10:30:00 2020 GMT"), std::string::npos) << dates;
  auto v = run_command("openssl verify -CAfile " + ca + "/root.pem -untrusted " + ca + "/intermediate.pem " + ca +
                       "/issued/old.pem");
  EXPECT_NE(v.output.find("certificate has expired"), std::string::npos) << v.output;

  ASSERT_EQ(gh("ca csr --cn later --out " + path("later")).exit_code, 0);
  r = gh("ca sign " + ca + " " + path("later.csr") +
         " --cn later --not-before 2099-01-01T00:00 --not-after 2099-12-31");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  v = run_command("openssl verify -CAfile " + ca + "/root.pem -untrusted " + ca + "/intermediate.pem " + ca +
                  "/issued/later.pem");
  EXPECT_NE(v.output.find("certificate is not yet valid"), std::string::npos) << v.output;
  auto list = listed();
  EXPECT_EQ(list[1]["status"], "expired");
  EXPECT_EQ(list[1]["not_after"], "2020-02-01T10:30:00Z");
  EXPECT_EQ(list[2]["not_before"], "2099-01-01T00:00:00Z");

  struct Refused {
    std::string flags, says;
  };
  for (const auto& [flags, says] : std::vector<Refused>{
           {"--not-before 2030-01-01 --not-after 2029-01-01", "--not-after (2029-01-01T00:00:00Z) must come after"},
           {"--not-before 2030-01-01 --not-after 2031-01-01 --days 5", "--days excludes --not-before"},
           {"--not-before 2030-01-01", "--not-before requires --not-after"},
           {"--not-before 2030-02-30 --not-after 2031-01-01", "'2030-02-30' is not a valid date"},
           {"--not-before 2030-01-01T00:00+02:00 --not-after 2031-01-01", "is not in UTC"},
           {"--not-before tomorrow --not-after 2031-01-01", "'tomorrow' is not a date"}}) {
    auto refused = gh("ca issue " + ca + " --cn x " + flags);
    EXPECT_NE(refused.exit_code, 0) << flags;
    EXPECT_NE(refused.output.find(says), std::string::npos) << flags << ": " << refused.output;
  }
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/x.pem"));
  for (const char* command : {"issue", "sign", "renew"}) {
    auto help = gh(std::string("ca ") + command + " --help").output;
    EXPECT_NE(help.find("--not-before"), std::string::npos) << help;
    EXPECT_NE(help.find("ISO 8601"), std::string::npos) << help;
    EXPECT_NE(help.find("Excludes: --not-before --not-after"), std::string::npos) << help;
  }
}

TEST_F(CaChores, ReissuingWithForceRevokesTheReplacedCertificate) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  std::string old = serial_hex(ca + "/issued/alice.pem");
  auto r = gh("ca issue " + ca + " --cn alice --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Replaced " + with_colons(old) + ": revoked as superseded"), std::string::npos) << r.output;
  auto list = listed();
  ASSERT_NE(entry(list, with_colons(old)), nullptr);
  EXPECT_EQ((*entry(list, with_colons(old)))["status"], "revoked");
  EXPECT_EQ((*entry(list, with_colons(old)))["reason"], "superseded");
  EXPECT_EQ((*entry(list, with_colons(serial_hex(ca + "/issued/alice.pem"))))["status"], "valid");
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  auto crl = crl_text();
  EXPECT_NE(crl.find("Serial Number: " + old), std::string::npos) << crl;
  EXPECT_NE(crl.find("Superseded"), std::string::npos) << crl;
  EXPECT_EQ(crl.find(serial_hex(ca + "/issued/alice.pem")), std::string::npos) << crl;
}

TEST_F(CaChores, RenewAtOnceKeepsTheNamesWithANewKey) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca +
               " --cn alice --ou testers --o Acme --san email:alice@acme.test --key p384 "
               "--days 30")
                .exit_code,
            0);
  ASSERT_EQ(gh("ca export " + ca + " alice --password-file /dev/null").exit_code, 1);  // empty: refused
  ASSERT_EQ(gh("ca export " + ca + " alice --password x").exit_code, 0);
  std::string old = serial_hex(ca + "/issued/alice.pem");
  std::string old_key = slurp(ca + "/issued/alice.key");
  auto subject = [&] { return run_command("openssl x509 -noout -subject -in " + ca + "/issued/alice.pem").output; };
  std::string old_subject = subject();
  auto r = gh("ca renew " + ca + " alice");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("is revoked as superseded"), std::string::npos) << r.output;
  EXPECT_NE(slurp(ca + "/issued/alice.key"), old_key);
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/alice.p12")) << "the old export must not be sent";
  auto text = run_command("openssl x509 -noout -subject -ext subjectAltName -text -in " + ca + "/issued/alice.pem");
  EXPECT_EQ(subject(), old_subject);
  EXPECT_NE(text.output.find("email:alice@acme.test"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("NIST CURVE: P-384"), std::string::npos) << text.output;
  auto list = listed();
  const auto* now = entry(list, with_colons(serial_hex(ca + "/issued/alice.pem")));
  ASSERT_NE(now, nullptr);
  // The old lifetime, 30 days (its not-before is an hour back, for clock skew).
  EXPECT_GE((*now)["days_left"], 29);
  EXPECT_LE((*now)["days_left"], 30);
  EXPECT_EQ((*entry(list, with_colons(old)))["status"], "revoked");
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  EXPECT_NE(crl_text().find("Serial Number: " + old), std::string::npos);
  // A certificate signed from a CSR has no key here to renew.
  ASSERT_EQ(gh("ca csr --cn bob --out " + path("bob")).exit_code, 0);
  ASSERT_EQ(gh("ca sign " + ca + " " + path("bob.csr") + " --cn bob").exit_code, 0);
  r = gh("ca renew " + ca + " bob");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("was signed from a CSR"), std::string::npos) << r.output;
  r = gh("ca renew " + ca + " nobody");
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(CaChores, RenewWithOverlapRevokesOnceTheOverlapHasPassed) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  std::string old = serial_hex(ca + "/issued/alice.pem");
  auto r = gh("ca renew " + ca + " alice --overlap 7d --days 60");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stays valid until"), std::string::npos) << r.output;
  auto list = listed();
  const auto* before = entry(list, with_colons(old));
  ASSERT_NE(before, nullptr);
  EXPECT_EQ((*before)["status"], "valid");
  EXPECT_GE((*before)["days_left"], 6);  // 7 days less the seconds since, in whole days
  EXPECT_LE((*before)["days_left"], 7);
  EXPECT_EQ((*before)["reason"], "superseded");
  auto table = gh("ca list " + ca).output;
  EXPECT_NE(table.find("superseded, revoked from"), std::string::npos) << table;
  auto crl = gh("ca crl " + ca);
  EXPECT_NE(crl.output.find("Not listed yet: " + with_colons(old)), std::string::npos) << crl.output;
  EXPECT_EQ(crl_text().find(old), std::string::npos);
  // The overlap has passed (the index says when the revocation takes effect): `ca crl` lists it.
  std::string index = slurp(ca + "/index.json");
  auto j = nlohmann::json::parse(index);
  for (auto& e : j["certificates"])
    if (e["serial"] == with_colons(old)) e["revoked_at"] = std::time(nullptr) - 60;
  tmp.write("ca/index.json", j.dump(2));
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  auto text = crl_text();
  EXPECT_NE(text.find("Serial Number: " + old), std::string::npos) << text;
  EXPECT_NE(text.find("Superseded"), std::string::npos) << text;
  EXPECT_EQ((*entry(listed(), with_colons(old)))["status"], "revoked");
  // A revocation still in its overlap can be brought forward.
  ASSERT_EQ(gh("ca renew " + ca + " alice --overlap 30d").exit_code, 0);
  std::string second = serial_hex(ca + "/issued/alice.pem");
  ASSERT_EQ(gh("ca renew " + ca + " alice --overlap 30d").exit_code, 0);
  r = gh("ca revoke " + ca + " " + with_colons(second) + " --reason keyCompromise --publish");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(crl_text().find("Serial Number: " + second), std::string::npos);
  EXPECT_EQ(gh("ca renew " + ca + " alice --overlap soon").exit_code, 1);
}

TEST_F(CaChores, RevokeByNameAndPublishInOneCommand) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn bob --ou testers").exit_code, 0);
  std::string bob = serial_hex(ca + "/issued/bob.pem");
  auto r = gh("ca revoke " + ca + " bob --reason keyCompromise --publish --days 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Revoked " + with_colons(bob)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("valid for 3 day(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Reload the proxy"), std::string::npos) << r.output;
  auto text = crl_text();
  EXPECT_NE(text.find("Serial Number: " + bob), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  // The proxy would see it: `verify` with the published CRL says revoked.
  auto v = gh("verify --ca " + ca + "/root.pem --crl " + ca + "/crl.pem " + ca + "/issued/bob-chain.pem");
  EXPECT_NE(v.output.find("revoked:"), std::string::npos) << v.output;
  r = gh("ca revoke " + ca + " bob");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("is already revoked"), std::string::npos) << r.output;
  // --days is the published CRL's: alone it would be silently ignored.
  r = gh("ca revoke " + ca + " alice --days 3");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--days requires --publish"), std::string::npos) << r.output;
  r = gh("ca revoke " + ca + " nobody-at-all");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("is neither a name under"), std::string::npos) << r.output;
}

TEST_F(CaChores, ListHasAHeaderAFilterAndJson) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice --days 10").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn bob").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn carol --name carol-laptop --days 20").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn old --not-before 2020-01-01 --not-after 2020-02-01").exit_code, 0);
  ASSERT_EQ(gh("ca revoke " + ca + " bob").exit_code, 0);
  auto table = gh("ca list " + ca);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex("^NAME +CN +SERIAL +STATUS +DAYS LEFT +NOT AFTER\n")))
      << table.output;
  EXPECT_TRUE(
      std::regex_search(table.output, std::regex("\nalice +alice +([0-9A-F]{2}:){15}[0-9A-F]{2} +valid +(9|10) +")))
      << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex("\ncarol-laptop +carol +[0-9A-F:]+ +valid +(19|20) +")))
      << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex("\nbob +bob +[0-9A-F:]+ +revoked +- +")));
  EXPECT_TRUE(std::regex_search(table.output, std::regex("\nold +old +[0-9A-F:]+ +expired +-[0-9]+ +2020-02-01")));

  auto soon = gh("ca list " + ca + " --expiring 15d").output;
  EXPECT_NE(soon.find("\nalice "), std::string::npos) << soon;
  for (const char* absent : {"carol", "bob", "old", "intermediate"})
    EXPECT_EQ(soon.find(absent), std::string::npos) << absent << " in:\n" << soon;
  EXPECT_EQ(gh("ca list " + ca + " --expiring 1h").output, "(no valid certificate expires within 1h)\n");
  EXPECT_NE(gh("ca list " + ca + " --expiring soon").exit_code, 0);

  auto list = listed();
  ASSERT_TRUE(list.is_array()) << list;
  ASSERT_EQ(list.size(), 5u);
  std::set<std::string> keys;
  for (const auto& [key, value] : list[1].items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"name", "cn", "subject", "serial", "profile", "status", "days_left",
                                         "not_before", "not_after", "revoked_at", "reason"}));
  EXPECT_EQ(list[1]["name"], "alice");
  EXPECT_GE(list[1]["days_left"], 9);
  EXPECT_LE(list[1]["days_left"], 10);
  EXPECT_EQ(list[2]["status"], "revoked");
  EXPECT_TRUE(list[2]["days_left"].is_null());
  EXPECT_EQ(list[2]["reason"], "unspecified");
  EXPECT_EQ(list[3]["cn"], "carol");
  EXPECT_EQ(list[4]["status"], "expired");
  auto filtered = nlohmann::json::parse(gh("ca list " + ca + " --json --expiring 15d").output);
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0]["name"], "alice");
}

TEST_F(CaChores, CrlWithTheRootKeyOfflineKeepsAndNamesTheRootsCrl) {
  make_ca();
  ASSERT_EQ(gh("ca crl " + ca + " --days 30").exit_code, 0);
  auto count = [&] {
    std::string pem = slurp(ca + "/crl.pem");
    std::size_t n = 0;
    for (auto at = pem.find("BEGIN X509 CRL"); at != std::string::npos; at = pem.find("BEGIN X509 CRL", at + 1)) ++n;
    return n;
  };
  ASSERT_EQ(count(), 2u);
  auto root_crl_expiry =
      run_command("openssl crl -noout -nextupdate -in " + ca + "/crl/" +
                  run_command("openssl x509 -noout -subject_hash -in " + ca + "/root.pem").output.substr(0, 8) +
                  ".crl -inform DER");
  std::filesystem::rename(ca + "/private/root.key", path("root.key.offline"));
  auto r = gh("ca crl " + ca + " --days 7");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: the root's CRL was not renewed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("put root.key back in " + ca + "/private/"), std::string::npos) << r.output;
  // Its expiry, 30 days from the first run, in the warning.
  std::time_t in30 = std::time(nullptr) + 30 * 86400;
  EXPECT_NE(r.output.find("expires " + tls::iso8601(in30).substr(0, 10)), std::string::npos)
      << r.output << root_crl_expiry.output;
  EXPECT_EQ(count(), 2u) << "the root's CRL must not be dropped";
  auto issuers = run_command("openssl storeutl -noout -text -crls " + ca + "/crl.pem | grep Issuer").output;
  EXPECT_NE(issuers.find("CN=Acme Staging Root\n"), std::string::npos) << issuers;

  // A CA whose root key went offline before any CRL: nothing to keep, and it says so.
  std::string other = path("other");
  ASSERT_EQ(gh("ca init " + other + " --name R").exit_code, 0);
  ASSERT_EQ(gh("ca intermediate " + other + " --name I").exit_code, 0);
  std::filesystem::remove(other + "/private/root.key");
  r = gh("ca crl " + other);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("There was no root CRL to keep"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test
