// Per-worker counters: each is written by its worker thread only (a relaxed load and store,
// no locked instruction, no shared cache line) and read by anyone at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "common/reason.hpp"

namespace gatehouse::metrics {

#define GATEHOUSE_WORKER_COUNTERS(X) \
  X(connections_total)               \
  X(connections_active)              \
  X(handshakes_ok)                   \
  X(upstream_connect_ok)             \
  X(upstream_connect_failed)         \
  X(accept_errors)

inline constexpr std::size_t kProxyTlvSlots = 9;  // proxy::kProxyTlvCount (checked there)

class Counter {
 public:
  void add(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct WorkerCounters {
#define GATEHOUSE_DECLARE(name) Counter name;
  GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_DECLARE)
#undef GATEHOUSE_DECLARE
  // Refused connections by reason keyword (index = gatehouse::Reason).
  std::array<Counter, gatehouse::kReasonCount> refused;
  // PROXY v2 TLVs left out because they did not fit the header (index = proxy::ProxyTlv).
  std::array<Counter, kProxyTlvSlots> proxy_tlv_dropped;
};

// Bucket bounds in seconds, fixed so that every worker's histograms add up at scrape time.
inline constexpr std::array<double, 14> kLatencyBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr std::array<double, 10> kDurationBounds{0.01, 0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400};

// A histogram written by one worker: a counter per bucket (not cumulative; the last is +Inf)
// and the sum in nanoseconds.
template <std::size_t N>
class Histogram {
 public:
  explicit constexpr Histogram(const std::array<double, N>& bounds) : bounds_(bounds) {}
  void observe(double seconds) {
    std::size_t i = 0;
    while (i < N && seconds > bounds_[i]) ++i;
    buckets_[i].add();
    sum_ns_.add(static_cast<std::uint64_t>(seconds * 1e9));
  }
  const std::array<double, N>& bounds() const { return bounds_; }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].get(); }
  double sum() const { return static_cast<double>(sum_ns_.get()) / 1e9; }

 private:
  const std::array<double, N>& bounds_;
  std::array<Counter, N + 1> buckets_;
  Counter sum_ns_;
};
using LatencyHistogram = Histogram<kLatencyBounds.size()>;
using DurationHistogram = Histogram<kDurationBounds.size()>;

// TLS versions as counted: 1.2, 1.3, and none (the handshake did not finish).
enum class TlsVersionSlot : std::uint8_t { tls12, tls13, none };

// One listener on one worker.
struct ListenerCounters {
  // [result: gatehouse::Reason, ok included][TlsVersionSlot][resumed]
  std::array<std::array<std::array<Counter, 2>, 3>, gatehouse::kReasonCount> handshakes;
  LatencyHistogram handshake_duration{kLatencyBounds};
  Counter connections_total;
  Counter connections_active;
  DurationHistogram connection_duration{kDurationBounds};
  Counter bytes_client_to_upstream;
  Counter bytes_upstream_to_client;
  // Open connections ended after a reload because their client no longer passes, by reason.
  std::array<Counter, gatehouse::kReasonCount> reverified_closed;
  Counter max_age_closed;  // ended at max_connection_age
  // http mode: requests by protocol ([0] HTTP/1.1, [1] HTTP/2), HTTP/2 streams reset before
  // their end by who reset them (H2ResetBy), HTTP/2 connections ended with GOAWAY by cause
  // (H2Goaway), and gRPC calls by the status they ended with (0..16; anything else counts as 2,
  // UNKNOWN).
  std::array<Counter, 2> http_requests;
  std::array<Counter, 2> h2_streams_reset;
  std::array<Counter, 3> h2_goaways;
  std::array<Counter, 17> grpc_calls;
};

// Who reset an HTTP/2 stream before its end: the client, or the upstream (then Gatehouse passes
// the reset on to the client, docs/http2.md).
enum class H2ResetBy : std::uint8_t { client, upstream };

// Why Gatehouse sent an HTTP/2 GOAWAY: an end with every started stream served (idle, drain,
// reload), a protocol error, or abuse (ENHANCE_YOUR_CALM).
enum class H2Goaway : std::uint8_t { graceful, protocol_error, abuse };

// One upstream on one worker: connects by outcome (each failed attempt counts) and their time.
struct UpstreamCounters {
  Counter connect_ok;
  Counter connect_failed;
  LatencyHistogram connect_duration{kLatencyBounds};
  // Requests sent again on a new connection: the kept one closed before a byte of answer.
  Counter replayed;
};

// Authorization decisions of one route (or of "no route matched", kept after the last route),
// by outcome: admitted, or refused per reason. Sized once per listener; indexed, never looked up.
struct RouteCounters {
  Counter allowed;
  std::array<Counter, gatehouse::kReasonCount> refused;
  Counter requests_denied;  // http mode: requests a path/method rule refused (403)
};

// A plain copy, summed over workers, for tests and the admin endpoint.
struct CounterTotals {
#define GATEHOUSE_DECLARE(name) std::uint64_t name = 0;
  GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_DECLARE)
#undef GATEHOUSE_DECLARE
  std::array<std::uint64_t, gatehouse::kReasonCount> refused{};

  void add(const WorkerCounters& w) {
#define GATEHOUSE_SUM(name) name += w.name.get();
    GATEHOUSE_WORKER_COUNTERS(GATEHOUSE_SUM)
#undef GATEHOUSE_SUM
    for (std::size_t i = 0; i < refused.size(); ++i) refused[i] += w.refused[i].get();
  }
  std::uint64_t refused_for(gatehouse::Reason r) const { return refused[static_cast<std::size_t>(r)]; }
};

}  // namespace gatehouse::metrics
