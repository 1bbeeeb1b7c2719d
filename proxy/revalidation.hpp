// Open connections meet a reload: after each reload, every admitted connection a worker holds is
// verified again against the new snapshot (its client CAs, CRLs and routes, with the chain the
// client presented in its handshake) and ended when it no longer passes; and a connection older
// than its listener's max_connection_age is ended. Ending one emits its group member's
// cancellation (proxy/connection_group.hpp). All of it runs on the worker's own thread: no lock.
#pragma once

#include "conf/settings.hpp"
#include "proxy/connection_group.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy {

// Checks `member` (admitted: member.ssl set) against worker.current; ends it when its client no
// longer passes, with the reason (revoked, untrusted_issuer, policy_denied, ...) kept for the
// access log and counted. Either way it is marked checked for worker.generation.
void revalidate(WorkerContext& worker, ConnectionMember& member);

// max_connection_age passed: a tcp connection or tunnel ends now, an idle keep-alive connection
// too; an http connection in the middle of a request ends at its end (the next request boundary).
void reach_max_age(WorkerContext& worker, ConnectionMember& member, conf::Duration age);

}  // namespace gatehouse::proxy
