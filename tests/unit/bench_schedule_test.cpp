// The open loop's arrival schedule, stages, and the shared start of shards.
#include <gtest/gtest.h>

#include <set>

#include "bench/arrival_schedule.hpp"
#include "bench/capacity_search.hpp"
#include "bench/shared_start.hpp"

namespace gatehouse::bench {
namespace {

TEST(BenchSchedule, ConstantRateIsEvenlySpaced) {
  auto s = ArrivalSchedule::constant(100, 3);
  EXPECT_EQ(s.total(), 300u);
  EXPECT_DOUBLE_EQ(*s.due(0), 0.0);
  EXPECT_NEAR(*s.due(150), 1.5, 1e-9);
  EXPECT_TRUE(s.due(299).has_value());
  EXPECT_FALSE(s.due(300).has_value());
  EXPECT_EQ(s.due_before(1.0), 100u);
}

TEST(BenchSchedule, StagesRampLinearly) {
  auto stages = parse_stages("10s:100,10s:100,10s:0");
  ASSERT_TRUE(stages.ok()) << stages.error();
  ArrivalSchedule s(0, *stages);
  EXPECT_DOUBLE_EQ(s.seconds(), 30);
  EXPECT_EQ(s.total(), 500u + 1000u + 500u);
  EXPECT_EQ(s.due_before(5), 125u);  // a quarter of the first ramp's arrivals in its first half
  double last = -1;
  for (std::uint64_t k = 0; k < s.total(); ++k) {
    auto due = s.due(k);
    ASSERT_TRUE(due.has_value()) << k;
    EXPECT_GE(*due, last);
    EXPECT_LT(*due, 30.0);
    last = *due;
    EXPECT_EQ(s.due_before(*due + 1e-4), k + 1) << k;  // 1e-4 s: well within the spacing
  }
  EXPECT_FALSE(s.due(s.total()).has_value());
}

TEST(BenchSchedule, BadStagesAreExplained) {
  for (const char* bad : {"", "30s", "30:100", "30s:-1", "30s:fast", "0s:10", "30s:100,"})
    EXPECT_FALSE(parse_stages(bad).ok()) << bad;
  EXPECT_EQ(parse_stages("500ms:10,2m:0")->size(), 2u);
}

TEST(BenchSchedule, SharesOfThreadsAndShardsCoverEveryArrivalOnce) {
  auto s = ArrivalSchedule::constant(1000, 1);
  const int shards = 4;
  std::set<std::uint64_t> taken;
  for (int index = 0; index < shards; ++index) {
    const int threads = index + 1;  // shards need not run the same -t
    std::uint64_t of_shard = 0;
    for (int thread = 0; thread < threads; ++thread) {
      auto share = share_of({index, shards}, thread, threads);
      for (std::uint64_t k = share.offset; s.due(k); k += share.stride) {
        EXPECT_TRUE(taken.insert(k).second) << k;
        ++of_shard;
      }
    }
    EXPECT_EQ(of_shard, 250u) << "shard " << index;  // rate/N each
  }
  EXPECT_EQ(taken.size(), s.total());
}

TEST(BenchStart, UnixSecondsAndRfc3339) {
  auto unix_seconds = [](const Result<WallClock::time_point>& t) {
    return std::chrono::duration<double>(t.value().time_since_epoch()).count();
  };
  EXPECT_DOUBLE_EQ(unix_seconds(parse_start_at("1765000000")), 1765000000.0);
  EXPECT_DOUBLE_EQ(unix_seconds(parse_start_at("1765000000.5")), 1765000000.5);
  EXPECT_DOUBLE_EQ(unix_seconds(parse_start_at("2025-12-06T05:46:40Z")), 1765000000.0);
  EXPECT_DOUBLE_EQ(unix_seconds(parse_start_at("2025-12-06T06:46:40.25+01:00")), 1765000000.25);
  for (const char* bad : {"", "soon", "2025-12-06", "2025-12-06T05:46:40", "2025-12-06T05:46:40+0100", "1.2.3"})
    EXPECT_FALSE(parse_start_at(bad).ok()) << bad;
  auto shard = parse_shard("3/4");
  ASSERT_TRUE(shard.ok());
  EXPECT_EQ(shard->index, 3);
  EXPECT_EQ(shard->count, 4);
  for (const char* bad : {"4/4", "-1/4", "1/0", "1", "1/4x"}) EXPECT_FALSE(parse_shard(bad).ok()) << bad;
}

TEST(BenchCapacity, DoublesThenBisectsToTheHighestRateThatHolds) {
  auto s = search_capacity(100, 1e6, 3, [](double rate) { return rate <= 730; });
  std::vector<double> rates;
  for (const auto& step : s.curve) rates.push_back(step.rate);
  EXPECT_EQ(rates, (std::vector<double>{100, 200, 400, 800, 600, 700, 750}));
  EXPECT_EQ(s.highest_held, 700);
  EXPECT_FALSE(s.curve.back().held);

  auto capped = search_capacity(100, 300, 3, [](double) { return true; });
  EXPECT_EQ(capped.curve.size(), 3u);  // 100, 200, 300: held at the cap, nothing to bisect
  EXPECT_EQ(capped.highest_held, 300);

  auto none = search_capacity(100, 1e6, 3, [](double) { return false; });
  EXPECT_EQ(none.curve.size(), 1u);
  EXPECT_EQ(none.highest_held, 0);
}

}  // namespace
}  // namespace gatehouse::bench
