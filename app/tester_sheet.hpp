// The tester's instruction sheet (README.txt of `ca export --bundle`): the one place its words
// live. docs/testers.md carries the same steps; a test holds the two together.
#pragma once

#include <string>
#include <vector>

namespace gatehouse::app {

// One platform's step: "Firefox (any system)" and what to do there.
struct TesterStep {
  std::string where, how;
};

// Trusting root.pem, then importing the .p12: for Chrome/Edge on Windows, macOS (Chrome,
// Safari), Firefox, Chrome on Linux and curl. Plain ASCII ("->" between menu items).
const std::vector<TesterStep>& trust_root_steps();
const std::vector<TesterStep>& install_p12_steps();

struct SheetFacts {
  std::string p12_file;       // "alice.p12"
  std::string friendly_name;  // what the key store shows: "alice (Acme Staging Intermediate, until 2027-03-05)"
  std::string site;           // "staging.acme.example"; empty: not given
  std::string contact;        // "the QA lead, qa-lead@acme.example"; empty: not given
};

// README.txt: plain text, ASCII, its prose wrapped at 76 columns.
std::string tester_sheet(const SheetFacts& facts);

}  // namespace gatehouse::app
