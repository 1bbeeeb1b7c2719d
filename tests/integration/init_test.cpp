// `gatehouse init`: a CA, the site's certificate, a CRL and a config that `gatehouse check`
// passes, in one command that never overwrites anything.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

namespace fs = std::filesystem;
const std::string kBinary = GATEHOUSE_BINARY;

class Init : public testing::Test {
 protected:
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }
  CommandResult init(const std::string& more = "") {
    return gh("init " + site + " --site staging.acme.example --upstream 127.0.0.1:8080 " + more);
  }

  TempDir tmp;
  std::string site = path("staging");
};

TEST_F(Init, WritesACaAndAConfigThatCheckPasses) {
  auto r = init("--name 'Acme Staging' --contact 'the QA lead, qa@acme.example'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"ca/ca.json", "ca/root.pem", "ca/intermediate.pem", "ca/private/root.key", "ca/crl.pem",
                           "ca/issued/staging.acme.example-chain.pem", "ca/issued/staging.acme.example.key"})
    EXPECT_TRUE(fs::exists(site + "/" + file)) << file;
  // Checked from another folder: the config's paths are relative to the config file.
  auto check = run_command("cd / && " + kBinary + " check -c " + site + "/gatehouse.toml");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  const std::string config = slurp(site + "/gatehouse.toml");
  EXPECT_EQ(config.find(tmp.path().string()), std::string::npos) << "relative paths only: " << config;
  for (const char* text :
       {"listen = \"0.0.0.0:443\"", "mode = \"http\"", "client_ca = \"ca/root.pem\"",
        "client_intermediates = \"ca/intermediate.pem\"", "crl = \"ca/crl.pem\"", "verify = \"optional\"",
        "sni = [\"staging.acme.example\"]", "allow = [ { ou = \"testers\" } ]", "endpoints = [\"127.0.0.1:8080\"]",
        "contact = \"the QA lead, qa@acme.example\""})
    EXPECT_NE(config.find(text), std::string::npos) << text << " in\n" << config;
  auto server = run_command("openssl x509 -noout -subject -ext subjectAltName -in " + site +
                            "/ca/issued/staging.acme.example.pem");
  EXPECT_NE(server.output.find("DNS:staging.acme.example"), std::string::npos) << server.output;
  auto root = run_command("openssl x509 -noout -subject -in " + site + "/ca/root.pem");
  EXPECT_NE(root.output.find("CN = Acme Staging Root"), std::string::npos) << root.output;
  for (const char* next : {"ca issue", "--bundle", "gatehouse check -c", "gatehouse run -c", "offline"})
    EXPECT_NE(r.output.find(next), std::string::npos) << next << " in " << r.output;
}

TEST_F(Init, AdmitsTestersOnlyAsTheConfigSays) {
  ASSERT_EQ(init().exit_code, 0);
  ASSERT_EQ(gh("ca issue " + site + "/ca --cn alice --ou testers").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + site + "/ca --cn bob").exit_code, 0);
  const std::string verify = "verify -c " + site + "/gatehouse.toml --sni staging.acme.example " + site + "/ca/issued/";
  auto alice = gh(verify + "alice.pem");
  EXPECT_EQ(alice.exit_code, 0) << alice.output;
  auto bob = gh(verify + "bob.pem");
  EXPECT_NE(bob.exit_code, 0);
  EXPECT_NE(bob.output.find("policy_denied"), std::string::npos) << bob.output;
}

// The root's CRL is signed for a year (its key goes offline), the intermediate's for a week.
TEST_F(Init, TheRootsCrlOutlivesTheDailyOne) {
  ASSERT_EQ(init().exit_code, 0);
  auto crls = tls::read_crls(site + "/ca/crl.pem");
  ASSERT_TRUE(crls) << crls.error();
  ASSERT_EQ(crls->size(), 2u);
  std::vector<int> days;
  for (const auto& crl : *crls) {
    int d = 0, s = 0;
    ASSERT_TRUE(ASN1_TIME_diff(&d, &s, nullptr, X509_CRL_get0_nextUpdate(crl.get())));
    days.push_back(d);
  }
  EXPECT_GE(days[0], 6) << "the intermediate's: 7 days";
  EXPECT_LE(days[0], 7);
  EXPECT_GE(days[1], 364) << "the root's: a year";
  EXPECT_LE(days[1], 365);
}

TEST_F(Init, RefusesAFolderThatHoldsACaOrAConfig) {
  ASSERT_EQ(init().exit_code, 0);
  const std::string root = slurp(site + "/ca/root.pem");
  auto again = init();
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("gatehouse.toml already exists"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("overwrites nothing"), std::string::npos) << again.output;
  fs::remove(site + "/gatehouse.toml");
  again = init();
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("ca already holds a CA"), std::string::npos) << again.output;
  EXPECT_FALSE(fs::exists(site + "/gatehouse.toml")) << "nothing made when refused";
  EXPECT_EQ(slurp(site + "/ca/root.pem"), root);
}

TEST_F(Init, NamesTheOptionThatIsWrong) {
  struct Case {
    std::string args, says;
  };
  for (const auto& c : std::vector<Case>{
           {"--site 'not a name'", "--site 'not a name' is not a DNS name"},
           {"--site staging.acme.example --listen 443", "--listen '443' is not ADDRESS:PORT"},
           {"--site staging.acme.example --upstream localhost", "--upstream 'localhost' is not HOST:PORT"},
           {"--site staging.acme.example --upstream 127.0.0.1:70000", "--upstream '127.0.0.1:70000'"},
       }) {
    auto r = gh("init " + site + " " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << ": " << r.output;
  }
  EXPECT_FALSE(fs::exists(site)) << "nothing made when refused";
}

TEST_F(Init, HelpNamesEveryOption) {
  auto r = gh("init --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--site", "--upstream", "--listen", "--name", "--contact", "overwrites nothing"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << " in " << r.output;
  EXPECT_NE(gh("--help").output.find("init"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::test
