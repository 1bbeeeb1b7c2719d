#include "proxy/revalidation.hpp"

#include "conf/duration.hpp"
#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

void revalidate(WorkerContext& worker, ConnectionMember& member) {
  member.checked_generation = worker.generation;
  if (!member.ssl || member.ended_by_gatehouse() || !worker.current) return;
  const ListenerRuntime& listener = worker.current->listeners[member.listener];
  const tls::Verdict verdict = listener.tls->reverify(member.ssl);
  if (verdict.allowed()) return;  // moves on untouched
  worker.listener(member.listener).reverified_closed[static_cast<size_t>(verdict.reason)].add();
  member.end(Close::reverified_closed, verdict.reason, "after a reload: " + verdict.detail);
}

void reach_max_age(WorkerContext& worker, ConnectionMember& member, conf::Duration age) {
  if (member.ended_by_gatehouse()) return;
  worker.listener(member.listener).max_age_closed.add();
  member.end(Close::max_connection_age, gatehouse::Reason::ok,
             "open for longer than max_connection_age (" + conf::format_duration(age) + ")");
}

}  // namespace gatehouse::proxy
