// `gatehouse ca` under attack (issue 16): parallel runs lose nothing, a missing or misshapen
// index stops the CA instead of emptying it, CRL numbers never go back, `ca sign` issues only
// the names the operator chose, and the folders stay private whatever the umask. Each test
// reproduces a finding against the real binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/bssl.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

// Every CRL number in a PEM file of CRLs, in order.
std::vector<long> crl_numbers(const std::string& file) {
  std::string pem = slurp(file);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<long> out;
  while (bssl::UniquePtr<X509_CRL> crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) {
    bssl::UniquePtr<ASN1_INTEGER> n(
        static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
    out.push_back(n ? ASN1_INTEGER_get(n.get()) : -1);
  }
  ERR_clear_error();
  return out;
}

// A CSR minted here, asking for whatever an attacker wants: several CNs, any SAN bytes.
std::string attacker_csr(const std::vector<std::pair<int, std::string>>& subject, int san_type,
                         const std::vector<std::string>& sans) {
  auto key = tls::pki::generate_key(tls::pki::KeyType::ecdsa_p256);
  bssl::UniquePtr<X509_REQ> req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& [nid, value] : subject)
    X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(value.data()),
                               static_cast<int>(value.size()), -1, 0);
  if (!sans.empty()) {
    bssl::UniquePtr<GENERAL_NAMES> names(GENERAL_NAMES_new());
    for (const auto& s : sans) {
      bssl::UniquePtr<GENERAL_NAME> gn(GENERAL_NAME_new());
      bssl::UniquePtr<ASN1_IA5STRING> text(ASN1_IA5STRING_new());
      ASN1_STRING_set(text.get(), s.data(), static_cast<int>(s.size()));
      GENERAL_NAME_set0_value(gn.get(), san_type, text.release());
      sk_GENERAL_NAME_push(names.get(), gn.release());
    }
    bssl::UniquePtr<STACK_OF(X509_EXTENSION)> exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_REQ_sign(req.get(), key.get(), EVP_sha256());
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return tls::bio_text(bio.get());
}

class CaIntegrity : public testing::Test {
 protected:
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }
  void make_ca() {
    ASSERT_EQ(gh("ca init " + ca + " --name 'Acme Root'").exit_code, 0);
    ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Intermediate'").exit_code, 0);
  }
  // Runs each command as its own process, all at once; returns each one's exit code and output.
  std::vector<CommandResult> in_parallel(const std::vector<std::string>& commands) {
    std::string script;
    for (size_t i = 0; i < commands.size(); ++i) {
      std::string out = path("run-" + std::to_string(i));
      script += "( " + kBinary + " " + commands[i] + " >" + out + ".out 2>&1; echo $? >" + out + ".rc ) & ";
    }
    run_command(script + "wait");
    std::vector<CommandResult> results;
    for (size_t i = 0; i < commands.size(); ++i) {
      std::string out = path("run-" + std::to_string(i));
      results.push_back({std::stoi(slurp(out + ".rc")), slurp(out + ".out")});
    }
    return results;
  }
  std::string serial_of(const std::string& cert) {
    auto r = run_command("openssl x509 -noout -serial -in " + cert);
    return r.output.substr(r.output.find('=') + 1, r.output.find('\n') - r.output.find('=') - 1);
  }

  TempDir tmp;
  std::string ca = path("ca");
};

TEST_F(CaIntegrity, TwentyParallelIssuancesAllReachTheIndex) {
  make_ca();
  std::vector<std::string> commands;
  for (int i = 0; i < 20; ++i) commands.push_back("ca issue " + ca + " --cn user" + std::to_string(i));
  auto results = in_parallel(commands);
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r.output;
  auto list = gh("ca list " + ca);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (int i = 0; i < 20; ++i)
    EXPECT_NE(list.output.find("\nuser" + std::to_string(i) + " "), std::string::npos) << "user" << i << " lost:\n"
                                                                                       << list.output;
  EXPECT_EQ(std::count(list.output.begin(), list.output.end(), '\n'), 22) << list.output;  // + header, intermediate
  EXPECT_TRUE(std::filesystem::exists(ca + "/ca.lock"));
}

