#include "app/tester_sheet.hpp"

#include <algorithm>
#include <sstream>

namespace gatehouse::app {
namespace {

constexpr std::size_t kWidth = 76;

// `text` folded at spaces to kWidth columns; the first line starts with `first`, the others
// with `rest` (a hanging indent for list items).
std::string wrapped(const std::string& text, const std::string& first, const std::string& rest) {
  std::istringstream words(text);
  std::string out, line = first, word;
  bool empty = true;
  while (words >> word) {
    if (!empty && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = rest;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  return out + line + "\n";
}

std::string steps(const std::vector<TesterStep>& list) {
  std::string out;
  for (const auto& s : list) out += wrapped(s.where + ": " + s.how, "- ", "  ");
  return out;
}

}  // namespace

const std::vector<TesterStep>& trust_root_steps() {
  static const std::vector<TesterStep> kSteps = {
      {"Chrome or Edge on Windows",
       "double-click root.pem (rename it root.crt if Windows does not open it) -> Install Certificate -> "
       "Current User -> \"Place all certificates in the following store\" -> Trusted Root Certification "
       "Authorities."},
      {"macOS (Chrome, Safari)",
       "double-click root.pem, add it to the login keychain, then open it in Keychain Access and set "
       "\"When using this certificate\" to Always Trust."},
      {"Firefox (any system)",
       "Settings -> Privacy & Security -> Certificates -> View Certificates -> Authorities -> Import, and "
       "tick \"Trust this CA to identify websites\"."},
      {"Chrome on Linux",
       "Settings -> Privacy and security -> Security -> Manage certificates -> Authorities -> Import, and "
       "tick \"Trust this certificate for identifying websites\"."},
      {"curl", "add --cacert root.pem to every command."},
  };
  return kSteps;
}

const std::vector<TesterStep>& install_p12_steps() {
  static const std::vector<TesterStep> kSteps = {
      {"Chrome or Edge on Windows",
       "double-click the .p12, keep \"Current User\", enter the password, accept the defaults. Restart the "
       "browser."},
      {"macOS (Chrome, Safari)",
       "double-click the .p12; Keychain Access opens; choose the login keychain and enter the password. If "
       "macOS says the password is wrong for an older system, ask for a file made with --legacy."},
      {"Firefox (any system)",
       "Settings -> Privacy & Security -> Certificates -> View Certificates -> Your Certificates -> Import, "
       "then the password."},
      {"Chrome on Linux",
       "Settings -> Privacy and security -> Security -> Manage certificates -> Your certificates -> Import, "
       "then the password."},
      {"curl", "nothing to install: give the .p12 and its password on each command (below)."},
  };
  return kSteps;
}

std::string tester_sheet(const SheetFacts& f) {
  const std::string site = f.site.empty() ? "the staging site" : f.site;
  const std::string url = f.site.empty() ? "https://SITE/" : "https://" + f.site + "/";
  std::string out;
  const std::string title = "How to get into " + site;
  out += title + "\n" + std::string(title.size(), '=') + "\n\n";
  out += wrapped(site +
                     " lets in only the people who hold a certificate from your team's own "
                     "certificate authority (CA). This folder holds yours:",
                 "", "");
  const std::size_t column = std::max<std::size_t>(8, f.p12_file.size()) + 2;
  auto row = [&](const std::string& file, const char* what) {
    return "  " + file + std::string(column - file.size(), ' ') + what + "\n";
  };
  out += "\n" + row("root.pem", "the staging root: it vouches for the site and for you");
  out += row(f.p12_file, "your certificate and its key") + "\n";
  out += wrapped("The password of " + f.p12_file +
                     " comes to you another way (by phone or in a chat); it is never in this folder.",
                 "", "");
  out += "\n1. FIRST, TRUST THE STAGING ROOT (root.pem), once.\n\n";
  out += wrapped(
      "The site's own certificate comes from your team's private CA, not from a public one, so "
      "until your system trusts root.pem every browser warns that the site is not secure and "
      "refuses to go on.",
      "", "");
  out += "\n" + steps(trust_root_steps());
  out += "\n2. THEN INSTALL YOUR CERTIFICATE (" + f.p12_file + "), once.\n\n";
  out += wrapped("Your browser then offers it when the site asks.", "", "");
  out += "\n" + steps(install_p12_steps());
  out += "\n3. OPEN " + url + "\n\n";
  out += wrapped(
      "When the browser asks which certificate to use, pick \"" + f.friendly_name + "\" (the date is when it expires).",
      "", "");
  out += "\nWith curl (PASSWORD is the password you were told):\n\n";
  out += "  curl --cacert root.pem --cert-type P12 --cert \"" + f.p12_file + ":PASSWORD\" " + url + "\n";
  out += "\nIF IT DOES NOT WORK\n\n";
  out += wrapped(
      "\"Your connection is not private\" (NET::ERR_CERT_AUTHORITY_INVALID), or curl says "
      "\"unable to get local issuer certificate\": step 1 is not done yet.",
      "- ", "  ");
  out += wrapped(
      "The browser never asks for a certificate, or says ERR_BAD_SSL_CLIENT_AUTH_CERT: close every "
      "window of the browser and start it again after step 2; check the date in the certificate's "
      "name above has not passed.",
      "- ", "  ");
  out += wrapped(std::string("Anything else: ask ") + (f.contact.empty() ? "your team lead" : f.contact) +
                     ", and say the time you tried (a refusal page shows a reference to quote).",
                 "- ", "  ");
  return out;
}

}  // namespace gatehouse::app
