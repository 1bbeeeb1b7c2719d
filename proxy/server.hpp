// Owns the workers and their listening sockets; starts, drains and stops them.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/parse.hpp"

#include "common/result.hpp"
#include "metrics/worker_counters.hpp"
#include "proxy/access_log.hpp"
#include "proxy/admin/admin_server.hpp"
#include "proxy/admin/clients_report.hpp"
#include "proxy/file_watch.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/upstream_monitor.hpp"
#include "proxy/worker.hpp"

namespace gatehouse::proxy {

class Server {
 public:
  // Binds every listener on every worker (SO_REUSEPORT) before anything runs, so an address
  // in use or a missing permission fails here, with nothing half-started.
  static Result<std::unique_ptr<Server>> create(const std::shared_ptr<const Snapshot>& snapshot,
                                                const AccessLog& access_log);
  ~Server();

  void start();
  // Before start(): replaces DNS lookups of upstream names (tests only).
  void use_lookup_for_test(LookupForTest lookup) { lookup_for_test_ = std::move(lookup); }
  // SIGTERM/SIGINT: stop accepting, give open connections drain_timeout, then end them.
  void shutdown();
  // Blocks until SIGINT or SIGTERM, then shuts down; on the way SIGHUP reloads the config and
  // SIGUSR1 reopens the access log file. The caller blocks these signals first (prepare_signals).
  void run_until_signal();

  // Where a reload reads the config from (the file given with -c, or the embedded default).
  using ConfigSource = std::function<conf::ParseResult()>;
  void set_config_source(ConfigSource source) { config_source_ = std::move(source); }
  struct ReloadOutcome {
    bool ok = false;
    std::uint64_t generation = 0;  // serving after the attempt
    std::string message;           // every problem with its place, or what changed
  };
  // SIGHUP and POST /reload: read, validate and build a whole new snapshot off the workers, then
  // hand it to every worker; new connections use it, live ones finish on theirs. A failure, or a
  // change that needs a restart (a listener's address, workers, ...), changes nothing.
  ReloadOutcome reload();
  // Before start(): called after each successful reload with the snapshot now serving and its
  // generation. What is process-wide (the log level, stdout) is the program's to change, never
  // a Server's: two servers in one process share nothing.
  using ReloadObserver = std::function<void(const Snapshot& serving, std::uint64_t generation)>;
  void on_reloaded(ReloadObserver observer) { on_reloaded_ = std::move(observer); }
  std::uint64_t generation() const { return generation_.load(); }

  // The bound port of a listener (useful when it was configured as port 0).
  std::uint16_t port(size_t listener_index) const { return ports_.at(listener_index); }
  size_t worker_count() const { return workers_.size(); }
  metrics::CounterTotals totals() const;
  // Authorization decisions on a route (-1: no route matched), summed over workers.
  std::uint64_t authz_allowed(size_t listener, int route) const;
  std::uint64_t authz_refused(size_t listener, int route, gatehouse::Reason reason) const;
  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
  }
  // The admin listener's port; 0 when [admin] listen = "off".
  std::uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  admin::Reply admin_reply(const std::string& method, const std::string& path, const std::string& query = "");

 private:
  Server(std::shared_ptr<const Snapshot> snapshot, size_t workers, const AccessLog& access_log);

  void publish(std::shared_ptr<const Snapshot> next);
  // Every worker's table of client certificates seen lately, merged (a stuck worker's left out).
  admin::SeenGathering seen_clients(std::int64_t now);
  admin::Reply clients_reply(const std::string& query);
  // A monitor for `snapshot` that hands its answers to every worker, starting from `known`.
  std::unique_ptr<UpstreamMonitor> start_monitor(std::shared_ptr<const Snapshot> snapshot, AddressBook known);

  mutable std::mutex snapshot_mutex_;  // the admin and reload threads; workers keep their own
  std::shared_ptr<const Snapshot> snapshot_;
  std::mutex reload_mutex_;  // one reload at a time
  ConfigSource config_source_;
  ReloadObserver on_reloaded_;
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_error_{0};
  ConnectionSlots slots_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::uint16_t> ports_;
  std::unique_ptr<UpstreamMonitor> monitor_;
  LookupForTest lookup_for_test_;
  AccessLog access_log_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<FileWatch> watch_;
  std::atomic<bool> ready_{false};  // listeners bound, serving, not draining
  bool started_ = false;
  bool stopped_ = false;  // written under reload_mutex_: a reload never races the shutdown
};

// Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in the calling thread (and the threads it starts),
// ignores SIGPIPE.
void prepare_signals();

}  // namespace gatehouse::proxy
