// `ca export DIR NAME --bundle`: one folder a tester can be sent (the .p12 with its chain,
// root.pem, README.txt), never the password; README.txt says what docs/testers.md says.
#include <gtest/gtest.h>

#include <regex>

#include "app/tester_sheet.hpp"
#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"

namespace gatehouse::test {
namespace {

namespace fs = std::filesystem;
const std::string kBinary = GATEHOUSE_BINARY;

class CaBundle : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gh("ca init " + ca + " --name 'Acme Staging Root'").exit_code, 0);
    ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Staging Intermediate'").exit_code, 0);
    ASSERT_EQ(
        gh("ca issue " + ca + " --cn alice --ou testers --not-before 2026-01-01 --not-after 2099-03-05").exit_code, 0);
  }
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  CommandResult bundle(const std::string& args, const std::string& password = "pw one") {
    return run_command("printf '" + password + "\\n' | " + kBinary + " ca export " + ca + " alice --bundle " + args +
                       " --password-file -");
  }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }

  TempDir tmp;
  std::string ca = path("ca");
  std::string folder = ca + "/bundles/alice";
};

TEST_F(CaBundle, HoldsTheP12WithItsChainTheRootAndTheSheet) {
  auto r = bundle("--site staging.acme.example --contact 'the QA lead, qa@acme.example'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"README.txt", "alice.p12", "root.pem"}));

  auto info = run_command("openssl pkcs12 -info -nokeys -in " + folder + "/alice.p12 -passin 'pass:pw one'");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("subject=OU = testers, CN = alice"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("subject=O = Acme Staging Root, CN = Acme Staging Intermediate"), std::string::npos)
      << "the intermediate travels with the leaf: " << info.output;
  EXPECT_NE(info.output.find("friendlyName: alice (Acme Staging Intermediate, until 2099-03-05)"), std::string::npos);
  EXPECT_NE(run_command("openssl pkcs12 -info -nokeys -in " + folder + "/alice.p12 -passin pass:wrong").exit_code, 0);

  EXPECT_EQ(slurp(folder + "/root.pem"), slurp(ca + "/root.pem"));
  const std::string sheet = slurp(folder + "/README.txt");
  EXPECT_NE(sheet.find("How to get into staging.acme.example"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("OPEN https://staging.acme.example/"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("ask the QA lead, qa@acme.example"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("\"alice.p12:PASSWORD\" https://staging.acme.example/"), std::string::npos) << sheet;
  EXPECT_LT(sheet.find("TRUST THE STAGING ROOT"), sheet.find("INSTALL YOUR CERTIFICATE")) << "trust comes first";
  for (unsigned char c : sheet) EXPECT_LT(c, 0x80) << "README.txt stays ASCII for every text editor";
  EXPECT_EQ((fs::status(folder + "/alice.p12").permissions() & fs::perms::others_read), fs::perms::none);
}

TEST_F(CaBundle, ThePasswordIsNeverWrittenIntoTheFolder) {
  auto r = run_command("(" + kBinary + " ca export " + ca + " alice --bundle --generate-password 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.output, m, std::regex("([a-z2-9]{4}(-[a-z2-9]{4}){4})\n"))) << r.output;
  const std::string password = m[1].str();
  EXPECT_EQ(run_command("openssl pkcs12 -info -nokeys -in " + folder + "/alice.p12 -passin pass:" + password).exit_code,
            0);
  for (const auto& e : fs::directory_iterator(folder))
    EXPECT_EQ(slurp(e.path().string()).find(password), std::string::npos) << e.path();
  EXPECT_NE(slurp(folder + "/README.txt").find("never in this folder"), std::string::npos);
}

TEST_F(CaBundle, AnExistingFolderIsReplacedOnlyWithForce) {
  ASSERT_EQ(bundle("").exit_code, 0);
  const std::string before = slurp(folder + "/alice.p12");
  auto r = bundle("", "pw two");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(folder + " already exists; add --force"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(folder + "/alice.p12"), before) << "nothing was replaced";
  r = bundle("--force", "pw two");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(run_command("openssl pkcs12 -info -nokeys -in " + folder + "/alice.p12 -passin 'pass:pw two'").exit_code,
            0);
}

TEST_F(CaBundle, LegacyForOldImporters) {
  ASSERT_EQ(bundle("--legacy").exit_code, 0);
  auto info = run_command("openssl pkcs12 -legacy -info -nokeys -in " + folder + "/alice.p12 -passin 'pass:pw one'");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("pbeWithSHA1And3-KeyTripleDES-CBC"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("CN = Acme Staging Intermediate"), std::string::npos) << info.output;
}

TEST_F(CaBundle, GoesWhereItIsToldAndLeavesNothingWhenItFails) {
  auto r = bundle(path("for-alice"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(path("for-alice/alice.p12")));
  EXPECT_FALSE(fs::exists(folder));
  r = run_command("echo pw | " + kBinary + " ca export " + ca + " nobody --bundle --password-file -");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("gatehouse ca list"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(ca + "/bundles/nobody"));
  r = gh("ca export " + ca + " alice --site staging.acme.example --password x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--bundle"), std::string::npos) << "--site belongs to the bundle: " << r.output;
}

TEST_F(CaBundle, HelpNamesTheBundleAndItsOptions) {
  auto r = gh("ca export --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--bundle", "[OUTDIR]", "root.pem", "README.txt", "--site", "--contact"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << " in " << r.output;
}

// docs/testers.md shows every step of the sheet, word for word (its markdown aside).
TEST(TesterSheet, SaysWhatDocsTestersSays) {
  auto normal = [](std::string text) {
    for (const char* markup : {"**", "`"})
      for (auto at = text.find(markup); at != std::string::npos; at = text.find(markup))
        text.erase(at, std::string(markup).size());
    for (auto at = text.find("\u2192"); at != std::string::npos; at = text.find("\u2192")) text.replace(at, 3, "->");
    return std::regex_replace(text, std::regex(R"(\s+)"), " ");
  };
  const std::string doc = normal(slurp(std::string(GATEHOUSE_SOURCE_DIR) + "/docs/testers.md"));
  ASSERT_FALSE(doc.empty());
  for (const auto* steps : {&app::trust_root_steps(), &app::install_p12_steps()})
    for (const auto& step : *steps) {
      const std::string line = normal(step.where + ": " + step.how);
      EXPECT_NE(doc.find(line), std::string::npos) << "docs/testers.md lacks: " << line;
    }
  EXPECT_NE(doc.find("README.txt"), std::string::npos) << "docs/testers.md names the bundle's sheet";
}

}  // namespace
}  // namespace gatehouse::test
