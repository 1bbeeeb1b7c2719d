// `gatehouse ca ...`: the private CA's commands, registered on the main CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace gatehouse::app {

// Adds `ca` and its subcommands to `app`; the chosen command's work is stored in `action`.
void add_ca_commands(CLI::App& app, std::function<int()>& action);

}  // namespace gatehouse::app
