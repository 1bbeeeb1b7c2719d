#include "bench/run_plan.hpp"

#include <CLI/CLI.hpp>

namespace gatehouse::bench {

void add_run_plan_options(CLI::App& app, RunPlanArgs& args) {
  app.add_option("--rate", args.rate,
                 "open loop: start this many operations per second (all threads and shards together), "
                 "latency counted from when each was due; without --stages for --warmup + --duration seconds, "
                 "with --stages the rate the first stage ramps from (default 0)")
      ->check(CLI::PositiveNumber);
  app.add_option("--stages", args.stages,
                 "open loop ramps: DURATION:RATE,... each going linearly to RATE, e.g. 30s:1000,60s:5000,30s:0 "
                 "(--warmup is the start of the first stage)");
  add_threshold_options(app, args.thresholds);
  app.add_option("--start-at", args.start_at,
                 "start the load at this wall-clock time: unix seconds or RFC 3339 (2026-12-06T08:00:00Z), "
                 "so that shards on several machines start together");
  app.add_option("--shard", args.shard,
                 "I/N: this process issues the I-th of N interleaved shares of the arrivals (rate/N each); "
                 "merge the N results files with `gatehouse-bench merge`");
  app.add_option("--out", args.out, "also write the results (histograms, per-second series) to this JSON file");
  app.add_option("--plot", args.plot, "draw rate, errors and p50/p99/p99.9 per second into this SVG file");
}

Result<RunPlan> make_run_plan(const RunPlanArgs& args, const LoadShape& shape) {
  using R = Result<RunPlan>;
  RunPlan plan;
  plan.out = args.out;
  plan.plot = args.plot;
  auto thresholds = parse_thresholds(args.thresholds);
  if (!thresholds) return R::failure(thresholds.error());
  plan.thresholds = *thresholds;
  if (!args.start_at.empty()) {
    auto at = parse_start_at(args.start_at);
    if (!at) return R::failure(at.error());
    plan.start_at = *at;
  }
  if (!args.shard.empty()) {
    auto shard = parse_shard(args.shard);
    if (!shard) return R::failure(shard.error());
    plan.shard = *shard;
  }
  const bool open = args.rate > 0 || !args.stages.empty();
  if (!open) return plan;
  if (!shape.mode_has_arrivals) return R::failure("--rate and --stages need --mode handshake, resume or requests");
  if (shape.count_given) return R::failure("give --rate/--stages or --count, not both");
  if (args.stages.empty()) {
    plan.schedule = ArrivalSchedule::constant(args.rate, shape.warmup + shape.duration);
    return plan;
  }
  auto stages = parse_stages(args.stages);
  if (!stages) return R::failure("--stages: " + stages.error());
  plan.schedule.emplace(args.rate, std::move(*stages));
  if (shape.warmup >= plan.schedule->seconds()) return R::failure("--warmup is longer than the --stages");
  return plan;
}

}  // namespace gatehouse::bench
