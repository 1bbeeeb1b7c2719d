// `gatehouse init`: the same steps as `ca init`, `ca intermediate`, `ca issue --profile server`
// and `ca crl`, then a config that `gatehouse check` passes. Nothing is overwritten: a DIR that
// already holds a CA or a config is refused before anything is made.
#include "app/init_cli.hpp"

#include <ctime>
#include <iostream>
#include <optional>
#include <regex>

#include "conf/parse.hpp"
#include "proxy/snapshot.hpp"
#include "tls/ca/ca_folder.hpp"
#include "tls/ca/name_rules.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {
namespace {

namespace fs = std::filesystem;

struct InitOptions {
  std::string dir, site, upstream = "builtin:whoami", listen = "0.0.0.0:443", name, contact;
};

int fail(const std::string& message) {
  std::cerr << "gatehouse init: " << message << "\n";
  return 1;
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool is_dns_name(const std::string& name) {
  static const std::regex kName(
      R"(^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$)");
  return name.size() <= 253 && std::regex_match(name, kName);
}

// "HOST:PORT" with a port from 1 (0 too when `port_zero`) to 65535; IPv6 in brackets.
bool is_host_port(const std::string& text, bool port_zero) {
  static const std::regex kHostPort(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(text, m, kHostPort)) return false;
  const int port = std::stoi(m[2].str());
  return port <= 65535 && (port > 0 || port_zero);
}

// Why `init` makes nothing: which option or file is at fault, and the words that say so.
enum class InitRefusal { bad_site, bad_listen, bad_upstream, bad_name, bad_contact, config_exists, ca_exists };
struct Refused {
  InitRefusal refusal;
  std::string message;
};

std::optional<Refused> refused_options(const InitOptions& o) {
  using enum InitRefusal;
  if (!is_dns_name(o.site))
    return Refused{bad_site, "--site '" + tls::ca::printable(o.site) +
                                 "' is not a DNS name: give the name testers type in the browser, like "
                                 "staging.acme.example"};
  if (!is_host_port(o.listen, true))
    return Refused{bad_listen, "--listen '" + tls::ca::printable(o.listen) +
                                   "' is not ADDRESS:PORT, like 0.0.0.0:443 or [::]:8443"};
  if (o.upstream != "builtin:whoami" && !is_host_port(o.upstream, false))
    return Refused{bad_upstream, "--upstream '" + tls::ca::printable(o.upstream) +
                                     "' is not HOST:PORT (the staging app, like 127.0.0.1:8080) or builtin:whoami"};
  if (auto problem = tls::ca::check_names({.cn = {o.name + " Intermediate"}}, "--name"))
    return Refused{bad_name, problem->message};
  for (unsigned char ch : o.contact)
    if (ch < 0x20 || ch == 0x7f) return Refused{bad_contact, "--contact has a control character; give one line"};
  if (o.contact.size() > 200) return Refused{bad_contact, "--contact is over 200 bytes; give a name and an address"};
  return std::nullopt;
}

// What already sits in DIR and would be overwritten, or nullopt.
std::optional<Refused> occupied(const fs::path& dir) {
  const std::string why =
      ": `gatehouse init` makes a new site and overwrites nothing. Pick another folder, or work on the "
      "existing CA with `gatehouse ca ...`";
  std::error_code ec;
  if (fs::exists(dir / "gatehouse.toml", ec))
    return Refused{InitRefusal::config_exists, (dir / "gatehouse.toml").string() + " already exists" + why};
  if (fs::exists(dir / "ca", ec) && !fs::is_empty(dir / "ca", ec))
    return Refused{InitRefusal::ca_exists,
                   (dir / "ca").string() +
                       (fs::exists(dir / "ca" / "ca.json", ec) ? " already holds a CA" : " is not empty") + why};
  return std::nullopt;
}

// The site's listener and route are named after its first label: "staging" for staging.acme.example.
std::string short_name(const std::string& site) { return site.substr(0, site.find('.')); }

// Runs what `gatehouse check` runs on the file just written.
std::optional<std::string> check_problems(const fs::path& config) {
  auto parsed = conf::parse_file(config);
  if (!parsed.settings) return parsed.diagnostics.to_string();
  conf::Diagnostics problems;
  if (!proxy::build_snapshot(*parsed.settings, problems)) return problems.to_string();
  return std::nullopt;
}

int run_init(const InitOptions& in) {
  InitOptions o = in;
  if (o.name.empty()) o.name = o.site;
  if (auto refused = refused_options(o)) return fail(refused->message);
  const fs::path dir = o.dir, ca_dir = dir / "ca";
  if (auto taken = occupied(dir)) return fail(taken->message);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());

  // The same calls, defaults and checks as `ca init` and `ca intermediate`.
  auto ca =
      tls::ca::CaFolder::init(ca_dir, o.name + " Root", o.name, tls::pki::KeyType::ecdsa_p256, 3650, 1, "", false);
  if (!ca) return fail(ca.error());
  if (auto made = ca->add_intermediate(o.name + " Intermediate", 1825, 0, false); !made) return fail(made.error());
  // As `ca issue --profile server --cn SITE --san dns:SITE`.
  auto server = ca->issue({.profile = tls::pki::Purpose::server, .cn = o.site, .sans = {"dns:" + o.site}});
  if (!server) return fail(server.error());
  // As `ca crl --days 7`; the root's own CRL for a year, since it is renewed only with the root
  // key, which goes offline.
  auto crl = ca->write_crl(7, nullptr, 365);
  if (!crl) return fail(crl.error());

  const fs::path config = dir / "gatehouse.toml";
  const std::string text =
      init_config_text({.site = o.site, .listen = o.listen, .upstream = o.upstream, .contact = o.contact});
  if (auto w = tls::write_file_atomic(config, text, 0644); !w) return fail(w.error());
  if (auto problems = check_problems(config))
    return fail("the config written to " + config.string() + " does not pass `gatehouse check`:\n" + *problems);

  std::string d = o.dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const std::string c = d + "/ca";
  const std::string renew_by = tls::iso8601(std::time(nullptr) + 76 * 86400).substr(0, 10);
  std::cout << "Created " << d << "/ for https://" << o.site << "/:\n"
            << "  " << c << "/: the CA (root '" << o.name << " Root', intermediate '" << o.name
            << " Intermediate') and its CRL, crl.pem: renew it daily with `gatehouse ca crl " << c << "`\n"
            << "  " << c << "/issued/" << o.site << "-chain.pem: the site's certificate, 90 days (serial "
            << server->serial << "): `gatehouse ca renew " << c << " " << o.site << "` by " << renew_by << "\n"
            << "  " << config.string() << ": listens on " << o.listen << ", requires a certificate of this CA, "
            << "admits OU=testers, forwards to " << o.upstream << "\n"
            << "The root key, " << c << "/private/root.key, is still here: once you are set up, move it offline "
            << "(docs/private-ca.md, section 1). Only a new intermediate and the root's CRL need it; that CRL "
            << "is valid for a year.\n\n"
            << "Next:\n"
            << "  gatehouse ca issue " << c << " --cn alice --ou testers\n"
            << "  gatehouse ca export " << c << " alice --bundle --site " << o.site
            << " --generate-password > alice-password.txt\n"
            << "  gatehouse check -c " << config.string() << "\n"
            << "  gatehouse run -c " << config.string() << "\n"
            << "Then send Alice " << c << "/bundles/alice/ and tell her the password another way.\n";
  return 0;
}

}  // namespace

