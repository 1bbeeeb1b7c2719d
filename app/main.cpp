// gatehouse: the command line. Parsing with CLI11 (Debian's libcli11-dev): subcommands, --help
// on each, and errors that name the bad flag, without writing our own parser.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <iostream>

#include "app/ca_cli.hpp"
#include "app/default_config.hpp"
#include "app/diagnose_cli.hpp"
#include "app/init_cli.hpp"
#include "app/ready_line.hpp"
#include "common/allocator.hpp"
#include "common/guarded_main.hpp"
#include "conf/parse.hpp"
#include "proxy/privileges.hpp"
#include "proxy/server.hpp"
#include "tls/pki/dev_pki.hpp"

namespace gh = gatehouse;

namespace {

struct RunOptions {
  std::string config;
  std::string dev_pki = "dev-pki";
  bool show_default = false;
  std::string user;  // drop to this user once bound and loaded
};

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("gatehouse");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

// Reads the config (or the embedded default) and compiles it; prints every problem.
std::shared_ptr<const gh::proxy::Snapshot> load(const RunOptions& opt, bool* is_default) {
  gh::conf::ParseResult parsed;
  *is_default = opt.config.empty();
  if (*is_default) {
    bool created = false;
    auto pki = gh::tls::pki::ensure_dev_pki(opt.dev_pki, &created);
    if (!pki) {
      std::cerr << "gatehouse: cannot create the development PKI: " << pki.error() << "\n";
      return nullptr;
    }
    if (created) std::cerr << "Created a development PKI in " << opt.dev_pki << "/\n";
    parsed = gh::conf::parse_text(gh::app::default_config_text(), "<embedded default>",
                                  std::filesystem::absolute(opt.dev_pki));
  } else {
    parsed = gh::conf::parse_file(opt.config);
  }
  if (!parsed.settings) {
    std::cerr << parsed.diagnostics.to_string();
    return nullptr;
  }
  gh::conf::Diagnostics problems;
  auto snapshot = gh::proxy::build_snapshot(*parsed.settings, problems);
  std::cerr << problems.warnings_to_string();
  if (!snapshot) std::cerr << problems.to_string();
  return snapshot;
}

void print_demo_banner(const RunOptions& opt, std::uint16_t port) {
  const std::string d = opt.dev_pki;
  const std::string url = "https://localhost:" + std::to_string(port) + "/";
  std::cerr << "\nGatehouse is serving " << url << " (mTLS, development PKI in " << d << "/)\n"
            << "  A tester with a certificate types:\n"
            << "    curl --cacert " << d << "/root.pem --cert " << d << "/tester.pem --key " << d << "/tester.key "
            << url << "\n"
            << "  Without a certificate the handshake is refused:\n"
            << "    curl --cacert " << d << "/root.pem " << url << "\n"
            << "  Stop with Ctrl-C.\n\n";
}

int run(const RunOptions& opt) {
  if (opt.show_default) {
    std::cout << gh::app::default_config_text();
    return 0;
  }
  gh::proxy::prepare_signals();
  bool is_default = false;
  auto snapshot = load(opt, &is_default);
  if (!snapshot) return 1;
  setup_logging(snapshot->settings.log.level);
  std::string error;
  auto access_log = gh::proxy::AccessLog::open(snapshot->settings.log.access, error);
  if (!error.empty()) {
    std::cerr << "gatehouse: " << error << "\n";
    return 1;
  }
  auto server = gh::proxy::Server::create(snapshot, access_log);
  if (!server) {
    std::cerr << "gatehouse: " << server.error() << "\n";
    return 1;
  }
  // SIGHUP and POST /reload read the same source again.
  if (is_default) {
    const auto pki_dir = std::filesystem::absolute(opt.dev_pki);
    (*server)->set_config_source(
        [pki_dir] { return gh::conf::parse_text(gh::app::default_config_text(), "<embedded default>", pki_dir); });
  } else {
    (*server)->set_config_source([file = opt.config] { return gh::conf::parse_file(file); });
  }
  // The log level and stdout are the program's: a reload changes them here, not in the Server.
  (*server)->on_reloaded([server = server->get()](const gh::proxy::Snapshot& serving, std::uint64_t generation) {
    spdlog::set_level(spdlog::level::from_str(serving.settings.log.level));
    gh::app::print_line(gh::app::ready_line(*server, serving, "reloaded", generation));
  });
  if (!opt.user.empty()) {
    // Bound and loaded: nothing from here on needs root. (A later reload reads files as this user.)
    if (auto refused = gh::proxy::drop_privileges(opt.user); !refused.empty()) {
      std::cerr << "gatehouse: " << refused << "\n";
      return 1;
    }
    spdlog::info("running as user '{}' (uid {})", opt.user, ::getuid());
  }
  (*server)->start();
  for (size_t i = 0; i < snapshot->listeners.size(); ++i) {
    const auto& l = snapshot->listeners[i];
    spdlog::info("listener '{}' on port {} ({} workers), verifying clients against {}", l.settings.name,
                 (*server)->port(i), (*server)->worker_count(), l.settings.tls.client_ca.path.string());
  }
  if ((*server)->admin_port())
    spdlog::info("admin on {} port {}: /metrics /healthz /readyz /certs /crl/", snapshot->settings.admin.listen,
                 (*server)->admin_port());
  if (is_default) print_demo_banner(opt, (*server)->port(0));
  gh::app::print_line(gh::app::ready_line(**server, *snapshot, "ready", (*server)->generation()));
  (*server)->run_until_signal();
  return 0;
}

int check(const std::string& config) {
  auto parsed = gh::conf::parse_file(config);
  if (!parsed.settings) {
    std::cerr << parsed.diagnostics.to_string();
    std::cerr << parsed.diagnostics.problems().size() << " problem(s) in " << config << "\n";
    return 1;
  }
  gh::conf::Diagnostics problems;
  auto snapshot = gh::proxy::build_snapshot(*parsed.settings, problems);
  std::cerr << problems.warnings_to_string();
  if (!snapshot) {
    std::cerr << problems.to_string();
    std::cerr << problems.problems().size() << " problem(s) in " << config << " and the files it names\n";
    return 1;
  }
  std::cout << config << ": OK (" << snapshot->listeners.size() << " listener(s), " << snapshot->upstreams.size()
            << " upstream(s))\n";
  return 0;
}

}  // namespace

