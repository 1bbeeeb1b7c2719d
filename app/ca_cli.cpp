#include "app/ca_cli.hpp"

#include <fstream>
#include <iostream>
#include <memory>

#include "tls/ca/ca_folder.hpp"
#include "tls/ca/csr.hpp"
#include "tls/ca/csr_names.hpp"
#include "tls/ca/name_rules.hpp"
#include "tls/ca/pkcs12_export.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {
namespace {

using tls::ca::Access;
using tls::ca::CaFolder;
using tls::pki::KeyType;
using tls::pki::Purpose;

// Values of the options; one per process, so a static holder keeps CLI11 bindings simple.
struct CaOptions {
  std::string dir, name, key = "p256", profile = "client", csr_file, out, what, reason = "unspecified";
  std::string password, password_file, crl_url;
  std::vector<std::string> cn, o, ou, sans;  // cn: a list only so that a repeated --cn is seen and refused
  int days = 0, path_len = -1, crl_days = 7;
  bool force = false, legacy = false, use_csr_names = false;
};

KeyType key_type(const std::string& k) {
  if (k == "rsa2048") return KeyType::rsa2048;
  if (k == "rsa4096") return KeyType::rsa4096;
  if (k == "p384") return KeyType::ecdsa_p384;
  return KeyType::ecdsa_p256;
}

int fail(const std::string& message) {
  std::cerr << "gatehouse ca: " << message << "\n";
  return 1;
}

std::string the_cn(const CaOptions& o) { return o.cn.empty() ? "" : o.cn.front(); }

tls::ca::LeafRequest leaf_request(const CaOptions& o) {
  return {o.profile == "server" ? Purpose::server : Purpose::client,
          o.name,
          the_cn(o),
          o.o,
          o.ou,
          o.sans,
          o.days > 0 ? o.days : 90,
          key_type(o.key),
          o.force,
          o.use_csr_names};
}

// Several --cn, control characters, oversized names: refused before the CA is even opened.
std::optional<std::string> refused_flags(const CaOptions& o) {
  auto problem = tls::ca::check_names({.cn = o.cn, .o = o.o, .ou = o.ou, .sans = o.sans}, "the command line");
  if (problem) return problem->message;
  return std::nullopt;
}

void print_issued(const tls::ca::IssuedFiles& f) {
  std::cout << "serial " << f.serial << "\n  certificate: " << f.cert.string() << "\n";
  if (!f.key.empty()) std::cout << "  key:         " << f.key.string() << " (keep it secret)\n";
  std::cout << "  full chain:  " << f.chain.string() << " (what the client presents)\n";
}

void add_subject_options(CLI::App* cmd, CaOptions& o) {
  cmd->add_option("--cn", o.cn, "Common name: a person's or service's name (one)")->allow_extra_args(false);
  cmd->add_option("--o", o.o, "Organization (repeatable)");
  cmd->add_option("--ou", o.ou, "Organizational unit, e.g. testers (repeatable)");
  cmd->add_option("--san", o.sans,
                  "Subject alternative names: dns:NAME, ip:ADDR, email:ADDR, uri:spiffe://... "
                  "(comma-separated or repeated)")
      ->delimiter(',');
}

const std::string kKeyHelp = "Key type: p256 (default, fastest handshakes), p384, rsa2048, rsa4096";

}  // namespace

