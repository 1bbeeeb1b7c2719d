// An HDR-style latency histogram: log-linear buckets (64 per power of two, so about 1.5%
// precision) from 1 µs to about an hour, one per load thread, merged at the end. Results files
// carry the bucket counts themselves, never percentiles, so that shards merge exactly.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace gatehouse::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;  // 64 linear steps within each power of two
  static constexpr int kMagnitudes = 32;
  static constexpr std::size_t kCount = static_cast<std::size_t>(kMagnitudes) << kSubBits;

  void record(std::uint64_t micros) { add(index_of(micros), 1); }
  void add(std::size_t bucket, std::uint64_t n) {
    counts_[bucket] += n;
    total_ += n;
  }
  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }
  std::uint64_t count() const { return total_; }
  std::uint64_t bucket(std::size_t i) const { return counts_[i]; }
  bool operator==(const LatencyHistogram&) const = default;

  // The value at quantile q (0..1), in microseconds: the upper edge of its bucket.
  std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return upper_edge(i);
    }
    return upper_edge(counts_.size() - 1);
  }
  std::uint64_t max() const { return quantile(1.0); }

  static std::size_t index_of(std::uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);  // exact below 64 µs
    int magnitude = std::bit_width(v) - 1 - kSubBits;              // how far v is shifted
    if (magnitude >= kMagnitudes - 1) return kCount - 1;
    std::uint64_t sub = v >> magnitude;  // 64..127
    return static_cast<std::size_t>((magnitude + 1) << kSubBits) + static_cast<std::size_t>(sub - (1u << kSubBits));
  }
  static std::uint64_t upper_edge(std::size_t i) {
    if (i < (1u << kSubBits)) return i;
    std::size_t magnitude = (i >> kSubBits) - 1;
    std::uint64_t sub = (i & ((1u << kSubBits) - 1)) + (1u << kSubBits);
    return ((sub + 1) << magnitude) - 1;
  }

 private:
  std::array<std::uint64_t, kCount> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace gatehouse::bench
