#include "app/diagnose_cli.hpp"

#include "app/verify_as_listener.hpp"

#include <ctime>
#include <iostream>

#include "tls/chain_verifier.hpp"
#include "tls/diagnose/inspect.hpp"
#include "tls/diagnose/printable.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {

std::optional<std::int64_t> parse_time(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (std::string(end) != "Z" && std::string(end) != "+00:00")) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

namespace {

struct DiagnoseOptions {
  std::vector<std::string> files;
  std::string password, ca, untrusted, at, purpose = "client", name, cert, config, listener, sni;
  std::vector<std::string> crls;
  int max_depth = 8;
  bool json = false;
};

int inspect(const DiagnoseOptions& o) {
  std::vector<tls::diagnose::FileContents> contents;
  for (const auto& f : o.files) {
    auto read = tls::diagnose::read_any(f, o.password);
    if (!read) {
      std::cerr << "gatehouse inspect: " << read.error() << "\n";
      return 1;
    }
    contents.push_back(std::move(*read));
  }
  auto description = tls::diagnose::describe(contents, std::time(nullptr));
  std::cout << (o.json ? tls::diagnose::json_text(description) : tls::diagnose::describe_text(description));
  return 0;
}

int verify(const DiagnoseOptions& o) {
  auto fail_input = [](const std::string& m) {
    std::cerr << "gatehouse verify: " << m << "\n";
    return 2;
  };
  if (!o.config.empty()) return verify_as_listener({o.config, o.listener, o.sni, o.cert, o.json});
  if (o.ca.empty()) return fail_input("give -c gatehouse.toml (judge as a listener would) or --ca ROOT.pem");
  auto anchors = tls::read_certificates(o.ca);
  if (!anchors) return fail_input(anchors.error());
  tls::CertChain untrusted;
  if (!o.untrusted.empty()) {
    auto loaded = tls::read_certificates(o.untrusted);
    if (!loaded) return fail_input(loaded.error());
    untrusted = std::move(*loaded);
  }
  tls::CrlList crls;
  for (const auto& file : o.crls) {
    auto loaded = tls::read_crls(file);
    if (!loaded) return fail_input(loaded.error());
    for (auto& c : *loaded) crls.push_back(std::move(c));
  }
  tls::VerifyOptions options;
  options.purpose = o.purpose == "server" ? tls::VerifyOptions::Purpose::server : tls::VerifyOptions::Purpose::client;
  options.max_depth = o.max_depth;
  options.host = o.name;
  if (!o.at.empty()) {
    options.at = parse_time(o.at);
    if (!options.at)
      return fail_input("--at '" + o.at + "' is neither RFC 3339 (2030-01-01T00:00:00Z) nor Unix seconds");
  }
  auto chain = tls::read_certificates(o.cert);
  if (!chain) return fail_input(chain.error());
  bssl::UniquePtr<X509> leaf = std::move(chain->front());
  chain->erase(chain->begin());
  tls::ChainVerifier verifier(*anchors, untrusted, crls, options);
  tls::VerifyOutcome outcome = verifier.verify(leaf.get(), *chain);
  const bool ok = outcome.reason == gatehouse::Reason::ok;
  const std::string keyword(gatehouse::reason_keyword(outcome.reason));
  // Without a config, say what a listener would also have checked.
  std::vector<std::string> skipped;
  if (o.crls.empty()) skipped.push_back("revocation (no --crl)");
  if (o.purpose == "client") skipped.push_back("routes and rules");
  if (o.untrusted.empty()) skipped.push_back("a listener's client_intermediates (no --untrusted)");
  std::string not_checked;
  for (const auto& s : skipped) not_checked += (not_checked.empty() ? "" : ", ") + s;
  if (o.json) {
    nlohmann::ordered_json j{{"ok", ok}, {"reason", keyword}};
    if (!ok) j["detail"] = outcome.detail, j["depth"] = outcome.depth;
    j["not_checked"] = skipped;
    std::cout << tls::diagnose::json_text(j);
  } else if (ok) {
    std::cout << "ok: '" << tls::diagnose::printable(tls::subject_line(leaf.get())) << "' is valid for " << o.purpose
              << " use\n";
  } else {
    std::cout << keyword << ": " << tls::diagnose::printable(outcome.detail) << "\n";
  }
  if (!o.json && !skipped.empty())
    std::cout << "note: not checked: " << not_checked
              << "; `gatehouse verify -c gatehouse.toml CERT` judges as the proxy does\n";
  return ok ? 0 : 1;
}

}  // namespace

void add_diagnose_commands(CLI::App& app, std::function<int()>& action) {
  static DiagnoseOptions o;
  auto* insp = app.add_subcommand("inspect",
                                  "Show what a PEM, DER or PKCS#12 file holds: certificates, chains, keys, "
                                  "CSRs, CRLs, in plain words");
  insp->add_option("files", o.files, "One or more files (keys are matched against the certificates of all)")
      ->required()
      ->check(CLI::ExistingFile);
  insp->add_option("--password", o.password, "Password of a PKCS#12 file");
  insp->add_flag("--json", o.json, "JSON for scripts");
  insp->callback([&action] { action = [] { return inspect(o); }; });

  auto* ver = app.add_subcommand("verify", "Check a certificate chain the way the proxy does, and say what is wrong");
  ver->add_option("cert", o.cert, "The certificate, optionally followed by the intermediates it would send")
      ->required();
  ver->add_option("-c,--config", o.config,
                  "Judge as a listener of this config would: its CAs, intermediates, CRLs, depth, routes and rules "
                  "(the other options but --json are then not used)")
      ->check(CLI::ExistingFile);
  ver->add_option("--listener", o.listener, "With -c: the listener (needed when the config has several)");
  ver->add_option("--sni", o.sni, "With -c: the name the client asks for, which chooses the route");
  ver->add_option("--ca", o.ca, "Trusted root(s), PEM (without -c)");
  ver->add_option("--untrusted", o.untrusted, "Intermediates that may complete the chain, PEM");
  ver->add_option("--crl", o.crls, "CRL file(s), PEM or DER");
  ver->add_option("--at", o.at, "Verify at this time: RFC 3339 (2030-01-01T00:00:00Z) or Unix seconds");
  ver->add_option("--purpose", o.purpose, "client (default) or server")->check(CLI::IsMember({"client", "server"}));
  ver->add_option("--name", o.name, "With --purpose server: the host name the certificate must be valid for");
  ver->add_option("--max-depth", o.max_depth, "Intermediates allowed between the certificate and its root")
      ->capture_default_str();
  ver->add_flag("--json", o.json, "JSON for scripts");
  ver->callback([&action] { action = [] { return verify(o); }; });
}

}  // namespace gatehouse::app
