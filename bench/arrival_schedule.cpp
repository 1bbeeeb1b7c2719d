#include "bench/arrival_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "conf/duration.hpp"

namespace gatehouse::bench {

Result<std::vector<Stage>> parse_stages(const std::string& text) {
  std::vector<Stage> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    auto colon = item.find(':');
    auto d = colon == std::string::npos ? std::nullopt : conf::parse_duration(item.substr(0, colon));
    double rate = -1;
    if (d) {
      try {
        std::size_t used = 0;
        rate = std::stod(item.substr(colon + 1), &used);
        if (used != item.size() - colon - 1) rate = -1;
      } catch (const std::exception&) {
        rate = -1;
      }
    }
    if (!d || rate < 0 || d->count() <= 0)
      return Result<std::vector<Stage>>::failure("stage '" + item +
                                                 "' is not DURATION:RATE (e.g. 30s:1000; 250ms, 10s, 5m)");
    out.push_back({static_cast<double>(d->count()) / 1000.0, rate});
  }
  if (out.empty() || text.back() == ',') return Result<std::vector<Stage>>::failure("no stages in '" + text + "'");
  return out;
}

ArrivalSchedule::ArrivalSchedule(double start_rate, std::vector<Stage> stages)
    : start_rate_(start_rate), stages_(std::move(stages)) {}

double ArrivalSchedule::seconds() const {
  double s = 0;
  for (const auto& st : stages_) s += st.seconds;
  return s;
}

// Within a stage the arrivals so far are n(t) = r0 t + a t²/2 (a the ramp's slope); arrival k
// is due where the running count reaches k, so arrival 0 is due at once.
std::optional<double> ArrivalSchedule::due(std::uint64_t k) const {
  double before = 0, start = 0, r0 = start_rate_;
  const auto want = static_cast<double>(k);
  for (const auto& st : stages_) {
    const double a = (st.rate - r0) / st.seconds;
    const double in_stage = r0 * st.seconds + a * st.seconds * st.seconds / 2;
    if (want < before + in_stage) {
      const double n = want - before;
      double t = 0;
      if (std::abs(a) < 1e-12)
        t = n / r0;
      else  // the root of a t²/2 + r0 t - n = 0 that lies in the stage
        t = (-r0 + std::sqrt(std::max(0.0, r0 * r0 + 2 * a * n))) / a;
      return start + std::min(t, st.seconds);
    }
    before += in_stage;
    start += st.seconds;
    r0 = st.rate;
  }
  return std::nullopt;
}

std::uint64_t ArrivalSchedule::due_before(double t) const {
  double n = 0, r0 = start_rate_, start = 0;
  for (const auto& st : stages_) {
    const double in = std::clamp(t - start, 0.0, st.seconds);  // of this stage, before t
    n += r0 * in + (st.rate - r0) / st.seconds * in * in / 2;
    start += st.seconds;
    r0 = st.rate;
  }
  return static_cast<std::uint64_t>(std::ceil(n - 1e-9));
}

}  // namespace gatehouse::bench
