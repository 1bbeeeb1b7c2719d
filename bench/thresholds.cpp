#include "bench/thresholds.hpp"

#include <cstdio>
#include <iostream>

namespace gatehouse::bench {
namespace {

// A non-negative decimal followed by exactly `suffix`-free text in `rest`; nullopt otherwise.
std::optional<double> leading_number(const std::string& text, std::string& rest) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (v < 0 || used == 0) return std::nullopt;
    rest = text.substr(used);
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string format_us(double us) {
  char buf[64];
  if (us >= 1000)
    std::snprintf(buf, sizeof buf, "%.3g ms", us / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f µs", us);
  return buf;
}

std::string format_share(double share) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g%%", share * 100);
  return buf;
}

}  // namespace

Result<std::uint64_t> parse_latency_limit(const std::string& text) {
  std::string unit;
  auto v = leading_number(text, unit);
  double scale = unit == "us" || unit == "µs" ? 1 : unit == "ms" ? 1e3 : unit == "s" ? 1e6 : -1;
  if (!v || scale < 0)
    return Result<std::uint64_t>::failure("'" + text + "' is not a latency (e.g. 20ms, 800us, 1.5s)");
  return static_cast<std::uint64_t>(*v * scale);
}

Result<double> parse_share(const std::string& text) {
  std::string unit;
  auto v = leading_number(text, unit);
  double share = !v ? -1 : unit == "%" ? *v / 100 : unit.empty() ? *v : -1;
  if (share < 0 || share > 1) return Result<double>::failure("'" + text + "' is not a share (e.g. 0.1% or 0.001)");
  return share;
}

std::vector<ThresholdVerdict> check(const Thresholds& t, const Results& r) {
  std::vector<ThresholdVerdict> out;
  if (t.max_p99_us) {
    auto p99 = r.latency.quantile(0.99);
    out.push_back({"p99", format_us(static_cast<double>(*t.max_p99_us)), format_us(static_cast<double>(p99)),
                   p99 <= *t.max_p99_us});
  }
  if (t.max_error_share) {
    // Arrivals the generator never started failed as surely as refused ones.
    auto failed = r.error_count() + r.not_started;
    auto tried = r.operations + failed;
    double share = tried ? static_cast<double>(failed) / static_cast<double>(tried) : 0;
    out.push_back({"errors", format_share(*t.max_error_share), format_share(share), share <= *t.max_error_share});
  }
  return out;
}

bool report_thresholds(const std::vector<ThresholdVerdict>& verdicts, nlohmann::ordered_json& j) {
  bool all = true;
  auto list = nlohmann::ordered_json::array();
  for (const auto& v : verdicts) {
    list.push_back({{"name", v.name}, {"limit", v.limit}, {"measured", v.measured}, {"passed", v.passed}});
    if (!v.passed)
      std::cerr << "gatehouse-bench: threshold failed: " << v.name << " " << v.measured << " > " << v.limit << "\n";
    all = all && v.passed;
  }
  if (!verdicts.empty()) j["thresholds"] = std::move(list);
  return all;
}

}  // namespace gatehouse::bench

#include <CLI/CLI.hpp>

namespace gatehouse::bench {

void add_threshold_options(CLI::App& app, ThresholdArgs& args) {
  app.add_option("--max-p99", args.max_p99,
                 "fail (exit 3) if the p99 latency is above this, e.g. 20ms (open loop: from the due time)");
  app.add_option("--max-errors", args.max_errors,
                 "fail (exit 3) if more than this share of operations failed, e.g. 0.1% or 0.001");
}

Result<Thresholds> parse_thresholds(const ThresholdArgs& args) {
  Thresholds t;
  if (!args.max_p99.empty()) {
    auto v = parse_latency_limit(args.max_p99);
    if (!v) return Result<Thresholds>::failure("--max-p99: " + v.error());
    t.max_p99_us = *v;
  }
  if (!args.max_errors.empty()) {
    auto v = parse_share(args.max_errors);
    if (!v) return Result<Thresholds>::failure("--max-errors: " + v.error());
    t.max_error_share = *v;
  }
  return t;
}

}  // namespace gatehouse::bench
