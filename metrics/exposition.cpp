#include "metrics/exposition.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

namespace gatehouse::metrics {
namespace {

enum Type { kCounter, kGauge, kHistogram };

prometheus::ClientMetric with_labels(const Labels& labels) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  return m;
}

}  // namespace

Exposition::Family& Exposition::family(const std::string& name, const std::string& help, int type) {
  for (auto& f : families_)
    if (f.name == name) return f;
  families_.push_back({name, help, type, {}, {}, {}});
  return families_.back();
}

void Exposition::counter(const std::string& name, const std::string& help, const Labels& labels, double value) {
  family(name, help, kCounter).samples.push_back({labels, {value}});
}

void Exposition::gauge(const std::string& name, const std::string& help, const Labels& labels, double value) {
  family(name, help, kGauge).samples.push_back({labels, {value}});
}

void Exposition::histogram(const std::string& name, const std::string& help, const Labels& labels,
                           const std::vector<double>& bounds, const std::vector<std::uint64_t>& buckets, double sum) {
  Family& f = family(name, help, kHistogram);
  f.samples.push_back({labels, {sum}});
  f.buckets.push_back(buckets);
  f.bounds.push_back(bounds);
}

std::string Exposition::text() const {
  std::vector<prometheus::MetricFamily> out;
  for (const auto& f : families_) {
    prometheus::MetricFamily pf;
    pf.name = f.name;
    pf.help = f.help;
    pf.type = f.type == kCounter ? prometheus::MetricType::Counter
              : f.type == kGauge ? prometheus::MetricType::Gauge
                                 : prometheus::MetricType::Histogram;
    for (size_t i = 0; i < f.samples.size(); ++i) {
      auto m = with_labels(f.samples[i].first);
      double value = f.samples[i].second.front();
      if (f.type == kCounter)
        m.counter.value = value;
      else if (f.type == kGauge)
        m.gauge.value = value;
      else {
        std::uint64_t cumulative = 0;
        const auto& counts = f.buckets[i];
        for (size_t b = 0; b < counts.size(); ++b) {
          cumulative += counts[b];
          double bound = b < f.bounds[i].size() ? f.bounds[i][b] : std::numeric_limits<double>::infinity();
          m.histogram.bucket.push_back({cumulative, bound});
        }
        m.histogram.sample_count = cumulative;
        m.histogram.sample_sum = value;
      }
      pf.metric.push_back(std::move(m));
    }
    out.push_back(std::move(pf));
  }
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, out);
  return text.str();
}

}  // namespace gatehouse::metrics
