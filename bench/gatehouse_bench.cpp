// gatehouse-bench: an mTLS load generator. Drives host:port with a client certificate from
// several threads (one io_context each) × concurrent connections, and reports operations per
// second, errors by kind, latency percentiles, and the target's CPU time per operation.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/capacity_search.hpp"
#include "bench/h2_load.hpp"
#include "bench/load.hpp"
#include "bench/measured_window.hpp"
#include "bench/merge.hpp"
#include "bench/results.hpp"
#include "bench/run_plan.hpp"
#include "bench/svg_plot.hpp"
#include "common/guarded_main.hpp"
#include "tls/pem_io.hpp"

namespace gb = gatehouse::bench;
using Clock = std::chrono::steady_clock;
// After the open loop's last arrival, how long its operations under way may take to end.
constexpr std::chrono::seconds kDrain{11};

namespace {

// A process's CPU time in seconds, from /proc/PID/stat: in its own code (utime) and in the
// kernel on its behalf (stime: system calls, and the TCP work loopback does in the sender).
struct CpuSeconds {
  double user = 0, kernel = 0;
  double total() const { return user + kernel; }
};
// Both -1 if unreadable.
CpuSeconds cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto close = text.rfind(')');
  if (close == std::string::npos) return {-1, -1};
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {static_cast<double>(utime) / ticks, static_cast<double>(stime) / ticks};
}

// Resident memory of a process in KiB, from /proc/PID/status; -1 if unreadable.
long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// "ECDSA+SHA256:RSA-PSS+SHA256" -> TLS signature scheme codes; empty if any name is unknown.
// They restrict what the server may sign with (so it picks its ECDSA or RSA certificate), not
// what our own client certificate signs with.
std::vector<uint16_t> parse_sigalgs(const std::string& list) {
  static const std::pair<const char*, uint16_t> kNames[] = {{"ECDSA+SHA256", SSL_SIGN_ECDSA_SECP256R1_SHA256},
                                                            {"ECDSA+SHA384", SSL_SIGN_ECDSA_SECP384R1_SHA384},
                                                            {"RSA-PSS+SHA256", SSL_SIGN_RSA_PSS_RSAE_SHA256},
                                                            {"RSA-PSS+SHA384", SSL_SIGN_RSA_PSS_RSAE_SHA384},
                                                            {"RSA+SHA256", SSL_SIGN_RSA_PKCS1_SHA256},
                                                            {"RSA+SHA384", SSL_SIGN_RSA_PKCS1_SHA384},
                                                            {"Ed25519", SSL_SIGN_ED25519}};
  std::vector<uint16_t> out;
  std::istringstream in(list);
  for (std::string name; std::getline(in, name, ':');) {
    auto it = std::find_if(std::begin(kNames), std::end(kNames), [&](const auto& n) { return name == n.first; });
    if (it == std::end(kNames)) return {};
    out.push_back(it->second);
  }
  return out;
}

// A context that fails early, in words, on a wrong certificate, key or CA.
bssl::UniquePtr<SSL_CTX> make_context(const std::string& cert, const std::string& key, const std::string& ca,
                                      const std::string& version, const std::string& groups, const std::string& sigalgs,
                                      std::string& error) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  uint16_t v = version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), version.empty() ? TLS1_2_VERSION : v);
  SSL_CTX_set_max_proto_version(ctx.get(), version.empty() ? TLS1_3_VERSION : v);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  if (!cert.empty()) {
    auto parsed_key = gatehouse::tls::read_private_key(key);
    if (!SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()))
      error = cert + ": not a PEM certificate chain";
    else if (!parsed_key)
      error = parsed_key.error();
    else if (!SSL_CTX_use_PrivateKey(ctx.get(), parsed_key->get()) || !SSL_CTX_check_private_key(ctx.get()))
      error = key + " is not the private key of " + cert;
  }
  if (error.empty() && !ca.empty()) {
    if (!SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr)) error = ca + ": no CA certificate in it";
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (error.empty() && !groups.empty() && !SSL_CTX_set1_curves_list(ctx.get(), groups.c_str()))
    error = "unknown group in '" + groups + "' (try X25519, P-256, P-384)";
  if (error.empty() && !sigalgs.empty()) {
    auto prefs = parse_sigalgs(sigalgs);
    if (prefs.empty() || !SSL_CTX_set_verify_algorithm_prefs(ctx.get(), prefs.data(), prefs.size()))
      error = "unknown signature algorithm in '" + sigalgs + "' (try ECDSA+SHA256, RSA-PSS+SHA256, RSA+SHA256)";
  }
  ERR_clear_error();
  return ctx;
}