namespace {
int run_main(int argc, char** argv) {
  CLI::App app{"Gatehouse: an mTLS-terminating reverse proxy that lets in only certificates your private CA issued."};
  app.set_version_flag(
      "--version", std::string("gatehouse ") + GATEHOUSE_VERSION + "\nBoringSSL: " + GATEHOUSE_BORINGSSL_DESCRIPTION +
                                  "\nallocator: " + gatehouse::allocator_description());
  app.require_subcommand(1);

  RunOptions run_opt;
  auto* run_cmd = app.add_subcommand("run",
                                     "Serve a config, or with no -c the embedded default: "
                                     "127.0.0.1:8443, a dev PKI and the built-in whoami upstream");
  run_cmd->add_option("-c,--config", run_opt.config, "TOML config file (see conf/README.md)")->check(CLI::ExistingFile);
  run_cmd->add_option("--dev-pki", run_opt.dev_pki, "Folder for the development PKI used without -c")
      ->capture_default_str();
  run_cmd->add_option("--user", run_opt.user,
                      "Once the listeners are bound and the keys loaded, run as this user (start as root)");
  run_cmd->add_flag("--show-default", run_opt.show_default, "Print the embedded default config and exit");

  std::string check_config;
  auto* check_cmd = app.add_subcommand("check",
                                       "Validate a config and every file it names; list every problem "
                                       "with file:line:column");
  check_cmd->add_option("-c,--config", check_config, "TOML config file")->required();

  std::function<int()> ca_action;  // set by the init, ca, inspect and verify commands
  gh::app::add_init_command(app, ca_action);
  gh::app::add_ca_commands(app, ca_action);
  gh::app::add_diagnose_commands(app, ca_action);

  CLI11_PARSE(app, argc, argv);
  if (ca_action) return ca_action();
  if (*run_cmd) return run(run_opt);
  if (*check_cmd) return check(check_config);
  return 2;
}
}  // namespace

int main(int argc, char** argv) { return gatehouse::guarded_main("gatehouse", argc, argv, run_main); }
