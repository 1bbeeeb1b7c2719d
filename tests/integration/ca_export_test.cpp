// `ca export`'s password never has to be on a command line: standard input, a prompt on a
// terminal (asked twice, no echo), or a generated one printed once. The .p12 names itself so a
// tester with several can tell them apart. openssl opens every file made here.
#include <gtest/gtest.h>

#include <ctime>
#include <regex>

#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

class CaExport : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gh("ca init " + ca + " --name 'Acme Staging Root'").exit_code, 0);
    ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Staging Intermediate'").exit_code, 0);
    ASSERT_EQ(gh("ca issue " + ca + " --cn alice --not-before 2026-01-01 --not-after 2099-03-05").exit_code, 0);
  }
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }
  CommandResult opens_with(const std::string& password) {
    return run_command("openssl pkcs12 -info -nokeys -in " + ca + "/issued/alice.p12 -passin 'pass:" + password + "'");
  }
  // Runs `args` under a pseudo-terminal, answering each prompt with the next of `answers`.
  CommandResult on_a_terminal(const std::string& args, const std::vector<std::string>& answers) {
    std::string script =
        "import os, pty, sys, time\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execv(sys.argv[1], sys.argv[1:])\n"
        "out = b''\n"
        "answers = sys.stdin.read().split('\\n')[:-1]\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 4096)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "    if answers and chunk.rstrip().endswith(b':'):\n"
        "        os.write(fd, answers.pop(0).encode() + b'\\n')\n"
        "_, status = os.waitpid(pid, 0)\n"
        "sys.stdout.write(out.decode(errors='replace'))\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n";
    tmp.write("answer_prompts.py", script);
    std::string input;
    for (const auto& a : answers) input += a + "\n";
    tmp.write("answers", input);
    return run_command("timeout 30 python3 " + path("answer_prompts.py") + " " + kBinary + " " + args + " < " +
                       path("answers"));
  }

  TempDir tmp;
  std::string ca = path("ca");
};

TEST_F(CaExport, PasswordFromStandardInput) {
  auto r = run_command("printf 'from stdin\\n' | " + kBinary + " ca export " + ca + " alice --password-file -");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(opens_with("from stdin").exit_code, 0);
  EXPECT_NE(opens_with("nope").exit_code, 0);
  r = run_command(kBinary + " ca export " + ca + " alice --force --password-file - < /dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nothing on standard input"), std::string::npos) << r.output;
}

TEST_F(CaExport, NoPasswordAndNoTerminalNamesTheWays) {
  auto r = run_command(kBinary + " ca export " + ca + " alice < /dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--generate-password"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--password-file FILE or -"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/alice.p12"));
  r = gh("ca export " + ca + " alice --generate-password --password x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("excludes"), std::string::npos) << r.output;
}

TEST_F(CaExport, GeneratedPasswordIsPrintedOnceAloneOnStdout) {
  auto r = run_command("(" + kBinary + " ca export " + ca + " alice --generate-password 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.output, m, std::regex("([a-z2-9]{4}(-[a-z2-9]{4}){4})\n"))) << r.output;
  EXPECT_EQ(opens_with(m[1].str()).exit_code, 0);
  auto again = run_command("(" + kBinary + " ca export " + ca + " alice --force --generate-password 2>/dev/null)");
  EXPECT_NE(again.output, r.output) << "a new password each time";
  auto messages = gh("ca export " + ca + " alice --force --generate-password");
  EXPECT_NE(messages.output.find("printed once"), std::string::npos) << messages.output;
}

TEST_F(CaExport, TerminalIsAskedTwiceWithoutEcho) {
  auto r = on_a_terminal("ca export " + ca + " alice", {"typed secret", "typed secret"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Password for the .p12:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("The same again:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("typed secret"), std::string::npos) << "echoed: " << r.output;
  EXPECT_EQ(opens_with("typed secret").exit_code, 0);
  r = on_a_terminal("ca export " + ca + " alice --force", {"one", "two"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("the two passwords differ"), std::string::npos) << r.output;
  EXPECT_EQ(opens_with("typed secret").exit_code, 0) << "the file was not replaced";
}

TEST_F(CaExport, FriendlyNameSaysWhoWhichCaAndUntilWhen) {
  ASSERT_EQ(run_command("echo pw | " + kBinary + " ca export " + ca + " alice --password-file -").exit_code, 0);
  auto info = opens_with("pw");
  EXPECT_NE(info.output.find("friendlyName: alice (Acme Staging Intermediate, until 2099-03-05)"), std::string::npos)
      << info.output;
  ASSERT_EQ(run_command("echo pw | " + kBinary + " ca export " + ca + " alice --legacy --password-file - --out " +
                        path("old.p12"))
                .exit_code,
            0);
  info = run_command("openssl pkcs12 -legacy -info -nokeys -in " + path("old.p12") + " -passin pass:pw");
  EXPECT_NE(info.output.find("friendlyName: alice (Acme Staging Intermediate, until 2099-03-05)"), std::string::npos)
      << info.output;
}

}  // namespace
}  // namespace gatehouse::test
