// --plot out.svg: the per-second series of a run or a merge, drawn without any plotting tool:
// operations and errors per second above, p50/p99/p99.9 latency below, time along the bottom.
#pragma once

#include <string>

#include "bench/results.hpp"

namespace gatehouse::bench {

std::string plot_svg(const Results& r);

// Writes plot_svg(r) to `file`; false (with a message on stderr) if it cannot.
bool write_plot(const Results& r, const std::string& file);

}  // namespace gatehouse::bench
