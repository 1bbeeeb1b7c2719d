// How many of something a client may do per second, with a burst: the abuse limits of an HTTP/2
// connection (streams reset, control frames). Taking from an empty bucket is the abuse.
#pragma once

#include <algorithm>
#include <chrono>

namespace gatehouse::proxy::h2 {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double per_second, double burst) : rate_(per_second), capacity_(burst), tokens_(burst) {}
  // False when the bucket is empty: more than the burst, faster than the rate.
  bool take(Clock::time_point now = Clock::now()) {
    if (now > last_) {
      const std::chrono::duration<double> passed = now - last_;
      last_ = now;
      tokens_ = std::min(capacity_, tokens_ + passed.count() * rate_);
    }
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_, capacity_, tokens_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace gatehouse::proxy::h2
