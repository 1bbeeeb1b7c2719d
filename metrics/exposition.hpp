// Builds one scrape's metric families from plain numbers (the per-worker counters, already
// summed) and writes them in the Prometheus text format with prometheus-cpp's TextSerializer.
// Label values must come from a bounded set (listener, route, upstream names, reason keywords),
// never from a client's identity.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gatehouse::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  void counter(const std::string& name, const std::string& help, const Labels& labels, double value);
  void gauge(const std::string& name, const std::string& help, const Labels& labels, double value);
  // `buckets` are per-bucket counts (not cumulative), one more than `bounds` (the last is +Inf).
  void histogram(const std::string& name, const std::string& help, const Labels& labels,
                 const std::vector<double>& bounds, const std::vector<std::uint64_t>& buckets, double sum);
  std::string text() const;

 private:
  struct Family {
    std::string name, help;
    int type;
    std::vector<std::pair<Labels, std::vector<double>>> samples;  // counter/gauge: one value
    std::vector<std::vector<std::uint64_t>> buckets;              // histogram samples
    std::vector<std::vector<double>> bounds;
  };
  Family& family(const std::string& name, const std::string& help, int type);
  std::vector<Family> families_;
};

}  // namespace gatehouse::metrics
