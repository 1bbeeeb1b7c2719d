#include "bench/capacity_search.hpp"

#include <sys/wait.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "bench/results.hpp"
#include "bench/thresholds.hpp"

namespace gatehouse::bench {
namespace {

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs one step; its exit status, and what it printed (its JSON results) in `results`.
int run_step(const std::string& base_command, double rate, nlohmann::json& results) {
  const std::string command = base_command + " --json --rate " + std::to_string(rate) + " 2>/dev/null";
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  int status = ::pclose(p);
  results = nlohmann::json::parse(text, nullptr, false);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

CapacitySearch search_capacity(double start_rate, double max_rate, int bisections,
                               const std::function<bool(double)>& holds) {
  CapacitySearch s;
  auto step = [&](double rate) {
    bool held = holds(rate);
    s.curve.push_back({rate, held});
    if (held) s.highest_held = std::max(s.highest_held, rate);
    return held;
  };
  double rate = std::min(start_rate, max_rate), failed = 0;
  for (;;) {
    if (!step(rate)) {
      failed = rate;
      break;
    }
    if (rate >= max_rate) return s;  // held up to the cap: nothing left to look for
    rate = std::min(rate * 2, max_rate);
  }
  for (int i = 0; i < bisections && s.highest_held > 0; ++i) {
    const double mid = std::round((s.highest_held + failed) / 2);
    if (mid <= s.highest_held || mid >= failed) break;  // whole rates: nothing between them
    if (!step(mid)) failed = mid;
  }
  return s;
}

int find_max_main(int argc, char** argv) {
  bool asked = false, json = false;
  std::string p99_text, out_file;
  double start_rate = 100, max_rate = 1e6;
  int bisections = 4;
  std::string base = shell_quoted(std::filesystem::read_symlink("/proc/self/exe").string());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& into) { return i + 1 < argc ? (into = argv[++i], true) : false; };
    std::string v;
    if (a == "--find-max")
      asked = true;
    else if (a == "--p99" && value(v))
      p99_text = v;
    else if (a == "--start-rate" && value(v))
      start_rate = std::atof(v.c_str());
    else if (a == "--max-rate" && value(v))
      max_rate = std::atof(v.c_str());
    else if (a == "--bisections" && value(v))
      bisections = std::atoi(v.c_str());
    else if (a == "--json")
      json = true;
    else if (a == "--out" && value(v))
      out_file = v;
    else if (a == "--rate" || a == "--stages" || a == "--max-p99")
      ++i;  // the search sets these
    else
      base += " " + shell_quoted(a);
  }
  if (!asked) return -1;
  auto limit = parse_latency_limit(p99_text);
  if (!limit || start_rate <= 0 || max_rate < start_rate || bisections < 0) {
    std::cerr << "gatehouse-bench: --find-max needs --p99 LIMIT (e.g. 20ms), --start-rate > 0, --max-rate >= it\n";
    return 2;
  }
  base += " --max-p99 " + shell_quoted(p99_text);
  auto curve = nlohmann::ordered_json::array();
  int trouble = 0;  // a step that could not run at all (bad options, unreachable target)
  auto search = search_capacity(start_rate, max_rate, bisections, [&](double rate) {
    if (trouble) return false;
    nlohmann::json r;
    const int exit_code = run_step(base, rate, r);
    // Exit 1 (nothing succeeded) is a step that failed, as an overloaded target's may.
    const bool measured = (exit_code == 0 || exit_code == 1 || exit_code == 3) && r.is_object();
    if (!measured) trouble = exit_code == -1 ? 2 : exit_code;
    const bool held = measured && exit_code == 0 && r.value("not_started", 0) == 0;
    nlohmann::ordered_json point{{"rate", rate}, {"held", held}};
    if (measured) {
      point["per_second"] = r["per_second"];
      point["p99_us"] = r["latency_us"]["p99"];
      point["errors"] = r["error_count"];
      point["not_started"] = r.value("not_started", 0);
    }
    if (!json)
      std::printf("%8.0f/s asked: %s  p99 %s µs, %s/s achieved\n", rate, held ? "held  " : "FAILED",
                  measured ? r["latency_us"]["p99"].dump().c_str() : "-",
                  measured ? std::to_string(static_cast<long>(r["per_second"].get<double>())).c_str() : "-");
    curve.push_back(std::move(point));
    return held;
  });
  if (trouble) {
    std::cerr << "gatehouse-bench: --find-max: a step could not run (run it without --find-max to see why)\n";
    return trouble;
  }
  nlohmann::ordered_json j{
      {"find_max", {{"p99_limit", p99_text}, {"highest_rate", search.highest_held}, {"curve", curve}}}};
  if (!out_file.empty()) std::ofstream(out_file) << j.dump(1) << "\n";
  if (json)
    std::cout << j.dump(2) << "\n";
  else if (search.highest_held > 0)
    std::printf("highest rate holding p99 <= %s: %.0f/s\n", p99_text.c_str(), search.highest_held);
  else
    std::printf("no rate held p99 <= %s, not even %.0f/s\n", p99_text.c_str(), start_rate);
  return search.highest_held > 0 ? 0 : kThresholdFailed;
}

void add_find_max_options(CLI::App& app, bool& stray) {
  auto set = [&stray](const auto&) { stray = true; };
  app.add_flag_callback(
      "--find-max", [&stray] { stray = true; },
      std::string("capacity search: double the open-loop --rate from --start-rate until p99 exceeds "
                  "--p99 (or errors pass --max-errors, or arrivals go unstarted), then bisect; each "
                  "step lasts -d; prints the curve and the highest rate that held"));
  app.add_option_function<std::string>("--p99", set, "with --find-max: the p99 latency to hold, e.g. 20ms");
  app.add_option_function<double>("--start-rate", set, "with --find-max: the first rate (default 100)");
  app.add_option_function<double>("--max-rate", set, "with --find-max: stop doubling here (default 1000000)");
  app.add_option_function<int>("--bisections", set, "with --find-max: halvings after the first failure (default 4)");
}

}  // namespace gatehouse::bench
