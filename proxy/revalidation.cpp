#include "proxy/revalidation.hpp"

#include "conf/duration.hpp"
#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

std::string_view ending_keyword(Ending ending) {
  switch (ending) {
    case Ending::reverified_closed:
      return "reverified_closed";
    case Ending::max_connection_age:
      return "max_connection_age";
    case Ending::none:
      break;
  }
  return "";
}

void revalidate(WorkerContext& worker, LiveSockets& live) {
  live.checked_generation = worker.generation;
  if (!live.ssl || live.closing() || !worker.current) return;
  const ListenerRuntime& listener = worker.current->listeners[live.listener];
  const tls::Verdict verdict = listener.tls->reverify(live.ssl);
  if (verdict.allowed()) return;  // moves on untouched
  live.ending = Ending::reverified_closed;
  live.ending_reason = verdict.reason;
  live.ending_detail = "after a reload: " + verdict.detail;
  worker.listener(live.listener).reverified_closed[static_cast<size_t>(live.ending_reason)].add();
  live.close_now();
}

void reach_max_age(WorkerContext& worker, LiveSockets& live, conf::Duration age) {
  if (live.closing()) return;
  live.ending = Ending::max_connection_age;
  live.ending_detail = "open for longer than max_connection_age (" + conf::format_duration(age) + ")";
  worker.listener(live.listener).max_age_closed.add();
  // Mid-request in http mode: read_request_head ends it at the next boundary.
  if (live.tunnel || live.idle || !live.request_boundaries) live.close_now();
}

}  // namespace gatehouse::proxy
