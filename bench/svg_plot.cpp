#include "bench/svg_plot.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

namespace gatehouse::bench {
namespace {

constexpr double kWidth = 800, kPanel = 220, kLeft = 70, kRight = 20, kTop = 30, kGap = 50;

struct Line {
  const char* name;
  const char* colour;
  std::vector<double> values;
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.3g", v);
  return buf;
}

// One panel: lines over the seconds 0..n-1, y from 0 to the largest value, with a legend.
std::string panel(double top, const char* title, const std::vector<Line>& lines, std::size_t n) {
  double ymax = 0;
  for (const auto& l : lines) ymax = std::max(ymax, *std::max_element(l.values.begin(), l.values.end()));
  if (ymax <= 0) ymax = 1;
  const double plot_w = kWidth - kLeft - kRight;
  auto x = [&](std::size_t i) {
    return kLeft + (n > 1 ? plot_w * static_cast<double>(i) / static_cast<double>(n - 1) : 0);
  };
  auto y = [&](double v) { return top + kPanel - kPanel * v / ymax; };
  std::string s = "<g>\n<text x=\"" + number(kLeft) + "\" y=\"" + number(top - 8) + "\" font-weight=\"bold\">" + title +
                  "</text>\n";
  s += "<rect x=\"" + number(kLeft) + "\" y=\"" + number(top) + "\" width=\"" + number(plot_w) + "\" height=\"" +
       number(kPanel) + "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (double f : {0.0, 0.5, 1.0})
    s += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + number(y(ymax * f) + 4) + "\" text-anchor=\"end\">" +
         number(ymax * f) + "</text>\n";
  double legend_x = kLeft + 10;
  for (const auto& l : lines) {
    s += std::string("<polyline class=\"series\" data-name=\"") + l.name + "\" fill=\"none\" stroke=\"" + l.colour +
         "\" stroke-width=\"1.5\" points=\"";
    for (std::size_t i = 0; i < n; ++i) s += number(x(i)) + "," + number(y(l.values[i])) + (i + 1 < n ? " " : "");
    s += "\"/>\n<text x=\"" + number(legend_x) + "\" y=\"" + number(top + 16) + "\" fill=\"" + l.colour + "\">" +
         l.name + "</text>\n";
    legend_x += 90;
  }
  return s + "</g>\n";
}

}  // namespace

std::string plot_svg(const Results& r) {
  // Every second from the first to the last, empty ones included: a stall is a gap, not a jump.
  const std::int64_t first = r.series.empty() ? 0 : r.series.begin()->first;
  const std::size_t n = r.series.empty() ? 1 : static_cast<std::size_t>(r.series.rbegin()->first - first + 1);
  Line ops{"operations/s", "#1f77b4", std::vector<double>(n)}, errors{"errors/s", "#d62728", std::vector<double>(n)};
  Line p50{"p50", "#2ca02c", std::vector<double>(n)}, p99{"p99", "#ff7f0e", std::vector<double>(n)},
      p999{"p99.9", "#9467bd", std::vector<double>(n)};
  for (const auto& [second, slot] : r.series) {
    auto i = static_cast<std::size_t>(second - first);
    ops.values[i] = static_cast<double>(slot.operations);
    errors.values[i] = static_cast<double>(slot.errors);
    auto h = slot.histogram();
    p50.values[i] = static_cast<double>(h.quantile(0.5)) / 1000;
    p99.values[i] = static_cast<double>(h.quantile(0.99)) / 1000;
    p999.values[i] = static_cast<double>(h.quantile(0.999)) / 1000;
  }
  const double height = kTop + 2 * kPanel + kGap + 40;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) + "\" height=\"" +
                  number(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += panel(kTop, "rate (per second)", {ops, errors}, n);
  s += panel(kTop + kPanel + kGap, "latency (ms)", {p50, p99, p999}, n);
  s += "<text x=\"" + number(kWidth / 2) + "\" y=\"" + number(height - 10) + "\" text-anchor=\"middle\">seconds (" +
       std::to_string(n) + "), " + r.target + " " + r.mode + "</text>\n";
  return s + "</svg>\n";
}

bool write_plot(const Results& r, const std::string& file) {
  std::ofstream out(file);
  out << plot_svg(r);
  if (!out) std::cerr << "gatehouse-bench: cannot write " << file << "\n";
  return static_cast<bool>(out);
}

}  // namespace gatehouse::bench