bool reachable(const std::string& host, const std::string& port, std::string& error) {
  asio::io_context io;
  asio::error_code ec;
  auto results = asio::ip::tcp::resolver(io).resolve(host, port, ec);
  if (ec) {
    error = "cannot resolve " + host + ": " + ec.message();
    return false;
  }
  asio::ip::tcp::socket s(io);
  asio::connect(s, results, ec);
  if (ec) error = "cannot connect to " + host + ":" + port + ": " + ec.message();
  return !ec;
}

}  // namespace

namespace {
int run_main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a server closing on us is an error to count, not a reason to die
  if (argc > 1 && std::string(argv[1]) == "merge") return gb::merge_main(argc - 1, argv + 1);
  if (int status = gb::find_max_main(argc, argv); status >= 0) return status;
  CLI::App app{"gatehouse-bench: mTLS handshake and throughput load generator"};
  app.footer(
      "Closed loop by default (each connection starts its next operation when the last ends); --rate or "
      "--stages make it an open loop.\n"
      "gatehouse-bench merge a.json b.json ... combines results files (--out) into one report (merge --help).\n"
      "Exit status: 0 passed, 1 no operation succeeded, 2 bad input, 3 a threshold failed.");
  std::string target, cert, key, ca, sni, version, groups, sigalgs, mode_name = "handshake", path = "/";
  int threads = 1, connections = 16, pid = 0, streams = 1;
  std::uint64_t requests_per_connection = 0;
  double duration = 10, warmup = 1;
  std::uint64_t count = 0;
  std::size_t bulk_mib = 64;
  bool json = false;
  app.add_option("target", target, "host:port to load (Gatehouse, nginx, HAProxy, ...)")->required();
  app.add_option("--cert", cert, "client certificate chain (PEM)");
  app.add_option("--key", key, "the client certificate's private key (PEM)");
  app.add_option("--ca", ca, "CA to verify the server with (default: the server is not checked)");
  app.add_option("--sni", sni, "server name to send (default: none)");
  app.add_option("--mode", mode_name,
                 "handshake | resume | requests | bulk | hold | h2 (HTTP/2 GETs of --path on warm connections, ALPN "
                 "h2) | grpc (unary gRPC calls to --path, e.g. /bench.Bench/Call: POST application/grpc, an empty "
                 "message, grpc-status 0 expected)")
      ->check(CLI::IsMember({"handshake", "resume", "requests", "bulk", "hold", "h2", "grpc"}));
  app.add_option("-t,--threads", threads, "load threads, one io_context each")->check(CLI::Range(1, 256));
  app.add_option("-c,--connections", connections, "concurrent connections per thread")->check(CLI::Range(1, 100000));
  app.add_option("-d,--duration", duration, "seconds to measure (after the warm-up)");
  app.add_option("-n,--count", count,
                 "stop after this many operations instead (h2, grpc with --warmup 0: exactly this many requests are "
                 "sent, and each is counted as an operation or an error)");
  app.add_option("--warmup", warmup,
                 "seconds of load before measuring (default 1; open loop: default 0, else the schedule's start)");
  app.add_option("--tls", version, "pin the TLS version: 1.2 or 1.3")->check(CLI::IsMember({"1.2", "1.3"}));
  app.add_option("--groups", groups, "key exchange groups, e.g. X25519:P-256");
  app.add_option("--sigalgs", sigalgs, "signature algorithms the server may use, e.g. ECDSA+SHA256 or RSA-PSS+SHA256");
  app.add_option("--path", path, "the request path after each handshake (h2, grpc: of each stream)");
  app.add_option("--streams", streams, "h2, grpc: concurrent streams per connection")->check(CLI::Range(1, 10000));
  app.add_option("--requests-per-connection", requests_per_connection,
                 "h2, grpc: requests per connection before a new one (0: keep each connection to the end)");
  app.add_option("--bulk-mib", bulk_mib, "MiB each way per connection in bulk mode (needs an echoing upstream)");
  app.add_option("--pid", pid, "the target's process id: report its CPU time per operation");
  app.add_flag("--json", json, "print the results as JSON (histograms and per-second series included)");
  gb::RunPlanArgs plan_args;
  gb::add_run_plan_options(app, plan_args);
  bool find_max_stray = false;  // --find-max itself never gets here (find_max_main ran it)
  gb::add_find_max_options(app, find_max_stray);
  gb::IdentityArgs identity_args;
  gb::add_identity_options(app, identity_args);
  std::string mix;
  app.add_option("--mix", mix, "shares of full and resumed handshakes, e.g. full=0.2,resume=0.8 (default: by --mode)");
  CLI11_PARSE(app, argc, argv);
  const bool open_loop_asked = plan_args.rate > 0 || !plan_args.stages.empty();
  if (open_loop_asked && !app.count("--warmup")) warmup = 0;  // the schedule is the test

