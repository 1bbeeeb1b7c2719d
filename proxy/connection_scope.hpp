// Everything a connection owes its worker whatever way it ends, written once: the gauges and
// counters, and its access-log line with a typed close reason (Gatehouse's own ending, recorded
// on the connection's group member, wins).
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "proxy/access_log.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/connection_group.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_context.hpp"
#include "tls/verdict.hpp"

namespace gatehouse::proxy {

class ConnectionScope {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionScope(WorkerContext& worker, ConnectionMember& member, const SnapshotState& state,
                  const ListenerRuntime& listener, const asio::ip::tcp::endpoint& client_address);
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;
  // Writes the line if it is still owed (a coroutine destroyed mid-way: "terminated").
  ~ConnectionScope();

  ConnectionRecord& record() { return rec_; }
  ConnectionMember& member() { return member_; }
  Clock::time_point started() const { return started_; }

  // The PROXY header named the real client: logged as "<client> via <proxy>".
  void client_via_proxy(const asio::ip::tcp::endpoint& client);
  // The PROXY header in front of TLS was refused: no handshake happened.
  void refuse_proxy_header(std::string detail);
  // The handshake's verdict and session: counted (handshakes, refusals, the route's decision)
  // and copied into the line.
  void handshake_done(const tls::Verdict& verdict, const tls::SessionFacts& session);
  // Verified and admitted on `route`, served by `upstream`.
  void admit(const std::string& route, const std::string& upstream);
  void upstream_unavailable(std::string detail);
  // Gatehouse ended it (after a reload or at max_connection_age): true once that is so.
  bool ended_by_gatehouse() const { return member_.ended_by_gatehouse(); }

  // The connection ends: its line is written now, with Gatehouse's own ending (for an admitted
  // client) or the drain deadline (both recorded on the member) winning over `close`. `detail` adds plain words (an
  // error).
  void finish(Close close, std::string detail = "");
  // http mode: each request wrote its own line; the connection writes one only if none came.
  void lines_written_by_requests(int count) { request_lines_ = count; }

 private:
  void count_refusal(Reason reason);

  WorkerContext& worker_;
  ConnectionMember& member_;
  const SnapshotState& state_;
  metrics::ListenerCounters& counters_;
  const ListenerRuntime& listener_;
  Clock::time_point started_ = Clock::now();
  ConnectionRecord rec_;
  bool admitted_ = false;
  bool written_ = false;
  int request_lines_ = 0;
};

}  // namespace gatehouse::proxy