std::string init_config_text(const InitConfig& c) {
  const std::string name = short_name(c.site);
  std::string t;
  t += "# Written by `gatehouse init` for " + c.site + " (" + tls::iso8601(std::time(nullptr)).substr(0, 10) + ").\n";
  t += "# Paths are relative to this file's folder. Every key: conf/README.md. After an edit:\n";
  t += "# `gatehouse check -c` this file, then reload (kill -HUP, or POST /reload on the admin listener).\n\n";
  t += "[admin]\nlisten = \"127.0.0.1:9901\"    # /metrics /healthz /readyz /certs /crl/, POST /reload\n\n";
  t += "[[listener]]\n";
  t += "name = " + toml_string(name) + "\n";
  t += "listen = " + toml_string(c.listen) + "\n";
  t += "mode = \"http\"                  # requests, with the client's identity in headers\n";
  t += "  [listener.tls]\n";
  t += "  certificates = [ { cert = " + toml_string("ca/issued/" + c.site + "-chain.pem") +
       ", key = " + toml_string("ca/issued/" + c.site + ".key") + " } ]\n";
  t += "  client_ca = \"ca/root.pem\"                      # the only CA whose certificates get in\n";
  t += "  client_intermediates = \"ca/intermediate.pem\"   # so testers may send just their own certificate\n";
  t += "  crl = \"ca/crl.pem\"                             # renew daily: `gatehouse ca crl` on the CA folder\n";
  // Browsers first: Chrome's own error for a refused handshake tells a tester nothing, a page does.
  t += "  verify = \"optional\"   # no valid certificate: a page says why and nothing reaches the upstream;\n";
  t += "                        # \"require\" refuses in the handshake instead (for tools and services)\n";
  if (!c.contact.empty()) t += "  [listener.http]\n  contact = " + toml_string(c.contact) + "\n";
  t += "  [[listener.route]]\n";
  t += "  name = " + toml_string(c.site) + "\n";
  t += "  sni = [" + toml_string(c.site) + "]\n";
  t += "  upstream = \"app\"\n";
  t += "  allow = [ { ou = \"testers\" } ]               # issue testers with --ou testers\n\n";
  t += "[[upstream]]\n";
  t += "name = \"app\"\n";
  t += "endpoints = [" + toml_string(c.upstream) + "]\n";
  return t;
}

void add_init_command(CLI::App& app, std::function<int()>& action) {
  static InitOptions o;
  auto* init = app.add_subcommand(
      "init",
      "Set up a staging site in one go: DIR/ca (root, intermediate, the site's server certificate, a CRL) and "
      "DIR/gatehouse.toml (client certificates required, OU=testers admitted); overwrites nothing");
  init->add_option("dir", o.dir, "Folder to create or fill (refused if it holds a CA or a config)")->required();
  init->add_option("--site", o.site, "The site's DNS name, e.g. staging.acme.example")->required();
  init->add_option("--upstream", o.upstream,
                   "The staging app, HOST:PORT (default builtin:whoami: a page showing who was admitted)")
      ->capture_default_str();
  init->add_option("--listen", o.listen, "Where the proxy listens (443 needs root or CAP_NET_BIND_SERVICE)")
      ->capture_default_str();
  init->add_option("--name", o.name, "The CA's name, e.g. \"Acme Staging\" (default: the site)");
  init->add_option("--contact", o.contact,
                   "Who testers ask for help, shown on refusal pages, e.g. \"the QA lead, qa@acme.example\"");
  init->footer(
      "It runs what `gatehouse ca init`, `ca intermediate`, `ca issue --profile server` and `ca crl` run,\n"
      "and checks the config it writes as `gatehouse check` does. Then issue testers with --ou testers.\n");
  init->callback([&action] { action = [] { return run_init(o); }; });
}

}  // namespace gatehouse::app