void add_ca_commands(CLI::App& app, std::function<int()>& action) {
  static CaOptions o;
  auto* ca_cmd = app.add_subcommand("ca",
                                    "Run a private CA: root, intermediate, client and server certificates, "
                                    "CSR signing, revocation, CRLs and PKCS#12 for browsers");
  ca_cmd->require_subcommand(1);
  ca_cmd->footer(
      "Every command holds DIR/ca.lock while it runs (exclusive for those that write, shared for `list`):\n"
      "parallel runs wait for each other instead of losing changes. index.json must be there and well\n"
      "formed, or the command stops and names the problem. CRL numbers only grow: the last one is kept\n"
      "in DIR/crlnumber and checked against the CRLs on disk; a revocation in the last crl.pem is never\n"
      "dropped from the next.\n");

  auto* init = ca_cmd->add_subcommand("init", "Create a root CA in DIR");
  init->add_option("dir", o.dir, "CA folder")->required();
  init->add_option("--name", o.name, "The root's name, e.g. \"Acme Staging Root\"")->required();
  init->add_option("--o", o.o, "Organization shared by the root and intermediate (default: the name)");
  init->add_option("--key", o.key, kKeyHelp)->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa4096"}));
  init->add_option("--days", o.days, "Validity in days (default 3650)");
  init->add_option("--path-len", o.path_len, "How many intermediates may follow (default 1)");
  init->add_option("--crl-url", o.crl_url,
                   "Where you will publish the CRLs (http://host/path): every certificate names "
                   "URL/HASH.crl so clients can check revocation; `ca crl` writes DIR/crl/HASH.crl");
  init->add_flag("--force", o.force, "Replace an existing CA (its keys are lost)");
  init->callback([&action] {
    action = [] {
      auto made = CaFolder::init(o.dir, o.name, o.o.empty() ? "" : o.o.front(), key_type(o.key),
                                 o.days > 0 ? o.days : 3650, o.path_len >= 0 ? o.path_len : 1, o.crl_url, o.force);
      if (!made) return fail(made.error());
      std::cout << "Created root CA '" << o.name << "' in " << o.dir << "/\n"
                << "  root certificate: " << (made->dir() / "root.pem").string() << " (client_ca for the proxy)\n";
      if (!made->crl_base_url().empty())
        std::cout << "  CRL URL: certificates will name " << made->crl_base_url() << "/HASH.crl; publish "
                  << (made->dir() / "crl").string() << "/ there after `ca crl`\n";
      std::cout << "Next: `gatehouse ca intermediate " << o.dir << " --name \"" << o.name
                << " Intermediate\"`, then take private/root.key offline.\n";
      return 0;
    };
  });

  auto* inter = ca_cmd->add_subcommand("intermediate", "Create the intermediate CA that issues from now on");
  inter->add_option("dir", o.dir, "CA folder")->required();
  inter->add_option("--name", o.name, "The intermediate's name")->required();
  inter->add_option("--days", o.days, "Validity in days (default 1825)");
  inter->add_option("--path-len", o.path_len, "Path length (default 0: it issues only leaves)");
  inter->add_flag("--force", o.force, "Replace an existing intermediate");
  inter->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto made = ca->add_intermediate(o.name, o.days > 0 ? o.days : 1825, o.path_len >= 0 ? o.path_len : 0, o.force);
      if (!made) return fail(made.error());
      std::cout << "Created intermediate '" << o.name << "': " << (ca->dir() / "intermediate.pem").string()
                << " (client_intermediates for the proxy)\n";
      return 0;
    };
  });

  auto* issue = ca_cmd->add_subcommand("issue", "Issue a client or server certificate with a new key");
  issue->add_option("dir", o.dir, "CA folder")->required();
  issue->add_option("--profile", o.profile, "client (a tester or service) or server (a host)")
      ->check(CLI::IsMember({"client", "server"}));
  add_subject_options(issue, o);
  issue->add_option("--name", o.name, "File name under issued/ (default: the CN)");
  issue->add_option("--days", o.days, "Validity in days (default 90)");
  issue->add_option("--key", o.key, kKeyHelp)->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa4096"}));
  issue->add_flag("--force", o.force, "Replace existing files of the same name");
  issue->callback([&action] {
    action = [] {
      if (o.cn.empty() && o.sans.empty()) return fail("give --cn (and for a server, its --san dns:NAME)");
      if (auto refused = refused_flags(o)) return fail(*refused);
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto files = ca->issue(leaf_request(o));
      if (!files) return fail(files.error());
      print_issued(*files);
      return 0;
    };
  });

  auto* csr = ca_cmd->add_subcommand("csr", "Make a key and a certificate signing request (on the requester's side)");
  add_subject_options(csr, o);
  csr->add_option("--out", o.out, "Base path: writes BASE.key and BASE.csr")->required();
  csr->add_option("--key", o.key, kKeyHelp)->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa4096"}));
  csr->add_flag("--force", o.force, "Replace existing files");
  csr->callback([&action] {
    action = [] {
      if (auto refused = refused_flags(o)) return fail(*refused);
      auto made = tls::ca::make_csr({the_cn(o), o.o, o.ou, o.sans, key_type(o.key)});
      if (!made) return fail(made.error());
      std::filesystem::path key = o.out + ".key", req = o.out + ".csr";
      if (!o.force && (std::filesystem::exists(key) || std::filesystem::exists(req)))
        return fail(key.string() + " or " + req.string() + " already exists; add --force to replace");
      if (auto w = tls::write_file_atomic(key, tls::to_pem(made->key.get()), 0600); !w) return fail(w.error());
      if (auto w = tls::write_file_atomic(req, tls::ca::csr_to_pem(made->request.get()), 0644); !w)
        return fail(w.error());
      std::cout << "key: " << key.string() << " (stays with you)\nrequest: " << req.string()
                << " (send it to your CA for `gatehouse ca sign`)\n";
      return 0;
    };
  });

  auto* sign = ca_cmd->add_subcommand("sign",
                                      "Sign a CSR. The CA decides profile, lifetime and names: the names come "
                                      "from --cn/--o/--ou/--san; the CSR's are shown, and copied only with "
                                      "--use-csr-names");
  sign->add_option("dir", o.dir, "CA folder")->required();
  sign->add_option("csr", o.csr_file, "The request (PEM or DER)")->required()->check(CLI::ExistingFile);
  sign->add_option("--profile", o.profile, "client or server")->check(CLI::IsMember({"client", "server"}));
  add_subject_options(sign, o);
  sign->add_option("--name", o.name, "File name under issued/ (default: the CN)");
  sign->add_option("--days", o.days, "Validity in days (default 90)");
  sign->add_flag("--force", o.force, "Replace existing files of the same name");
  sign->add_flag("--use-csr-names", o.use_csr_names,
                 "Copy the CN, O, OU and SANs the CSR asks for where no flag gives them (refused if the CSR "
                 "asks for several CNs, control characters, a name over 255 bytes or SANs over 4 KiB)");
  sign->callback([&action] {
    action = [] {
      if (auto refused = refused_flags(o)) return fail(*refused);
      auto req = tls::ca::read_csr(o.csr_file);
      if (!req) return fail(req.error());
      std::cout << "The request asks for:\n"
                << tls::ca::describe(tls::ca::requested_names(req->get()))
                << (o.use_csr_names ? "(copied where no flag names them, if every name is acceptable)\n"
                                    : "(not copied: the certificate carries only the names given with --cn, --o, "
                                      "--ou and --san; add --use-csr-names to copy them)\n");
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto files = ca->sign(req->get(), leaf_request(o));
      if (!files) return fail(files.error());
      print_issued(*files);
      return 0;
    };
  });

  auto* revoke = ca_cmd->add_subcommand("revoke", "Revoke a certificate by serial or file; then run `ca crl`");
  revoke->add_option("dir", o.dir, "CA folder")->required();
  revoke->add_option("what", o.what, "Serial number (as `ca list` shows it) or certificate file")->required();
  revoke->add_option("--reason", o.reason,
                     "keyCompromise, superseded, affiliationChanged, cessationOfOperation, "
                     "privilegeWithdrawn, cACompromise, certificateHold, unspecified");
  revoke->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto entry = ca->revoke(o.what, o.reason);
      if (!entry) return fail(entry.error());
      std::cout << "Revoked " << entry->serial << " (" << entry->subject << "), reason " << entry->reason
                << ".\nPublish it: `gatehouse ca crl " << o.dir << "`, then reload the proxy.\n";
      return 0;
    };
  });

  auto* crl = ca_cmd->add_subcommand("crl",
                                     "Write the signed CRL(s) to DIR/crl.pem (the proxy's `crl`) and, in DER for a "
                                     "web server, DIR/crl/HASH.crl; each gets a CRL number above any used before "
                                     "(DIR/crlnumber)");
  crl->add_option("dir", o.dir, "CA folder")->required();
  crl->add_option("--days", o.crl_days, "Days until the next update is due")->capture_default_str();
  crl->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      tls::ca::CrlWarnings warnings;
      auto path = ca->write_crl(o.crl_days, &warnings);
      if (!path) return fail(path.error());
      if (!warnings.counter_behind.empty()) std::cerr << "gatehouse ca: warning: " << warnings.counter_behind << "\n";
      for (const auto& serial : warnings.carried_over)
        std::cerr << "gatehouse ca: warning: " << serial << " is revoked in the last crl.pem but not in index.json "
                  << "(restored from a backup?); it stays revoked in the new CRL\n";
      std::cout << "Wrote " << path->string() << ", valid for " << o.crl_days << " day(s)\n";
      if (!ca->crl_base_url().empty())
        std::cout << "Publish " << (ca->dir() / "crl").string() << "/*.crl at " << ca->crl_base_url()
                  << "/ (the proxy's admin listener serves the CRLs it loads under /crl/)\n";
      return 0;
    };
  });

  auto* crl_url = ca_cmd->add_subcommand("crl-url",
                                         "Set where the CRLs are published; certificates issued from now "
                                         "on name URL/HASH.crl (\"\" stops naming one)");
  crl_url->add_option("dir", o.dir, "CA folder")->required();
  crl_url->add_option("url", o.crl_url, "A plain http:// URL, e.g. http://pki.example.com/crl")->required();
  crl_url->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      if (auto set = ca->set_crl_base_url(o.crl_url); !set) return fail(set.error());
      if (ca->crl_base_url().empty())
        std::cout << "Certificates issued from now on name no CRL URL.\n";
      else
        std::cout << "Certificates issued from now on name " << ca->crl_base_url()
                  << "/HASH.crl; those issued before keep what they had (reissue them to change it).\n";
      return 0;
    };
  });

  auto* list =
      ca_cmd->add_subcommand("list", "Show every certificate the CA issued, with serial, subject, expiry, status");
  list->add_option("dir", o.dir, "CA folder")->required();
  list->callback([&action] {
    action = [] {
      auto ca = CaFolder::open(o.dir, Access::read_only);
      if (!ca) return fail(ca.error());
      auto now = std::time(nullptr);
      for (const auto& e : ca->entries()) {
        std::string status = e.revoked           ? "revoked (" + e.reason + ", " + tls::iso8601(e.revoked_at) + ")"
                             : e.not_after < now ? "expired"
                                                 : "valid";
        std::cout << e.serial << "  " << e.profile << "  " << e.subject << "  expires " << tls::iso8601(e.not_after)
                  << "  " << status << "\n";
      }
      if (ca->entries().empty()) std::cout << "(nothing issued yet)\n";
      return 0;
    };
  });

  auto* exp =
      ca_cmd->add_subcommand("export", "Export an issued certificate, its key and chain as PKCS#12 for browsers");
  exp->add_option("dir", o.dir, "CA folder")->required();
  exp->add_option("name", o.name, "Name under issued/ (as `ca issue` printed)")->required();
  static bool p12_flag = false;
  exp->add_flag("--p12", p12_flag, "PKCS#12 (the only format; accepted for clarity)");
  exp->add_option("--password", o.password, "Password that protects the file");
  exp->add_option("--password-file", o.password_file, "Read the password from this file's first line");
  exp->add_flag("--legacy", o.legacy, "3DES/RC2 with a SHA-1 MAC, for old importers (macOS < 12, Windows < 10)");
  exp->add_option("--out", o.out, "Output file (default DIR/issued/NAME.p12)");
  exp->add_flag("--force", o.force, "Replace an existing file");
  exp->callback([&action] {
    action = [] {
      // It writes NAME.p12 into the folder: exclusive, like every command that writes.
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      std::string password = o.password;
      if (!o.password_file.empty()) {
        std::ifstream in(o.password_file);
        if (!in || !std::getline(in, password)) return fail("cannot read " + o.password_file);
      }
      if (password.empty()) return fail("give --password or --password-file: browsers need one to import");
      std::filesystem::path out = o.out.empty() ? ca->issued_path(o.name, ".p12") : std::filesystem::path(o.out);
      if (!o.force && std::filesystem::exists(out)) return fail(out.string() + " already exists; add --force");
      auto done = tls::ca::export_pkcs12(ca->issued_path(o.name, "-chain.pem"), ca->issued_path(o.name, ".key"),
                                         password, o.legacy, out);
      if (!done) return fail(done.error());
      std::cout << "Wrote " << out.string() << (o.legacy ? " (legacy encryption)" : " (AES-256)") << "\n";
      return 0;
    };
  });
}

}  // namespace gatehouse::app
