#include "app/ca_cli.hpp"

#include <ctime>
#include <iostream>
#include <memory>

#include "app/ca_cli_common.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/ca/csr.hpp"
#include "tls/ca/csr_names.hpp"
#include "tls/ca/name_rules.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {
namespace {

using tls::ca::Access;
using tls::ca::CaFolder;
using tls::pki::Purpose;

std::string the_cn(const CaOptions& o) { return o.cn.empty() ? "" : o.cn.front(); }

tls::ca::LeafRequest leaf_request(const CaOptions& o) {
  return {.profile = o.profile == "server" ? Purpose::server : Purpose::client,
          .name = o.name,
          .cn = the_cn(o),
          .o = o.o,
          .ou = o.ou,
          .sans = o.sans,
          .days = o.days > 0 ? o.days : 90,
          .key = key_type(o.key),
          .force = o.force,
          .use_csr_names = o.use_csr_names};
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
  if (f.superseded) {
    const auto& old = *f.superseded;
    bool now = old.revoked_at <= std::time(nullptr);
    std::cout << "Replaced " << old.serial << ": revoked as superseded"
              << (now ? "" : " from " + tls::iso8601(old.revoked_at) + " (after the overlap)")
              << "; `gatehouse ca crl` lists it" << (now ? "" : " from then on") << ".\n";
  }
}

// The leaf request with --not-before/--not-after applied, or why they are wrong.
Result<tls::ca::LeafRequest> checked_leaf_request(const CaOptions& o) {
  auto window = window_of(o);
  if (!window) return Result<tls::ca::LeafRequest>::failure(window.error());
  auto request = leaf_request(o);
  request.not_before = window->not_before;
  request.not_after = window->not_after;
  return request;
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
  auto* ca_cmd = app.add_subcommand("ca",
                                    "Run a private CA: root, intermediate, client and server certificates, renewal, "
                                    "CSR signing, revocation, CRLs and PKCS#12 for browsers");
  ca_cmd->require_subcommand(1);
  ca_cmd->footer(
      "Every command holds DIR/ca.lock while it runs (exclusive for those that write, shared for `list`):\n"
      "parallel runs wait for each other instead of losing changes. index.json must be there and well\n"
      "formed, or the command stops and names the problem. CRL numbers only grow: the last one is kept\n"
      "in DIR/crlnumber and checked against the CRLs on disk; a revocation in the last crl.pem is never\n"
      "dropped from the next.\n");
  add_ca_issue_commands(ca_cmd, action);
  add_ca_revocation_commands(ca_cmd, action);
  add_ca_list_command(ca_cmd, action);
  add_ca_export_command(ca_cmd, action);
}

void add_ca_issue_commands(CLI::App* ca_cmd, std::function<int()>& action) {
  static CaOptions& o = ca_options();

  auto* init = ca_cmd->add_subcommand("init", "Create a root CA in DIR");
  init->add_option("dir", o.dir, "CA folder")->required();
  init->add_option("--name", o.name, "The root's name, e.g. \"Acme Staging Root\"")->required();
  init->add_option("--o", o.o, "Organization shared by the root and intermediate (default: the name)");
  init->add_option("--key", o.key, kKeyHelp)->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa4096"}));
  add_days_option(init, o.days, "Validity in days (default 3650)");
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
  add_days_option(inter, o.days, "Validity in days (default 1825)");
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
  add_days_option(issue, o.days, "Validity in days (default 90)");
  add_window_options(issue, o);
  issue->add_option("--key", o.key, kKeyHelp)->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa4096"}));
  issue->add_flag("--force", o.force,
                  "Replace existing files of the same name; their certificate is revoked as superseded");
  issue->callback([&action] {
    action = [] {
      if (o.cn.empty() && o.sans.empty()) return fail("give --cn (and for a server, its --san dns:NAME)");
      if (auto refused = refused_flags(o)) return fail(*refused);
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto request = checked_leaf_request(o);
      if (!request) return fail(request.error());
      auto files = ca->issue(*request);
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
  add_days_option(sign, o.days, "Validity in days (default 90)");
  add_window_options(sign, o);
  sign->add_flag("--force", o.force,
                 "Replace existing files of the same name; their certificate is revoked as superseded");
  sign->add_flag("--use-csr-names", o.use_csr_names,
                 "Copy the CN, O, OU and SANs the CSR asks for where no flag gives them (refused if the CSR "
                 "asks for several CNs, control characters, a name over 255 bytes or SANs over 4 KiB)");
  sign->callback([&action] {
    action = [] {
      if (auto refused = refused_flags(o)) return fail(*refused);
      auto request = checked_leaf_request(o);
      if (!request) return fail(request.error());
      auto req = tls::ca::read_csr(o.csr_file);
      if (!req) return fail(req.error());
      std::cout << "The request asks for:\n"
                << tls::ca::describe(tls::ca::requested_names(req->get()))
                << (o.use_csr_names ? "(copied where no flag names them, if every name is acceptable)\n"
                                    : "(not copied: the certificate carries only the names given with --cn, --o, "
                                      "--ou and --san; add --use-csr-names to copy them)\n");
      auto ca = CaFolder::open(o.dir, Access::read_write);
      if (!ca) return fail(ca.error());
      auto files = ca->sign(req->get(), *request);
      if (!files) return fail(files.error());
      print_issued(*files);
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
}

}  // namespace gatehouse::app
