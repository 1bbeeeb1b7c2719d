// Server::reload: a whole new snapshot, built and checked off the workers, then handed to each
// worker on its own thread. Nothing is half-applied: a problem anywhere keeps the old snapshot.
#include <spdlog/spdlog.h>

#include "proxy/server.hpp"

namespace gatehouse::proxy {
namespace {

// What a running server cannot take without a restart: its sockets, threads and slots were
// made from these at start. "" when nothing of the kind changed.
std::string needs_restart(const conf::Settings& now, const conf::Settings& next) {
  std::string why;
  auto add = [&why](const std::string& what) { why += (why.empty() ? "" : "; ") + what; };
  if (now.listeners.size() != next.listeners.size()) {
    add("the number of listeners changed (" + std::to_string(now.listeners.size()) + " -> " +
        std::to_string(next.listeners.size()) + ")");
  } else {
    for (size_t i = 0; i < now.listeners.size(); ++i) {
      const auto& a = now.listeners[i];
      const auto& b = next.listeners[i];
      if (a.name != b.name)
        add("listener " + std::to_string(i + 1) + " is now named '" + b.name + "', was '" + a.name + "'");
      if (a.listen != b.listen) add("listener '" + a.name + "' moved from " + a.listen + " to " + b.listen);
    }
  }
  if (now.server.workers != next.server.workers) add("[server] workers changed");
  if (now.server.max_connections != next.server.max_connections) add("[server] max_connections changed");
  if (now.server.verified_cache != next.server.verified_cache) add("[server] verified_cache changed");
  if (now.server.watch != next.server.watch) add("[server] watch changed");
  if (now.admin.listen != next.admin.listen) add("[admin] listen changed");
  return why;
}

}  // namespace

Server::ReloadOutcome Server::reload() {
  std::lock_guard one_at_a_time(reload_mutex_);
  ReloadOutcome out;
  auto fail = [&](const std::string& why) {
    reloads_error_.fetch_add(1);
    out.generation = generation_.load();
    out.message = "reload failed, still serving generation " + std::to_string(out.generation) + ":\n" + why;
    spdlog::error("{}", out.message);
    return out;
  };
  if (stopped_) return fail("the server is shutting down");
  if (!config_source_) return fail("this server has no config source to reload from");
  conf::ParseResult parsed = config_source_();
  if (!parsed.settings) return fail(parsed.diagnostics.to_string());
  conf::Diagnostics problems;
  auto next = build_snapshot(*parsed.settings, problems, snapshot().get());
  if (!next) return fail(problems.to_string());
  if (auto why = needs_restart(snapshot()->settings, next->settings); !why.empty())
    return fail("these changes need a restart: " + why);
  const std::string& access = next->settings.log.access;
  if (access != snapshot()->settings.log.access) {
    std::string error;
    if (!access_log_.retarget(access, error)) return fail("[log] access: " + error);
  }
  if (auto warnings = problems.warnings_to_string(); !warnings.empty()) spdlog::warn("{}", warnings);
  publish(next);
  reloads_ok_.fetch_add(1);
  out.ok = true;
  out.generation = generation_.fetch_add(1) + 1;
  out.message = "reloaded: serving generation " + std::to_string(out.generation);
  if (on_reloaded_) on_reloaded_(*snapshot(), out.generation);  // first: it may change the log level
  spdlog::info("{}", out.message);
  return out;
}

void Server::publish(std::shared_ptr<const Snapshot> next) {
  if (started_) {
    // The monitor watches the new snapshot's endpoints (health, DNS) before workers use them,
    // starting from what the old one knew (stopped first: its book is its thread's).
    AddressBook known;
    if (monitor_) {
      monitor_->stop();
      known = monitor_->take_addresses();
    }
    monitor_ = start_monitor(next, std::move(known));
    for (auto& w : workers_) w->adopt(next);
  }
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(next);
}

}  // namespace gatehouse::proxy
