// The command line's plan for a run beyond the load itself: open loop (--rate, --stages),
// thresholds, a shared start (--start-at), this process's shard, where the results go.
#pragma once

#include <optional>
#include <string>

#include "bench/arrival_schedule.hpp"
#include "bench/shared_start.hpp"
#include "bench/thresholds.hpp"

namespace CLI {
class App;
}

namespace gatehouse::bench {

struct RunPlanArgs {
  double rate = 0;
  std::string stages, start_at, shard, out, plot;
  ThresholdArgs thresholds;
};
void add_run_plan_options(CLI::App& app, RunPlanArgs& args);

struct RunPlan {
  std::optional<ArrivalSchedule> schedule;  // set: open loop
  Thresholds thresholds;
  std::optional<WallClock::time_point> start_at;
  Shard shard;
  std::string out;   // results file ("" none)
  std::string plot;  // SVG file ("" none)
};

// What the rest of the command line says that the plan depends on.
struct LoadShape {
  double duration = 10, warmup = 0;
  bool count_given = false;
  bool mode_has_arrivals = true;  // handshake, resume, requests (not bulk, hold)
};
Result<RunPlan> make_run_plan(const RunPlanArgs& args, const LoadShape& shape);

}  // namespace gatehouse::bench
