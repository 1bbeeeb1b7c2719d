#include <gtest/gtest.h>

#include "conf/duration.hpp"

namespace gatehouse::conf {

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), Duration(250));
  EXPECT_EQ(parse_duration("10s"), Duration(10'000));
  EXPECT_EQ(parse_duration("5m"), Duration(300'000));
  EXPECT_EQ(parse_duration("12h"), Duration(43'200'000));
  EXPECT_EQ(parse_duration("1d"), Duration(86'400'000));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "10", "s", "-1s", "1.5s", "10 s", "10sec", "99999999999999999999h", "1s2"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Duration, FormatsRoundTrip) {
  for (const char* text : {"250ms", "10s", "5m", "12h"}) EXPECT_EQ(format_duration(*parse_duration(text)), text);
}

}  // namespace gatehouse::conf
