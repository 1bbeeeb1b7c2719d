// The measured window of a run, seen from the main thread while the load threads work: when
// it starts and ends, the generator's own CPU time within it, and the live progress line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "bench/arrival_schedule.hpp"
#include "bench/load.hpp"

namespace gatehouse::bench {

struct WindowHooks {
  std::function<void()> started, ended;  // e.g. read the target's CPU time
  bool live = false;                     // a progress line on stderr, once a second
};

struct Window {
  double seconds = 0;
  double client_cpu_seconds = 0;  // this process, all threads
};

// Closed loop: `warmup` seconds, then `duration` seconds or `count` operations; stops the load.
Window run_closed_window(LoadControl& control, double warmup, double duration, std::uint64_t count,
                         const WindowHooks& hooks);

// Open loop: arrivals from control.schedule_start, counted from control.measure_from; then waits
// for the threads to finish the arrivals already due (at most `drain`), and stops the load.
Window run_open_window(LoadControl& control, const ArrivalSchedule& schedule, int threads, std::chrono::seconds drain,
                       const WindowHooks& hooks);

}  // namespace gatehouse::bench