// The test holds DIR/ca.lock itself, shared, as `ca list` would.
TEST_F(CaIntegrity, WritersWaitForTheLockReadersShareIt) {
  make_ca();
  int fd = ::open((ca + "/ca.lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH), 0);
  auto list = gh("ca list " + ca);
  EXPECT_EQ(list.exit_code, 0) << list.output;  // readers share
  // A writer waits: still waiting when `timeout` ends it (an unlocked issue takes milliseconds).
  auto blocked = run_command("timeout 2 " + kBinary + " ca issue " + ca + " --cn bob");
  EXPECT_EQ(blocked.exit_code, 124) << blocked.output;
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/bob.pem"));
  ::close(fd);
  auto after = gh("ca issue " + ca + " --cn bob");
  EXPECT_EQ(after.exit_code, 0) << after.output;
}

TEST_F(CaIntegrity, RevocationBesideIssuancesIsNeverLost) {
  make_ca();
  std::vector<std::string> victims;
  for (int round = 0; round < 3; ++round) {
    std::string victim = "victim" + std::to_string(round);
    ASSERT_EQ(gh("ca issue " + ca + " --cn " + victim).exit_code, 0);
    victims.push_back(serial_of(ca + "/issued/" + victim + ".pem"));
    std::vector<std::string> commands;
    for (int i = 0; i < 8; ++i)
      commands.push_back("ca issue " + ca + " --cn r" + std::to_string(round) + "-" + std::to_string(i));
    commands.insert(commands.begin() + 4,
                    "ca revoke " + ca + " " + ca + "/issued/" + victim + ".pem --reason keyCompromise");
    for (const auto& r : in_parallel(commands)) ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto crl = gh("ca crl " + ca);
  ASSERT_EQ(crl.exit_code, 0) << crl.output;
  auto text = run_command("openssl crl -noout -text -in " + ca + "/crl.pem");
  for (const auto& serial : victims)
    EXPECT_NE(text.output.find("Serial Number: " + serial), std::string::npos) << serial << "\n" << text.output;
}

TEST_F(CaIntegrity, MissingIndexStopsTheCaInsteadOfEmptyingIt) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  ASSERT_EQ(gh("ca revoke " + ca + " " + ca + "/issued/alice.pem").exit_code, 0);
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  const std::string crl_before = slurp(ca + "/crl.pem");
  std::filesystem::remove(ca + "/index.json");
  for (const std::string& command : {"ca crl " + ca, "ca issue " + ca + " --cn bob", "ca list " + ca}) {
    auto r = gh(command);
    EXPECT_NE(r.exit_code, 0) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(ca + "/index.json is missing"), std::string::npos) << r.output;
  }
  EXPECT_EQ(slurp(ca + "/crl.pem"), crl_before);  // the revocation is still published
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/bob.pem"));
  EXPECT_FALSE(std::filesystem::exists(ca + "/index.json"));
}

TEST_F(CaIntegrity, MisshapenIndexIsRefusedWithItsProblem) {
  make_ca();
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  const std::string crl_before = slurp(ca + "/crl.pem");
  const std::string entry =
      R"({"serial": "4F:2A", "name": "a", "subject": "CN=a", "issuer": "CN=x", "profile": "client",
                                "not_before": 1, "not_after": 2, "revoked": false})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "the top level must be an object, not a list"},
      {R"({"format": "gatehouse-ca-index/1", "certificates": {}})", "certificates must be a list, not an object"},
      {R"({"format": "gatehouse-ca-index/1"})", "certificates is missing"},
      {R"({"certificates": []})", "format must be"},
      {R"({"format": "gatehouse-ca-index/1", "certificates": [{"serial": 5}]})",
       "certificates[0].serial must be a string, not a number"},
      {R"({"format": "gatehouse-ca-index/1", "certificates": [{"serial": "4F:2A"}]})",
       "certificates[0].name is missing"},
      {R"({"format": "gatehouse-ca-index/1", "certificates": [)" + entry + "," + entry + "]}",
       "certificates[1].serial 4F:2A appears twice"},
      {R"({"format": "gatehouse-ca-index/1", "certificates": [)" + std::regex_replace(entry, std::regex("CN=x"), "") +
           "]}",
       "certificates[0].issuer is empty"},
  };
  for (const auto& [index, problem] : cases) {
    tmp.write("ca/index.json", index);
    auto r = gh("ca crl " + ca);
    EXPECT_NE(r.exit_code, 0) << index << "\n" << r.output;
    EXPECT_NE(r.output.find(ca + "/index.json is damaged (" + problem), std::string::npos) << index << "\n" << r.output;
    EXPECT_EQ(slurp(ca + "/crl.pem"), crl_before);
  }
}