  gb::LoadOptions o;
  auto colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "gatehouse-bench: target must be host:port, got '" << target << "'\n";
    return 2;
  }
  o.host = target.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
  o.port = target.substr(colon + 1);
  o.sni = sni;
  o.path = path;
  o.connections = connections;
  o.bulk_bytes = bulk_mib << 20;
  o.streams = streams;
  o.requests_per_connection = requests_per_connection;
  o.mode = mode_name == "resume"     ? gb::Mode::resume
           : mode_name == "requests" ? gb::Mode::requests
           : mode_name == "bulk"     ? gb::Mode::bulk
           : mode_name == "hold"     ? gb::Mode::hold
           : mode_name == "h2"       ? gb::Mode::h2
           : mode_name == "grpc"     ? gb::Mode::grpc
                                     : gb::Mode::handshake;
  // Open loop (--rate, --stages): handshake, resume, requests; h2 and grpc keep a closed loop of streams.
  const bool arrivals = o.mode == gb::Mode::handshake || o.mode == gb::Mode::resume || o.mode == gb::Mode::requests;
  auto plan = gb::make_run_plan(plan_args, {duration, warmup, count > 0, arrivals});
  std::string error = plan ? "" : plan.error();
  if (find_max_stray) error = "--p99, --start-rate, --max-rate and --bisections go with --find-max";
  if (error.empty() && cert.empty() != key.empty()) error = "give both --cert and --key, or neither";
  o.resume_share = o.mode == gb::Mode::resume ? 1 : 0;
  if (error.empty() && !mix.empty()) {
    auto share = gb::parse_resume_share(mix);
    error = !share                                                 ? share.error()
            : o.mode == gb::Mode::bulk || o.mode == gb::Mode::hold ? "--mix needs --mode handshake, resume or requests"
                                                                   : "";
    if (share) o.resume_share = *share;
  }
  std::shared_ptr<const gb::IdentitySet> identities;  // minted here, before any load
  if (error.empty() && (identity_args.count || !identity_args.from_dir.empty()) && !cert.empty())
    error = "give --cert/--key or --identities, not both";
  if (error.empty()) {
    auto made = gb::make_identities(identity_args, plan->shard.index);
    if (made)
      identities = *made;
    else
      error = made.error();
  }
  o.identities = identities.get();
  auto ctx = error.empty() ? make_context(cert, key, ca, version, groups, sigalgs, error) : nullptr;
  const bool h2 = o.mode == gb::Mode::h2 || o.mode == gb::Mode::grpc;
  if (error.empty() && h2 && !gb::offer_h2(ctx.get())) error = "could not offer ALPN h2";
  if (error.empty()) reachable(o.host, o.port, error);
  if (error.empty() && pid && cpu_seconds(pid).total() < 0) error = "no process " + std::to_string(pid) + " to measure";
  if (!error.empty()) {
    std::cerr << "gatehouse-bench: " << error << "\n";
    return 2;
  }

  gb::LoadControl control;
  if (warmup <= 0 && !plan->schedule) {  // measured from the first operation on: with -n, h2 and grpc send exactly that many
    control.measuring = true;
    control.max_operations = count;
  }
  const long rss_before_load = pid ? rss_kib(pid) : 0;
  // A shared start: closed-loop threads begin then; the open loop's first arrival is due then
  // (threads start just before, to be connected in time).
  auto start_in = std::chrono::duration<double>(0.05);
  std::string late;  // this shard missed the shared start: the others began without it
  if (plan->start_at) {
    const std::chrono::duration<double> until_start = *plan->start_at - gb::WallClock::now();
    if (until_start.count() < 0)
      late =
          "--start-at was " + std::to_string(-until_start.count()) + " s ago when this run was ready; it started late";
    start_in = std::max(start_in, until_start);
  }
  if (!plan->schedule) std::this_thread::sleep_for(start_in);
  control.schedule_start = Clock::now() + std::chrono::duration_cast<Clock::duration>(start_in);
  control.measure_from =
      control.schedule_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  if (plan->schedule) o.schedule = &*plan->schedule;
  std::vector<gb::LoadStats> stats(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i, o]() mutable {
      o.share = gb::share_of(plan->shard, i, threads);  // shards and threads together: the whole schedule
      gb::run_load_thread(o, ctx.get(), control, stats[static_cast<std::size_t>(i)]);
    });
  }

  CpuSeconds cpu_before, cpu_after;
  long rss_held = 0;
  gb::WindowHooks hooks;
  hooks.live = !json && ::isatty(STDOUT_FILENO);
  hooks.started = [&] { cpu_before = pid ? cpu_seconds(pid) : CpuSeconds{}; };
  hooks.ended = [&] {
    cpu_after = pid ? cpu_seconds(pid) : CpuSeconds{};
    rss_held = pid ? rss_kib(pid) : 0;
  };
  auto window = plan->schedule ? gb::run_open_window(control, *plan->schedule, threads, kDrain, hooks)
                               : gb::run_closed_window(control, warmup, duration, count, hooks);
  for (auto& w : workers) w.join();

  gb::LoadStats total;
  for (const auto& s : stats) total.merge(s);
  gb::Results results;
  results.target = target;
  results.mode = mode_name;
  results.threads = threads;
  results.connections = connections;
  results.seconds = window.seconds;
  results.operations = total.operations;
  results.resumed = total.resumed;
  results.bytes_sent = total.bytes_sent;
  results.bytes_received = total.bytes_received;
  results.held = total.held;
  results.identities = identities ? identities->size() : 0;
  results.errors = total.errors;
  results.not_started = total.not_started;
  results.latency = total.latency;
  results.series = std::move(total.series);
  results.client_cpu_seconds = window.client_cpu_seconds;
  results.load_cores = threads;
  if (plan->schedule && window.seconds > 0)
    results.asked_rate = static_cast<double>(plan->schedule->total() - plan->schedule->due_before(warmup)) /
                         plan->shard.count / window.seconds;
  results.warnings = gb::bottleneck_warnings(results);
  if (!late.empty()) results.warnings.push_back(late);
  // Only where every connection is a full handshake: with resumption, reuse is the point.
  if (identities && o.resume_share == 0)
    if (auto reuse = gb::reuse_warning(identities->size(), identities->presented()); !reuse.empty())
      results.warnings.push_back(reuse);
  for (const auto& w : results.warnings) std::cerr << "gatehouse-bench: warning: " << w << "\n";

  auto j = gb::to_json(results);
  if (h2) {
    j["streams"] = streams;
    j["requests_per_connection"] = requests_per_connection;
  }
  if (pid && total.operations) {
    const double per_operation = 1e6 / static_cast<double>(total.operations);
    j["target_cpu_us_per_operation"] = (cpu_after.total() - cpu_before.total()) * per_operation;
    j["target_user_us_per_operation"] = (cpu_after.user - cpu_before.user) * per_operation;
    j["target_kernel_us_per_operation"] = (cpu_after.kernel - cpu_before.kernel) * per_operation;
  }
  if (pid && o.mode == gb::Mode::bulk && total.bytes_sent)  // CPU seconds per GiB forwarded each way
    j["target_cpu_seconds_per_gib"] = (cpu_after.total() - cpu_before.total()) / (static_cast<double>(total.bytes_sent) / (1 << 30));
  if (pid && o.mode == gb::Mode::hold && total.held) {  // memory of the held connections, measured before any
    j["target_rss_kib_before"] = rss_before_load;
    j["target_rss_kib_held"] = rss_held;
    j["target_kib_per_connection"] = static_cast<double>(rss_held - rss_before_load) / static_cast<double>(total.held);
  }
  const bool passed = gb::report_thresholds(gb::check(plan->thresholds, results), j);
  if (!plan->out.empty()) std::ofstream(plan->out) << j.dump(1) << "\n";
  if (!plan->plot.empty()) gb::write_plot(results, plan->plot);
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    gb::print_text(results);
    if (j.contains("target_cpu_seconds_per_gib"))
      std::printf("target CPU: %.2f s per GiB each way\n", j["target_cpu_seconds_per_gib"].get<double>());
    if (j.contains("target_kib_per_connection"))
      std::printf("target memory: %.1f KiB per held connection (RSS %ld -> %ld KiB)\n",
                  j["target_kib_per_connection"].get<double>(), rss_before_load, rss_held);
    if (j.contains("target_cpu_us_per_operation"))
      std::printf("target CPU: %.0f µs per operation (user %.0f, kernel %.0f)\n",
                  j["target_cpu_us_per_operation"].get<double>(), j["target_user_us_per_operation"].get<double>(),
                  j["target_kernel_us_per_operation"].get<double>());
  }
  if (!passed) return gb::kThresholdFailed;  // said first: it is what a pipeline asked about
  return total.operations > 0 || o.mode == gb::Mode::hold ? 0 : 1;
}
}  // namespace

int main(int argc, char** argv) { return gatehouse::guarded_main("gatehouse-bench", argc, argv, run_main); }
