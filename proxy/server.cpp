#include "proxy/server.hpp"

#include "proxy/admin/crl_endpoint.hpp"
#include "proxy/admin/metrics_report.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <asio/ip/v6_only.hpp>
#include <ctime>
#include <thread>

#include "proxy/socket_options.hpp"

namespace gatehouse::proxy {
namespace {

constexpr int kBacklog = 4096;

std::string address_text(const asio::ip::tcp::endpoint& ep) {
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace

void prepare_signals() {
  ::signal(SIGPIPE, SIG_IGN);  // BoringSSL writes with write(2): a closed peer must not kill us
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Server::Server(std::shared_ptr<const Snapshot> snapshot, size_t workers, const AccessLog& access_log)
    : snapshot_(std::move(snapshot)), slots_(snapshot_->settings.server.max_connections), access_log_(access_log) {
  for (size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(i, slots_, access_log));
}

Server::~Server() {
  if (started_ && !stopped_) shutdown();
}

Result<std::unique_ptr<Server>> Server::create(const std::shared_ptr<const Snapshot>& snapshot,
                                               const AccessLog& access_log) {
  using R = Result<std::unique_ptr<Server>>;
  size_t workers = proxy::worker_count(snapshot->settings.server);
  std::unique_ptr<Server> server(new Server(snapshot, workers, access_log));
  for (size_t li = 0; li < snapshot->listeners.size(); ++li) {
    asio::ip::tcp::endpoint address = snapshot->listeners[li].address;
    const auto& name = snapshot->listeners[li].settings.name;
    for (auto& worker : server->workers_) {
      asio::ip::tcp::acceptor acceptor(worker->io());
      asio::error_code ec;
      acceptor.open(address.protocol(), ec);
      if (!ec && address.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor.set_option(reuse_port(true), ec);
      // Linux copies it to every accepted socket: one system call per listener, not per connection.
      if (!ec) acceptor.set_option(asio::ip::tcp::no_delay(true), ec);
      if (!ec) acceptor.bind(address, ec);
      if (!ec) acceptor.listen(kBacklog, ec);
      asio::ip::tcp::endpoint bound;
      if (!ec) bound = acceptor.local_endpoint(ec);
      if (ec)
        return R::failure("listener '" + name + "': cannot listen on " + address_text(address) + ": " + ec.message());
      // Port 0 picks a port once; the other workers join that same port.
      address.port(bound.port());
      worker->add_acceptor(li, std::move(acceptor));
    }
    server->ports_.push_back(address.port());
  }
  const auto& admin = snapshot->settings.admin;
  if (admin.listen != "off") {
    std::string error;
    auto addresses = resolve_host_port(admin.listen, error);
    if (addresses.empty()) return R::failure("admin: " + error);
    Server* self = server.get();
    // "127.0.0.1:9901" -> "127.0.0.1", "[::1]:9901" -> "::1"
    std::string host = admin.listen.substr(0, admin.listen.rfind(':'));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    auto made = admin::AdminServer::create(
        addresses.front(), host, [self](const std::string& method, const std::string& path, const std::string& query) {
          return self->admin_reply(method, path, query);
        });
    if (!made) return R::failure(made.error());
    server->admin_ = std::move(*made);
  }
  return server;
}

admin::Reply Server::admin_reply(const std::string& method, const std::string& path, const std::string& query) {
  if (path == "/reload") {
    if (method != "POST") return {405, "text/plain; charset=utf-8", "POST /reload reloads the config\n"};
    auto outcome = reload();
    return {outcome.ok ? 200 : 422, "text/plain; charset=utf-8", outcome.message + "\n"};
  }
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
  if (path == "/metrics") {
    std::vector<const WorkerContext*> contexts;
    for (const auto& w : workers_) contexts.push_back(&w->context());
    admin::ServerFacts facts;
    facts.access_log_dropped = access_log_.dropped();
    facts.accept_errors = totals().accept_errors;
    facts.config_generation = generation_.load();
    facts.reloads_ok = reloads_ok_.load();
    facts.reloads_error = reloads_error_.load();
    const std::int64_t now = std::time(nullptr);
    facts.seen_clients = admin::seen_counts(seen_clients(now).clients, now);
    return {200, "text/plain; version=0.0.4; charset=utf-8", admin::metrics_text(*snapshot(), contexts, facts)};
  }
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz")
    return ready_ ? admin::Reply{200, "text/plain; charset=utf-8", "ready\n"}
                  : admin::Reply{503, "text/plain; charset=utf-8", "not ready: starting or draining\n"};
  if (path == "/certs") return {200, "application/json", admin::certs_json(*snapshot())};
  if (path == "/clients") return clients_reply(query);
  if (path.starts_with("/crl/")) return admin::published_crl(*snapshot(), path.substr(5));
  return {404, "text/plain; charset=utf-8",
          "not found; try /metrics, /healthz, /readyz, /certs, /clients, /crl/ or POST /reload\n"};
}

admin::SeenGathering Server::seen_clients(std::int64_t now) {
  std::vector<std::future<std::vector<SeenClient>>> answers;
  for (auto& w : workers_) answers.push_back(w->seen_clients(now));
  return admin::gather_seen(std::move(answers), std::chrono::steady_clock::now() + admin::kSeenClientsTimeout);
}

admin::Reply Server::clients_reply(const std::string& query) {
  auto parsed = admin::parse_clients_query(query);
  if (!parsed) return {400, "text/plain; charset=utf-8", parsed.error() + "\n"};
  const std::int64_t now = std::time(nullptr);
  auto seen = seen_clients(now);
  admin::Reply reply{200, "application/json", admin::clients_json(seen.clients, *parsed, now)};
  // The body stays a plain array; a partial answer says so in a header.
  if (seen.unanswered)
    reply.headers.emplace_back("Gatehouse-Partial", std::to_string(seen.unanswered) + " of " +
                                                        std::to_string(seen.workers) +
                                                        " workers did not answer within " +
                                                        std::to_string(admin::kSeenClientsTimeout.count()) + " ms");
  return reply;
}

void Server::start() {
  started_ = true;
  monitor_ = start_monitor(snapshot_, {});
  for (auto& w : workers_) w->start(snapshot_);
  if (admin_) admin_->start();
  if (snapshot_->settings.server.watch && config_source_) {
    watch_ = std::make_unique<FileWatch>([this] { return named_files(snapshot()->settings); }, [this] { reload(); });
    std::string error;
    if (!watch_->start(error)) {
      spdlog::warn("[server] watch: {}; reload with SIGHUP or POST /reload instead", error);
      watch_.reset();
    }
  }
  ready_ = true;
}

std::unique_ptr<UpstreamMonitor> Server::start_monitor(std::shared_ptr<const Snapshot> snapshot, AddressBook known) {
  auto to_workers = [this](const std::string& endpoint, const Resolution& answer) {
    for (auto& w : workers_) w->learn_addresses(endpoint, answer);
  };
  auto monitor = std::make_unique<UpstreamMonitor>(std::move(snapshot), to_workers, std::move(known));
  if (lookup_for_test_) monitor->use_lookup_for_test(lookup_for_test_);
  monitor->start();
  return monitor;
}

void Server::shutdown() {
  {
    std::lock_guard no_reload_from_now_on(reload_mutex_);  // a reload may run on the admin thread
    if (stopped_) return;
    stopped_ = true;
  }
  if (watch_) watch_->stop();  // no reload once the drain has begun
  ready_ = false;              // /readyz answers 503 from now on: balancers stop sending us clients
  // Each worker drains its own connections to the common deadline; its thread ends when its last
  // connection did (or, past the deadline and a grace, when it gives up on them).
  const auto deadline = std::chrono::steady_clock::now() + snapshot()->settings.server.drain_timeout;
  for (auto& w : workers_) w->drain(deadline);
  for (auto& w : workers_) w->join();
  if (monitor_) monitor_->stop();
  if (admin_) admin_->stop();
  access_log_.flush();  // every connection's line is out before we say we stopped
}

void Server::run_until_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      reload();  // logs its outcome
    } else if (sig == SIGUSR1) {
      spdlog::info("SIGUSR1: reopening the access log");
      access_log_.reopen();
    } else {
      break;
    }
  }
  spdlog::info("{}: no new connections; draining open ones (up to {} ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
               snapshot()->settings.server.drain_timeout.count());
  shutdown();
  spdlog::info("stopped");
}

std::uint64_t Server::authz_allowed(size_t listener, int route) const {
  auto snap = snapshot();
  const auto& l = snap->listeners.at(listener);
  const std::string name = route < 0 ? "" : l.settings.routes.at(static_cast<size_t>(route)).name;
  std::uint64_t sum = 0;
  for (const auto& w : workers_)
    w->context().state.read_route(l.settings.name, name,
                                  [&](const metrics::RouteCounters& c) { sum += c.allowed.get(); });
  return sum;
}

std::uint64_t Server::authz_refused(size_t listener, int route, gatehouse::Reason reason) const {
  auto snap = snapshot();
  const auto& l = snap->listeners.at(listener);
  const std::string name = route < 0 ? "" : l.settings.routes.at(static_cast<size_t>(route)).name;
  std::uint64_t sum = 0;
  for (const auto& w : workers_)
    w->context().state.read_route(l.settings.name, name, [&](const metrics::RouteCounters& c) {
      sum += c.refused[static_cast<size_t>(reason)].get();
    });
  return sum;
}

metrics::CounterTotals Server::totals() const {
  metrics::CounterTotals t;
  for (const auto& w : workers_) t.add(w->counters());
  return t;
}

}  // namespace gatehouse::proxy
