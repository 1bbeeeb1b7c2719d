// The load gatehouse-bench generates: per thread one io_context running `connections`
// concurrent clients, each repeating its mode's operation (a full handshake, a resumed one,
// keep-alive requests, bulk transfer, holding a connection open, or HTTP/2 requests or gRPC
// calls on a warm connection: bench/h2_load.hpp) until told to stop. In the
// closed loop a client starts its next operation when the last one ends; in the open loop
// (`schedule` set) it starts the next arrival due, and latency counts from the due time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "bench/arrival_schedule.hpp"
#include "bench/identities.hpp"
#include "bench/latency_histogram.hpp"
#include "bench/results.hpp"
#include "tls/bssl.hpp"

namespace gatehouse::bench {

enum class Mode { handshake, resume, requests, bulk, hold, h2, grpc };

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::string port = "8443";
  std::string sni;
  Mode mode = Mode::handshake;
  int connections = 16;                       // per thread
  std::string path = "/";                     // the tiny request after each handshake
  std::size_t bulk_bytes = 64 << 20;          // each way, per connection, in bulk mode
  const ArrivalSchedule* schedule = nullptr;  // open loop (handshake, resume, requests)
  ArrivalShare share;                         // this thread's arrivals in it
  const IdentitySet* identities = nullptr;    // a certificate per handshake, instead of the context's
  double resume_share = 0;                    // of handshakes that offer the last session (--mix)
  int streams = 1;                            // h2, grpc: requests in flight per connection
  std::uint64_t requests_per_connection = 0;  // h2, grpc: then a new connection (0: never)
};

// What one thread measured; merged across threads at the end.
struct LoadStats {
  std::uint64_t operations = 0;  // handshakes (or requests in requests mode)
  std::uint64_t resumed = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t held = 0;
  LatencyHistogram latency;
  std::map<std::string, std::uint64_t> errors;  // by kind: TLS alert name, connect error, timeout
  TimeSeries series;                            // by the wall-clock second each operation ended
  std::uint64_t not_started = 0;                // open loop: arrivals due but never started

  void merge(const LoadStats& o);
};

// Shared by the threads: when to stop and whether the warm-up is over.
struct LoadControl {
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::atomic<std::uint64_t> progress{0};  // operations so far, for the live line
  std::uint64_t max_operations = 0;        // 0: run for the duration
  std::atomic<std::uint64_t> claimed{0};   // h2, grpc: requests sent, so that -n sends exactly n
  // Open loop: arrival 0 is due at schedule_start; only arrivals due from measure_from count.
  std::chrono::steady_clock::time_point schedule_start, measure_from;
  std::atomic<int> threads_done{0};  // open loop: threads whose arrivals have all ended
};

// Runs until control.stop; fills `stats` (only what happened while measuring).
void run_load_thread(const LoadOptions& options, SSL_CTX* ctx, LoadControl& control, LoadStats& stats);

}  // namespace gatehouse::bench
