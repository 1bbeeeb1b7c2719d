#include "bench/merge.hpp"

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "bench/results.hpp"
#include "bench/svg_plot.hpp"
#include "bench/thresholds.hpp"

namespace gatehouse::bench {

int merge_main(int argc, char** argv) {
  CLI::App app{"gatehouse-bench merge: combine results files (--out or --json of each shard) into one report",
               "gatehouse-bench merge"};
  std::vector<std::string> files;
  std::string out;
  bool json = false;
  ThresholdArgs threshold_args;
  app.add_option("files", files, "results files to combine")->required()->check(CLI::ExistingFile);
  app.add_option("--out", out, "also write the merged results to this JSON file");
  app.add_flag("--json", json, "print the merged results as JSON");
  std::string plot;
  app.add_option("--plot", plot, "draw rate, errors and p50/p99/p99.9 per second into this SVG file");
  add_threshold_options(app, threshold_args);
  CLI11_PARSE(app, argc, argv);

  auto thresholds = parse_thresholds(threshold_args);
  if (!thresholds) {
    std::cerr << "gatehouse-bench merge: " << thresholds.error() << "\n";
    return 2;
  }
  Results total;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto r = read_results_file(files[i]);
    if (!r) {
      std::cerr << "gatehouse-bench merge: " << r.error() << "\n";
      return 2;
    }
    if (i == 0)
      total = std::move(*r);
    else
      total.merge(*r);
  }
  for (const auto& w : bottleneck_warnings(total))  // the whole may fall short where no shard did
    if (std::find(total.warnings.begin(), total.warnings.end(), w) == total.warnings.end()) total.warnings.push_back(w);
  auto j = to_json(total);
  const bool passed = report_thresholds(check(*thresholds, total), j);
  if (!out.empty()) std::ofstream(out) << j.dump(1) << "\n";
  if (!plot.empty()) write_plot(total, plot);
  if (json)
    std::cout << j.dump(2) << "\n";
  else
    print_text(total);
  return passed ? 0 : kThresholdFailed;
}

}  // namespace gatehouse::bench