TEST_F(CaIntegrity, CrlNumbersOnlyGrowWhateverHappensToTheFiles) {
  make_ca();
  std::vector<long> seen;
  auto publish = [&](const std::string& why) {
    auto r = gh("ca crl " + ca);
    EXPECT_EQ(r.exit_code, 0) << why << "\n" << r.output;
    for (long n : crl_numbers(ca + "/crl.pem")) {
      EXPECT_TRUE(seen.empty() || n > seen.back()) << why << ": CRL number " << n << " after " << seen.back();
      seen.push_back(n);
    }
    return r.output;
  };
  publish("first");
  const std::string backup = slurp(ca + "/index.json");
  publish("second");
  publish("third");
  tmp.write("ca/index.json", backup);  // the index restored from a backup
  publish("after the index was restored");
  std::filesystem::remove(ca + "/crlnumber");
  publish("after crlnumber was deleted");
  tmp.write("ca/crlnumber", "1\n");
  const std::string highest = std::to_string(seen.back());
  auto behind = publish("after crlnumber was turned back");
  EXPECT_NE(behind.find(ca + "/crlnumber says 1, but a CRL on disk has number " + highest), std::string::npos)
      << behind;
  EXPECT_EQ(std::set<long>(seen.begin(), seen.end()).size(), seen.size());  // never reused
  EXPECT_EQ(std::stol(slurp(ca + "/crlnumber")), seen.back());

  tmp.write("ca/crlnumber", "seven\n");
  auto r = gh("ca crl " + ca);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(ca + "/crlnumber must hold the last CRL number"), std::string::npos) << r.output;
}

TEST_F(CaIntegrity, AnIndexRestoredFromABackupNeverUndoesARevocation) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  const std::string backup = slurp(ca + "/index.json");
  ASSERT_EQ(gh("ca revoke " + ca + " " + ca + "/issued/alice.pem --reason keyCompromise").exit_code, 0);
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  tmp.write("ca/index.json", backup);  // alice is "valid" again in the index
  auto r = gh("ca crl " + ca);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string serial = serial_of(ca + "/issued/alice.pem");
  EXPECT_NE(r.output.find("is revoked in the last crl.pem but not in index.json"), std::string::npos) << r.output;
  auto text = run_command("openssl crl -noout -text -in " + ca + "/crl.pem");
  EXPECT_NE(text.output.find("Serial Number: " + serial), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Key Compromise"), std::string::npos) << text.output;
  // And again on the next run: the CRL it wrote carries it on.
  ASSERT_EQ(gh("ca crl " + ca).exit_code, 0);
  text = run_command("openssl crl -noout -text -in " + ca + "/crl.pem");
  EXPECT_NE(text.output.find("Serial Number: " + serial), std::string::npos) << text.output;
}

