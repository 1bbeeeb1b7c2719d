// Open connections meet a reload: after each reload, every admitted connection a worker holds is
// verified again against the new snapshot (its client CAs, CRLs and routes, with the chain the
// client presented in its handshake) and closed when it no longer passes; and a connection older
// than its listener's max_connection_age is closed. All of it runs on the worker's own thread,
// on its own list of live connections: no lock.
#pragma once

#include <string_view>

#include "conf/settings.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy {

// The access log's `close` for a connection Gatehouse ended itself.
std::string_view ending_keyword(Ending ending);

// Checks `live` (admitted: live.ssl set) against worker.current; closes it now when its client
// no longer passes, with the reason (revoked, untrusted_issuer, policy_denied, ...) kept for the
// access log and counted. Either way it is marked checked for worker.generation.
void revalidate(WorkerContext& worker, LiveSockets& live);

// max_connection_age passed: a tcp connection or tunnel closes now, an idle keep-alive connection
// too; an http connection in the middle of a request closes at its end (the next request boundary).
void reach_max_age(WorkerContext& worker, LiveSockets& live, conf::Duration age);

}  // namespace gatehouse::proxy
