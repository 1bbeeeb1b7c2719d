// gatehouse-bench's results: shards merge into exactly the report of one run over the same
// samples; files that are not results are refused in words.
#include <gtest/gtest.h>

#include <random>

#include "bench/results.hpp"
#include "bench/svg_plot.hpp"
#include "bench/thresholds.hpp"

namespace gatehouse::bench {
namespace {

struct Sample {
  std::int64_t second;
  std::uint64_t micros;
};

// Latencies spread over several magnitudes (log-normal around 2 ms), over 20 seconds.
std::vector<Sample> samples(std::size_t n) {
  std::mt19937_64 rng(20);
  std::lognormal_distribution<double> latency(std::log(2000.0), 1.2);
  std::uniform_int_distribution<std::int64_t> second(1'765'000'000, 1'765'000'019);
  std::vector<Sample> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({second(rng), static_cast<std::uint64_t>(latency(rng)) + 1});
  return out;
}

void record(Results& r, const Sample& s) {
  ++r.operations;
  r.latency.record(s.micros);
  auto& slot = r.series[s.second];
  ++slot.operations;
  ++slot.latency[static_cast<std::uint32_t>(LatencyHistogram::index_of(s.micros))];
}

// Through the file format and back, as `merge` reads it.
Results round_trip(const Results& r) {
  auto parsed = results_from_json(nlohmann::json::parse(to_json(r).dump()));
  EXPECT_TRUE(parsed.ok()) << parsed.error();
  return parsed.ok() ? *parsed : Results{};
}

TEST(BenchResults, MergedShardsHaveThePercentilesOfOneRunOverTheSameSamples) {
  const auto all = samples(50'000);
  Results one;
  one.seconds = 20;
  std::vector<Results> shards(4);
  std::mt19937 pick(4);
  for (const auto& s : all) {
    record(one, s);
    record(shards[pick() % shards.size()], s);  // shards of unequal, random make-up
  }
  shards[1].errors["alert: bad certificate"] = 3;
  shards[3].errors["alert: bad certificate"] = 2;
  Results merged = round_trip(shards[0]);
  for (std::size_t i = 1; i < shards.size(); ++i) merged.merge(round_trip(shards[i]));

  EXPECT_EQ(merged.shards, 4);
  EXPECT_EQ(merged.operations, one.operations);
  EXPECT_EQ(merged.latency, one.latency);  // bucket for bucket
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0})
    EXPECT_EQ(merged.latency.quantile(q), one.latency.quantile(q)) << "q=" << q;
  EXPECT_EQ(merged.series, one.series);  // every second, its histogram included
  EXPECT_EQ(merged.errors.at("alert: bad certificate"), 5u);
  EXPECT_EQ(merged.error_count(), 5u);
  // The report's own percentiles are the merged histogram's.
  auto j = to_json(merged);
  EXPECT_EQ(j["latency_us"]["p99"].get<std::uint64_t>(), one.latency.quantile(0.99));
  EXPECT_EQ(j["series"].size(), 20u);
}

TEST(BenchResults, HistogramBucketsAreWithinTwoPercentOfTheValue) {
  for (std::uint64_t v : {1ull, 63ull, 64ull, 1000ull, 123456ull, 3'000'000ull, 600'000'000ull}) {
    auto edge = LatencyHistogram::upper_edge(LatencyHistogram::index_of(v));
    EXPECT_GE(edge, v);
    EXPECT_LE(static_cast<double>(edge), static_cast<double>(v) * 1.02) << v;
  }
}

TEST(BenchResults, FilesThatAreNotResultsAreRefused) {
  auto j = nlohmann::json::parse(to_json(Results{}).dump());
  EXPECT_TRUE(results_from_json(j).ok());
  auto other = j;
  other["format"] = "wrk";
  EXPECT_NE(results_from_json(other).error().find("not a gatehouse-bench results file"), std::string::npos);
  auto buckets = j;
  buckets["histogram"]["sub_bucket_bits"] = 5;
  EXPECT_NE(results_from_json(buckets).error().find("other buckets"), std::string::npos);
  auto range = j;
  range["histogram"]["buckets"] = nlohmann::json::array({{LatencyHistogram::kCount, 1}});
  EXPECT_FALSE(results_from_json(range).ok());
}

TEST(BenchResults, BottleneckWarnings) {
  Results r;
  r.seconds = 10;
  r.operations = 10'000;
  r.load_cores = 2;
  r.client_cpu_seconds = 18;  // 90% of two cores
  r.asked_rate = 1000;
  auto w = bottleneck_warnings(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("90%"), std::string::npos) << w[0];
  r.client_cpu_seconds = 2;
  r.asked_rate = 2000;  // achieved 1000/s
  w = bottleneck_warnings(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("achieved 1000/s of the 2000/s asked"), std::string::npos) << w[0];
}

TEST(BenchThresholds, LimitsParseAndSayWhichFailed) {
  EXPECT_EQ(*parse_latency_limit("20ms"), 20'000u);
  EXPECT_EQ(*parse_latency_limit("800us"), 800u);
  EXPECT_EQ(*parse_latency_limit("1.5s"), 1'500'000u);
  for (const char* bad : {"20", "ms", "-1ms", "20 ms", "20min"}) EXPECT_FALSE(parse_latency_limit(bad).ok()) << bad;
  EXPECT_DOUBLE_EQ(*parse_share("0.1%"), 0.001);
  EXPECT_DOUBLE_EQ(*parse_share("0.001"), 0.001);
  for (const char* bad : {"", "%", "150%", "2", "1%%"}) EXPECT_FALSE(parse_share(bad).ok()) << bad;

  Results r;
  r.operations = 999;
  r.errors["timeout: handshake"] = 1;                                       // 0.1% of 1000 tried
  for (int i = 0; i < 999; ++i) r.latency.record(i < 979 ? 1000 : 30'000);  // 2% slow
  Thresholds t{20'000, 0.001};
  auto verdicts = check(t, r);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].name, "p99");
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_EQ(verdicts[1].name, "errors");
  EXPECT_TRUE(verdicts[1].passed) << verdicts[1].measured;
  r.errors["timeout: handshake"] = 2;
  EXPECT_FALSE(check(t, r)[1].passed);
}

TEST(BenchPlot, DrawsEverySecondOfEachSeries) {
  Results r;
  for (const auto& s : samples(2000)) record(r, s);
  r.series.erase(1'765'000'010);  // a second with nothing in it (a stall) is still drawn, at zero
  r.series[1'765'000'003].errors = 7;
  const auto svg = plot_svg(r);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  std::size_t polylines = 0;
  for (auto at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) {
    ++polylines;
    auto points = svg.substr(svg.find("points=\"", at) + 8);
    points = points.substr(0, points.find('"'));
    EXPECT_EQ(std::count(points.begin(), points.end(), ','), 20) << points;  // seconds 0..19
  }
  EXPECT_EQ(polylines, 5u);  // operations, errors, p50, p99, p99.9
  for (const char* name : {"operations/s", "errors/s", "p50", "p99", "p99.9"})
    EXPECT_NE(svg.find(std::string("data-name=\"") + name + "\""), std::string::npos) << name;
  EXPECT_NE(plot_svg(Results{}).find("</svg>"), std::string::npos);  // nothing measured: an empty plot
}

}  // namespace
}  // namespace gatehouse::bench
