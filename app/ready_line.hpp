// The one line `gatehouse run` prints on stdout when it serves, and again after each reload, for
// scripts and tests that need to know it is up and which ports it bound (port 0 in a config):
//   {"event":"ready","pid":123,"generation":1,"admin":"127.0.0.1:41235",
//    "listeners":[{"name":"web","address":"127.0.0.1:41234","mode":"http"}]}
// "event" is "ready" or "reloaded"; "admin" is null when [admin] listen = "off". Access-log
// lines (also JSON, also on stdout with access = "stdout") never have an "event" key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/server.hpp"

namespace gatehouse::app {

// The line, without its newline, as `serving` is bound by `server`.
std::string ready_line(const proxy::Server& server, const proxy::Snapshot& serving, std::string_view event,
                       std::uint64_t generation);

// Writes `line` and a newline to stdout in one write(2) (more only if cut short), so that it
// does not interleave with the access log's lines, which the log thread writes the same way.
void print_line(const std::string& line);

}  // namespace gatehouse::app
