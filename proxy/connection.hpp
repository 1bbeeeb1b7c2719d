// One client connection from accept to close, as one readable coroutine:
// handshake → identity → route and policy → upstream connect → splice → access-log line.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>

#include "proxy/connection_group.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy {

// `generation`: the worker's generation of `snapshot`; a connection admitted after a newer one
// arrived is re-verified against it at once.
// `state`: the worker's pools and counters for the parts of `snapshot`.
// `member`: the connection's place in its worker's group, whose signal is bound to this
// coroutine's co_spawn: a drain, a reload's verdict or max_connection_age cancel it through it.
// `client`: the peer's address as accept() gave it (the listener set TCP_NODELAY, inherited).
asio::awaitable<void> serve_connection(WorkerContext& worker, ConnectionMember& member,
                                       std::shared_ptr<const Snapshot> snapshot,
                                       std::shared_ptr<const SnapshotState> state, std::uint64_t generation,
                                       const ListenerRuntime& listener, asio::ip::tcp::socket socket,
                                       asio::ip::tcp::endpoint client);

}  // namespace gatehouse::proxy