TEST_F(CaIntegrity, SignIssuesOnlyTheNamesTheOperatorChose) {
  make_ca();
  struct Attack {
    std::string file, refusal;
    std::string csr;
  };
  std::vector<std::string> huge;
  for (int i = 0; i < 2000; ++i) huge.push_back("host-" + std::to_string(i) + ".padding-padding.example");
  const std::vector<Attack> attacks = {
      {"two-cns", "the CSR asks for 2 CNs ('a', 'b')",
       attacker_csr({{NID_commonName, "a"}, {NID_commonName, "b"}}, GEN_DNS, {})},
      {"crlf-uri", "holds a control character (0x0d)",
       attacker_csr({{NID_commonName, "svc"}}, GEN_URI, {"https://svc.example/\r\nX-Client-CN: admin"})},
      {"huge-san", "subject alternative names take", attacker_csr({{NID_commonName, "big"}}, GEN_DNS, huge)},
  };
  for (const auto& attack : attacks) {
    auto csr = tmp.write(attack.file + ".csr", attack.csr).string();
    auto copied = gh("ca sign " + ca + " " + csr + " --use-csr-names --name " + attack.file);
    EXPECT_NE(copied.exit_code, 0) << attack.file << "\n" << copied.output;
    EXPECT_NE(copied.output.find(attack.refusal), std::string::npos) << attack.file << "\n" << copied.output;
    EXPECT_NE(copied.output.find("nothing was signed"), std::string::npos) << copied.output;
    EXPECT_FALSE(std::filesystem::exists(ca + "/issued/" + attack.file + ".pem"));
    // Without the flag the CSR's names are shown but never copied: no --cn, nothing to sign.
    auto plain = gh("ca sign " + ca + " " + csr + " --name " + attack.file);
    EXPECT_NE(plain.exit_code, 0) << plain.output;
    EXPECT_NE(plain.output.find("add --use-csr-names to copy them"), std::string::npos) << plain.output;
    // With the operator's names: those, and only those.
    auto chosen = gh("ca sign " + ca + " " + csr + " --cn chosen --name " + attack.file);
    ASSERT_EQ(chosen.exit_code, 0) << chosen.output;
    auto cert =
        run_command("openssl x509 -noout -subject -ext subjectAltName -in " + ca + "/issued/" + attack.file + ".pem");
    EXPECT_NE(cert.output.find("subject=CN = chosen\n"), std::string::npos) << cert.output;
    EXPECT_EQ(cert.output.find("URI:"), std::string::npos) << cert.output;
    EXPECT_EQ(cert.output.find("DNS:host-"), std::string::npos) << cert.output.substr(0, 300);
  }
  // The requested names are shown, control bytes escaped and long lists cut.
  auto shown = gh("ca sign " + ca + " " + path("crlf-uri.csr") + " --cn x --name shown");
  EXPECT_NE(shown.output.find("SAN: uri:https://svc.example/\\x0d\\x0aX-Client-CN: admin"), std::string::npos)
      << shown.output;
  shown = gh("ca sign " + ca + " " + path("huge-san.csr") + " --cn y --name shown2");
  EXPECT_NE(shown.output.find("SAN: ... and 1992 more"), std::string::npos) << shown.output.substr(0, 2000);

  // OU=admins asked for, never given unless the operator copies it knowingly.
  auto admins = tmp.write("admins.csr",
                          attacker_csr({{NID_commonName, "eve"}, {NID_organizationalUnitName, "admins"}}, GEN_DNS, {}));
  auto r = gh("ca sign " + ca + " " + admins.string() + " --cn eve");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OU: admins"), std::string::npos) << r.output;
  EXPECT_EQ(run_command("openssl x509 -noout -subject -in " + ca + "/issued/eve.pem").output, "subject=CN = eve\n");
}

TEST_F(CaIntegrity, IssueRefusesSeveralCnsAndControlCharacters) {
  make_ca();
  auto two = gh("ca issue " + ca + " --cn a --cn b");
  EXPECT_NE(two.exit_code, 0);
  EXPECT_NE(two.output.find("the command line asks for 2 CNs"), std::string::npos) << two.output;
  auto crlf = gh("ca issue " + ca + " --cn \"$(printf 'a\\r\\nb')\" --name crlf");
  EXPECT_NE(crlf.exit_code, 0);
  EXPECT_NE(crlf.output.find("'a\\x0d\\x0ab' holds a control character (0x0d)"), std::string::npos) << crlf.output;
  auto san = gh("ca issue " + ca + " --cn c --san \"uri:$(printf 'x\\ty')\"");
  EXPECT_NE(san.exit_code, 0);
  EXPECT_NE(san.output.find("control character (0x09)"), std::string::npos) << san.output;
  auto list = gh("ca list " + ca);
  EXPECT_EQ(std::count(list.output.begin(), list.output.end(), '\n'), 2) << list.output;  // header, intermediate
}

TEST_F(CaIntegrity, FoldersArePrivateWhateverTheUmask) {
  auto r =
      run_command("umask 000 && " + kBinary + " ca init " + ca + " --name R && " + kBinary + " ca intermediate " + ca +
                  " --name I && " + kBinary + " ca issue " + ca + " --cn alice && " + kBinary + " ca crl " + ca);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* folder : {"", "/private", "/issued", "/crl"}) {
    struct stat st {};
    ASSERT_EQ(::stat((ca + folder).c_str(), &st), 0) << folder;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << ca + folder;
  }
  for (const char* key : {"/private/root.key", "/private/intermediate.key", "/issued/alice.key", "/ca.lock"}) {
    struct stat st {};
    ASSERT_EQ(::stat((ca + key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
}

}  // namespace
}  // namespace gatehouse::test
