#include "bench/results.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace gatehouse::bench {
namespace {

constexpr const char* kFormat = "gatehouse-bench-results/1";
constexpr double kBusyClient = 0.85;  // of the load threads' cores
constexpr double kShortfall = 0.95;   // of the asked rate

nlohmann::ordered_json percentiles(const LatencyHistogram& h) {
  return {{"p50", h.quantile(0.5)},
          {"p90", h.quantile(0.9)},
          {"p99", h.quantile(0.99)},
          {"p99.9", h.quantile(0.999)},
          {"max", h.max()}};
}

// [[bucket, count], ...] for the non-empty buckets only.
nlohmann::json dense_buckets(const LatencyHistogram& h) {
  auto out = nlohmann::json::array();
  for (std::size_t i = 0; i < LatencyHistogram::kCount; ++i)
    if (h.bucket(i)) out.push_back({i, h.bucket(i)});
  return out;
}

nlohmann::json sparse_buckets(const std::map<std::uint32_t, std::uint64_t>& buckets) {
  auto out = nlohmann::json::array();
  for (const auto& [i, n] : buckets) out.push_back({i, n});
  return out;
}

// Reads [[bucket, count], ...] into `add`; false on a bucket this build does not have.
template <typename Add>
bool read_buckets(const nlohmann::json& pairs, Add add) {
  for (const auto& p : pairs) {
    auto i = p.at(0).get<std::uint64_t>();
    if (i >= LatencyHistogram::kCount) return false;
    add(static_cast<std::uint32_t>(i), p.at(1).get<std::uint64_t>());
  }
  return true;
}

}  // namespace

void SecondSlot::merge(const SecondSlot& o) {
  operations += o.operations;
  errors += o.errors;
  for (const auto& [i, n] : o.latency) latency[i] += n;
}

LatencyHistogram SecondSlot::histogram() const {
  LatencyHistogram h;
  for (const auto& [i, n] : latency) h.add(i, n);
  return h;
}

void Results::merge(const Results& o) {
  if (target.empty()) target = o.target;
  if (mode.empty()) mode = o.mode;
  if (o.target != target) target = "(several)";
  shards += o.shards;
  threads = std::max(threads, o.threads);
  connections = std::max(connections, o.connections);
  seconds = std::max(seconds, o.seconds);  // shards run side by side, not one after the other
  asked_rate += o.asked_rate;
  operations += o.operations;
  resumed += o.resumed;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  held += o.held;
  identities += o.identities;
  not_started += o.not_started;
  for (const auto& [kind, n] : o.errors) errors[kind] += n;
  latency.merge(o.latency);
  for (const auto& [second, slot] : o.series) series[second].merge(slot);
  client_cpu_seconds += o.client_cpu_seconds;
  load_cores += o.load_cores;
  for (const auto& w : o.warnings)
    if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
}

std::uint64_t Results::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

double Results::per_second() const { return seconds > 0 ? static_cast<double>(operations) / seconds : 0; }

double Results::client_cpu_share() const {
  return seconds > 0 && load_cores > 0 ? client_cpu_seconds / (seconds * load_cores) : 0;
}

std::vector<std::string> bottleneck_warnings(const Results& r) {
  std::vector<std::string> out;
  char line[256];
  if (r.client_cpu_share() > kBusyClient) {
    std::snprintf(line, sizeof line,
                  "the generator used %.0f%% of its %.0f load core(s): it may be the bottleneck, not the target "
                  "(add threads or shards)",
                  r.client_cpu_share() * 100, r.load_cores);
    out.emplace_back(line);
  }
  double achieved = r.seconds > 0 ? static_cast<double>(r.operations + r.error_count()) / r.seconds : 0;
  if (r.asked_rate > 0 && achieved < kShortfall * r.asked_rate) {
    std::snprintf(line, sizeof line,
                  "achieved %.0f/s of the %.0f/s asked: the generator (or its connections, -c) could not keep up",
                  achieved, r.asked_rate);
    out.emplace_back(line);
  }
  return out;
}

nlohmann::ordered_json to_json(const Results& r) {
  nlohmann::ordered_json j{{"format", kFormat},
                           {"target", r.target},
                           {"mode", r.mode},
                           {"shards", r.shards},
                           {"threads", r.threads},
                           {"connections", r.connections},
                           {"seconds", r.seconds},
                           {"operations", r.operations},
                           {"per_second", r.per_second()},
                           {"resumed", r.resumed},
                           {"latency_us", percentiles(r.latency)},
                           {"bytes_sent", r.bytes_sent},
                           {"bytes_received", r.bytes_received},
                           {"held", r.held},
                           {"identities", r.identities},
                           {"errors", r.errors},
                           {"error_count", r.error_count()},
                           {"not_started", r.not_started}};
  if (r.asked_rate > 0) j["asked_rate"] = r.asked_rate;
  j["client_cpu"] = {{"seconds", r.client_cpu_seconds}, {"load_cores", r.load_cores}, {"share", r.client_cpu_share()}};
  j["warnings"] = r.warnings;
  j["histogram"] = {{"unit", "us"},
                    {"sub_bucket_bits", LatencyHistogram::kSubBits},
                    {"magnitudes", LatencyHistogram::kMagnitudes},
                    {"buckets", dense_buckets(r.latency)}};
  auto series = nlohmann::ordered_json::array();
  for (const auto& [second, slot] : r.series) {
    const auto h = slot.histogram();
    nlohmann::ordered_json s{{"t", second},
                             {"operations", slot.operations},
                             {"errors", slot.errors},
                             {"p50", h.quantile(0.5)},
                             {"p99", h.quantile(0.99)},
                             {"p99.9", h.quantile(0.999)},
                             {"buckets", sparse_buckets(slot.latency)}};
    series.push_back(std::move(s));
  }
  j["series"] = std::move(series);
  return j;
}

