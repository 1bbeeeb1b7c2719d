// `ca export`: the tester's .p12, or with --bundle a folder with it, root.pem and README.txt.
// The password never has to be typed on a command line (where shell history and `ps` keep it):
// a file, stdin, a prompt on a terminal, or one made here.
#include <openssl/rand.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "app/ca_cli_common.hpp"
#include "app/tester_bundle.hpp"
#include "tls/ca/pkcs12_export.hpp"

namespace gatehouse::app {
namespace {

using tls::ca::Access;
using tls::ca::CaFolder;

// 20 characters from 31 unambiguous ones (no 0/o, 1/l/i), in groups of 4: 99 bits, easy to read out by phone.
std::string generated_password() {
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  static_assert(sizeof kAlphabet - 1 == 31);
  std::string out;
  while (out.size() < 24) {
    uint8_t byte = 0;
    RAND_bytes(&byte, 1);
    if (byte >= 248) continue;  // 248 = 8 * 31: no bias
    if (out.size() % 5 == 4) out += '-';
    out += kAlphabet[byte % 31];
  }
  return out;
}

// One line typed on the terminal without echo; nullopt at end of input.
std::optional<std::string> read_hidden(const char* prompt) {
  termios old{};
  bool hide = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (hide) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    // Echo is off before the prompt shows: nothing typed after it can be echoed or flushed away.
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::cerr << prompt << std::flush;
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (hide) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (!got) return std::nullopt;
  return line;
}

Result<std::string> chosen_password(const CaOptions& o) {
  using RS = Result<std::string>;
  if (o.generate_password) return generated_password();
  if (!o.password.empty()) return o.password;
  if (!o.password_file.empty()) {
    std::string password;
    if (o.password_file == "-") {
      if (!std::getline(std::cin, password)) return RS::failure("--password-file -: nothing on standard input");
    } else {
      std::ifstream in(o.password_file);
      if (!in || !std::getline(in, password)) return RS::failure("cannot read " + o.password_file);
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) return RS::failure("the password in " + o.password_file + " is empty");
    return password;
  }
  if (!::isatty(STDIN_FILENO))
    return RS::failure(
        "give a password: --generate-password (made here, printed once), --password-file FILE or - "
        "(standard input), or run it on a terminal to be asked; browsers need one to import");
  auto first = read_hidden("Password for the .p12: ");
  if (!first || first->empty()) return RS::failure("no password given");
  auto again = read_hidden("The same again: ");
  if (!again || *again != *first) return RS::failure("the two passwords differ; nothing was written");
  return *first;
}

// With a generated password stdout carries it alone, so it can be captured.
void tell_password(const CaOptions& o, const std::string& password) {
  if (!o.generate_password) return;
  std::cerr << "Its password, printed once below: tell it to the holder another way than the file.\n";
  std::cout << password << "\n";
}

int export_bundle(const CaOptions& o) {
  const std::filesystem::path folder =
      o.bundle_dir.empty() ? std::filesystem::path(o.dir) / "bundles" / o.name : std::filesystem::path(o.bundle_dir);
  // Refused before a password is asked for or made; checked again under the lock.
  if (!o.force && std::filesystem::exists(folder))
    return fail(folder.string() + " already exists; add --force to replace the bundle in it");
  auto password = chosen_password(o);
  if (!password) return fail(password.error());
  auto ca = CaFolder::open(o.dir, Access::read_write);
  if (!ca) return fail(ca.error());
  auto files = write_tester_bundle(*ca, {.name = o.name,
                                         .out = folder,
                                         .password = *password,
                                         .legacy = o.legacy,
                                         .force = o.force,
                                         .site = o.site,
                                         .contact = o.contact});
  if (!files) return fail(files.error());
  std::ostream& report = o.generate_password ? std::cerr : std::cout;
  report << "Wrote the bundle for " << o.name << " in " << files->folder.string() << "/:\n"
         << "  " << files->p12.filename().string() << ": " << files->friendly_name
         << (o.legacy ? ", legacy encryption" : ", AES-256") << "\n"
         << "  root.pem: the root to trust first\n"
         << "  README.txt: what to do, for Chrome, Edge, Firefox, Safari and curl\n"
         << "Send the folder; the password is not in it.\n";
  tell_password(o, *password);
  return 0;
}

}  // namespace

void add_ca_export_command(CLI::App* ca_cmd, std::function<int()>& action) {
  static CaOptions& o = ca_options();
  auto* exp = ca_cmd->add_subcommand(
      "export",
      "Export an issued certificate, its key and chain as PKCS#12 for browsers; with --bundle, a folder "
      "for the tester: NAME.p12, root.pem and README.txt");
  exp->add_option("dir", o.dir, "CA folder")->required();
  exp->add_option("name", o.name, "Name under issued/ (as `ca issue` printed)")->required();
  static bool p12_flag = false;
  exp->add_flag("--p12", p12_flag, "PKCS#12 (the only format; accepted for clarity)");
  auto* generate = exp->add_flag("--generate-password", o.generate_password,
                                 "Make a strong random password and print it once, alone, on stdout (the other "
                                 "messages go to stderr): `... --generate-password > alice-password.txt`");
  auto* file = exp->add_option("--password-file", o.password_file,
                               "Read the password from this file's first line; - reads standard input");
  auto* given = exp->add_option("--password", o.password,
                                "The password itself (shell history and `ps` keep it: prefer the others). With no "
                                "password option, a terminal is asked for one twice, without echo");
  generate->excludes(file)->excludes(given);
  file->excludes(given);
  exp->add_flag("--legacy", o.legacy, "3DES/RC2 with a SHA-1 MAC, for old importers (macOS < 12, Windows < 10)");
  auto* out_option = exp->add_option("--out", o.out, "Output file (default DIR/issued/NAME.p12)");
  auto* bundle = exp->add_option("--bundle", o.bundle_dir,
                                 "Write what the tester needs into a folder (default DIR/bundles/NAME/): NAME.p12, "
                                 "root.pem (to trust first) and README.txt (steps for Chrome, Edge, Firefox, Safari, "
                                 "curl); the password is never written into it")
                     ->expected(0, 1)
                     ->type_name("[OUTDIR]");
  bundle->excludes(out_option);
  exp->add_option("--site", o.site, "With --bundle: the site's name for README.txt, e.g. staging.acme.example")
      ->needs(bundle);
  exp->add_option("--contact", o.contact,
                  "With --bundle: who the tester asks for help, e.g. \"the QA lead, qa@acme.example\"")
      ->needs(bundle);
  exp->add_flag("--force", o.force, "Replace an existing file (with --bundle: the files in an existing folder)");
  exp->callback([&action, bundle] {
    action = [bundle] {
      if (bundle->count() > 0) return export_bundle(o);
      std::filesystem::path out =
          o.out.empty() ? std::filesystem::path(o.dir) / "issued" / (o.name + ".p12") : std::filesystem::path(o.out);
      if (!o.force && std::filesystem::exists(out)) return fail(out.string() + " already exists; add --force");
      // Asked before the lock is taken: a person typing must not hold up every other CA command.
      auto password = chosen_password(o);
      if (!password) return fail(password.error());
      // It writes NAME.p12 into the folder: exclusive, like every command that writes.
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      if (!o.force && std::filesystem::exists(out)) return fail(out.string() + " already exists; add --force");
      auto done = tls::ca::export_pkcs12(ca->issued_path(o.name, "-chain.pem"), ca->issued_path(o.name, ".key"),
                                         *password, o.legacy, out);
      if (!done) return fail(done.error());
      std::ostream& report = o.generate_password ? std::cerr : std::cout;
      report << "Wrote " << out.string() << (o.legacy ? " (legacy encryption)" : " (AES-256)") << "\n";
      tell_password(o, *password);
      return 0;
    };
  });
}

}  // namespace gatehouse::app
