// Pass/fail limits for CI pipelines (--max-p99 20ms, --max-errors 0.1%): checked against a
// run's or a merge's results, they set the exit status and say which one failed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/results.hpp"
#include "common/result.hpp"

namespace gatehouse::bench {

struct Thresholds {
  std::optional<std::uint64_t> max_p99_us;
  std::optional<double> max_error_share;  // of all operations tried, 0..1
  bool any() const { return max_p99_us || max_error_share; }
};

struct ThresholdVerdict {
  std::string name;  // "p99", "errors"
  std::string limit, measured;
  bool passed = false;
};

// "20ms", "1.5s", "800us" -> microseconds.
Result<std::uint64_t> parse_latency_limit(const std::string& text);
// "0.1%" -> 0.001; a bare number is a share ("0.001").
Result<double> parse_share(const std::string& text);

std::vector<ThresholdVerdict> check(const Thresholds& t, const Results& r);

// Adds the verdicts to the JSON report and names the failed ones on stderr; true if all passed.
bool report_thresholds(const std::vector<ThresholdVerdict>& verdicts, nlohmann::ordered_json& j);

// The exit status of a run or merge whose thresholds failed (1: nothing succeeded, 2: bad input).
constexpr int kThresholdFailed = 3;

}  // namespace gatehouse::bench

namespace CLI {
class App;
}

namespace gatehouse::bench {

// --max-p99 and --max-errors, for a run and for a merge alike.
struct ThresholdArgs {
  std::string max_p99, max_errors;
};
void add_threshold_options(CLI::App& app, ThresholdArgs& args);
Result<Thresholds> parse_thresholds(const ThresholdArgs& args);

}  // namespace gatehouse::bench
