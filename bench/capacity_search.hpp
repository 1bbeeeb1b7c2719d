// --find-max: the highest open-loop rate at which the target holds a p99 limit. The rate doubles
// from --start-rate until a step fails (or --max-rate is reached), then the interval between
// the last rate that held and the first that failed is halved --bisections times. Each step is
// an ordinary run of this program (same options, plus --rate and the thresholds), so a step
// measures exactly what a run would.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace gatehouse::bench {

struct CapacityStep {
  double rate = 0;
  bool held = false;
};

struct CapacitySearch {
  std::vector<CapacityStep> curve;  // in the order measured
  double highest_held = 0;          // 0: not even the start rate held
};

// `holds(rate)` runs one step.
CapacitySearch search_capacity(double start_rate, double max_rate, int bisections,
                               const std::function<bool(double)>& holds);

// Runs the search when argv holds --find-max: returns the exit status, or -1 when it does not.
int find_max_main(int argc, char** argv);

// The search's options, for --help (find_max_main reads them before the run's parser would);
// `stray` is set when one is given without --find-max.
void add_find_max_options(CLI::App& app, bool& stray);

}  // namespace gatehouse::bench
