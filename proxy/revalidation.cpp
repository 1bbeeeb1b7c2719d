#include "proxy/revalidation.hpp"

#include "conf/duration.hpp"
#include "policy/route_policy.hpp"
#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {

void revalidate(WorkerContext& worker, ConnectionMember& member) {
  member.checked_generation = worker.generation;
  if (!member.ssl || member.ended_by_gatehouse() || !worker.current) return;
  const ListenerRuntime& listener = worker.current->listeners[member.listener];
  const tls::Verdict verdict = listener.tls->reverify(member.ssl);
  if (verdict.allowed()) {
    // Path/method rules were picked for this identity when its requests began; an open connection
    // keeps them. When the reload changed them (or added or removed them), rather than judge its
    // next request by the old config, it ends at the next request boundary and the client's new
    // connection gets the new rules. Rules that did not change leave it alone.
    const auto& routes = listener.router->routes();
    const policy::RoutePolicy* now = verdict.route >= 0 && static_cast<std::size_t>(verdict.route) < routes.size()
                                         ? &routes[static_cast<std::size_t>(verdict.route)].policy
                                         : nullptr;
    const policy::RoutePolicy* before = member.rules;
    const bool judged = (now && now->per_request()) || (before && before->per_request());
    if (listener.settings.mode == conf::ListenerMode::http && judged && !(now && before && before->same_rules(*now)))
      member.end(Close::reverified_closed, gatehouse::Reason::ok,
                 "after a reload: the route's path and method rules apply from a new connection");
    return;  // otherwise moves on untouched
  }
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
