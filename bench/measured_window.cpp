#include "bench/measured_window.hpp"

#include <sys/resource.h>
#include <iostream>
#include <thread>

namespace gatehouse::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kLook = std::chrono::milliseconds(20);  // how often we look, not a wait for work

double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// Looks every kLook until `done()` or `until`, printing operations per second when live.
template <typename Done>
void watch(LoadControl& control, Clock::time_point until, bool live, Done done) {
  std::uint64_t last = control.progress.load();
  auto next_line = Clock::now() + std::chrono::seconds(1);
  while (!control.stop && !done() && Clock::now() < until) {
    std::this_thread::sleep_for(kLook);
    if (live && Clock::now() >= next_line) {
      std::uint64_t now = control.progress.load();
      std::cerr << "\r  " << (now - last) << " ops/s " << std::flush;
      last = now;
      next_line += std::chrono::seconds(1);
    }
  }
  if (live) std::cerr << "\r" << std::flush;
}

// The generator's CPU time so far, read as the window starts.
double begin(const WindowHooks& hooks) {
  double cpu = own_cpu_seconds();
  if (hooks.started) hooks.started();
  return cpu;
}

}  // namespace

Window run_closed_window(LoadControl& control, double warmup, double duration, std::uint64_t count,
                         const WindowHooks& hooks) {
  Window w;
  watch(control, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup)),
        false, [] { return false; });
  // Set already (--warmup 0): counted from the first operation, so h2 and grpc send exactly count.
  if (count && !control.max_operations) control.max_operations = control.progress.load() + count;
  const double cpu_before = begin(hooks);
  auto started = Clock::now();
  control.measuring = true;
  auto until = count ? Clock::time_point::max()
                     : started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  watch(control, until, hooks.live, [] { return false; });
  control.measuring = false;
  w.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  w.client_cpu_seconds = own_cpu_seconds() - cpu_before;
  if (hooks.ended) hooks.ended();
  control.stop = true;
  return w;
}

Window run_open_window(LoadControl& control, const ArrivalSchedule& schedule, int threads, std::chrono::seconds drain,
                       const WindowHooks& hooks) {
  Window w;
  while (Clock::now() < control.measure_from) std::this_thread::sleep_for(kLook);
  const double cpu_before = begin(hooks);
  control.measuring = true;
  auto end = control.schedule_start +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(schedule.seconds()));
  watch(control, end + drain, hooks.live, [&] { return control.threads_done.load() == threads; });
  control.measuring = false;
  w.seconds = std::chrono::duration<double>(end - control.measure_from).count();
  w.client_cpu_seconds = own_cpu_seconds() - cpu_before;
  if (hooks.ended) hooks.ended();
  control.stop = true;
  return w;
}

}  // namespace gatehouse::bench