Result<Results> results_from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("format", "") != kFormat)
    return Result<Results>::failure(std::string("not a gatehouse-bench results file (no \"format\": \"") + kFormat +
                                    "\"; write one with --out or --json)");
  const auto& h = j.at("histogram");
  if (h.value("sub_bucket_bits", 0) != LatencyHistogram::kSubBits ||
      h.value("magnitudes", 0) != LatencyHistogram::kMagnitudes || h.value("unit", "") != "us")
    return Result<Results>::failure("its histogram has other buckets than this gatehouse-bench's");
  Results r;
  r.target = j.value("target", "");
  r.mode = j.value("mode", "");
  r.shards = j.value("shards", 1);
  r.threads = j.value("threads", 0);
  r.connections = j.value("connections", 0);
  r.seconds = j.value("seconds", 0.0);
  r.asked_rate = j.value("asked_rate", 0.0);
  r.operations = j.value("operations", std::uint64_t{0});
  r.resumed = j.value("resumed", std::uint64_t{0});
  r.bytes_sent = j.value("bytes_sent", std::uint64_t{0});
  r.bytes_received = j.value("bytes_received", std::uint64_t{0});
  r.held = j.value("held", std::uint64_t{0});
  r.identities = j.value("identities", std::uint64_t{0});
  r.not_started = j.value("not_started", std::uint64_t{0});
  r.errors = j.value("errors", std::map<std::string, std::uint64_t>{});
  if (j.contains("client_cpu")) {
    r.client_cpu_seconds = j["client_cpu"].value("seconds", 0.0);
    r.load_cores = j["client_cpu"].value("load_cores", 0.0);
  }
  r.warnings = j.value("warnings", std::vector<std::string>{});
  bool ok = read_buckets(h.at("buckets"), [&](std::uint32_t i, std::uint64_t n) { r.latency.add(i, n); });
  for (const auto& s : j.value("series", nlohmann::json::array())) {
    auto& slot = r.series[s.at("t").get<std::int64_t>()];
    slot.operations = s.value("operations", std::uint64_t{0});
    slot.errors = s.value("errors", std::uint64_t{0});
    ok = ok && read_buckets(s.at("buckets"), [&slot](std::uint32_t i, std::uint64_t n) { slot.latency[i] += n; });
  }
  if (!ok) return Result<Results>::failure("a histogram bucket out of range");
  return r;
}

Result<Results> read_results_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Result<Results>::failure(path + ": cannot read it");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return Result<Results>::failure(path + ": not JSON");
  try {
    auto r = results_from_json(j);
    if (!r) return Result<Results>::failure(path + ": " + r.error());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Result<Results>::failure(path + ": " + e.what());
  }
}

void print_text(const Results& r) {
  auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf("%s %s: %llu operations in %.2f s = %.0f/s (%llu resumed)", r.target.c_str(), r.mode.c_str(),
              u(r.operations), r.seconds, r.per_second(), u(r.resumed));
  if (r.shards > 1) std::printf(", %d shards", r.shards);
  if (r.asked_rate > 0) std::printf(", %.0f/s asked", r.asked_rate);
  std::printf("\nlatency µs: p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n", u(r.latency.quantile(0.5)),
              u(r.latency.quantile(0.9)), u(r.latency.quantile(0.99)), u(r.latency.quantile(0.999)),
              u(r.latency.max()));
  if (r.mode == "bulk")
    std::printf("throughput: %.1f MB/s each way\n", static_cast<double>(r.bytes_sent) / r.seconds / 1e6);
  if (r.mode == "hold") std::printf("held: %llu connections\n", u(r.held));
  if (r.identities) std::printf("identities: %llu distinct client certificates\n", u(r.identities));
  std::printf("generator CPU: %.0f%% of %.0f load core(s)\n", r.client_cpu_share() * 100, r.load_cores);
  for (const auto& [kind, n] : r.errors) std::printf("errors: %llu × %s\n", u(n), kind.c_str());
  if (r.not_started)
    std::printf("not started: %llu arrivals due in the window (failures for --max-errors)\n", u(r.not_started));
  for (const auto& w : r.warnings) std::printf("warning: %s\n", w.c_str());
}

}  // namespace gatehouse::bench
