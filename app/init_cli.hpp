// `gatehouse init DIR --site NAME`: from nothing to a proxy that admits issued testers, in one
// command: DIR/ca (root, intermediate, the site's server certificate, a CRL) and DIR/gatehouse.toml.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace gatehouse::app {

void add_init_command(CLI::App& app, std::function<int()>& action);

struct InitConfig {
  std::string site;      // "staging.acme.example": the route's SNI and the server certificate's name
  std::string listen;    // "0.0.0.0:443"
  std::string upstream;  // "127.0.0.1:8080" or "builtin:whoami"
  std::string contact;   // [listener.http] contact; empty: none
};

// DIR/gatehouse.toml as `init` writes it; its paths are relative to DIR (the config's folder).
std::string init_config_text(const InitConfig& config);

}  // namespace gatehouse::app
