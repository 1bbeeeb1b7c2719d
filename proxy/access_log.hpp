// One JSON line per connection. Built with nlohmann::json (Debian's nlohmann-json3-dev: the
// escaping of hostile subject strings is its job, not ours). Never contains key material.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/reason.hpp"
#include "proxy/close_reason.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy {

struct ConnectionRecord {
  std::string id;  // "2-1f": worker and connection number, quoted by a tester from a refusal page
  std::string listener;
  std::string client;  // "127.0.0.1:51234"
  std::string sni;
  std::string tls_version;
  std::string cipher;
  std::string alpn;  // the protocol ALPN chose; empty: none was negotiated
  bool resumed = false;
  double handshake_ms = 0;
  const tls::PeerIdentity* identity = nullptr;  // set once the certificate verified
  // A refused client's certificate as it was presented, NOT verified: who was refused, never an
  // identity to trust (logged under "unverified_certificate", apart from the verified fields).
  const tls::PeerIdentity* unverified = nullptr;
  std::string decision;  // "allow" | "deny"
  gatehouse::Reason reason = gatehouse::Reason::ok;
  std::string detail;  // plain words for a refusal
  std::string failed_issuer;
  int failed_depth = -1;
  std::string route;
  std::string rule;
  std::string upstream;
  std::string endpoint;
  std::uint64_t bytes_client_to_upstream = 0;
  std::uint64_t bytes_upstream_to_client = 0;
  double duration_ms = 0;
  Close close = Close::done;  // why it ended; the keyword is spelled when the line is written
  // http mode: one line per request
  std::string http_method;
  std::string http_target;
  std::string http_host;
  int http_status = 0;
  int http_request = 0;  // 1 for the first request on the connection
  int http_stream = 0;   // HTTP/2: the request's stream id
  int grpc_status = -1;  // a gRPC status Gatehouse answered with; -1: none
};

std::string format_access_line(const ConnectionRecord& record);

// Where lines go, without blocking workers on disk I/O: each worker has its own bounded queue
// (single producer, no lock), and one background thread writes what they queued, in batches.
// A full queue drops the line and counts it (gatehouse_access_log_dropped_total): never silent.
class AccessLog {
 public:
  // Receives a batch of complete lines, each ending in '\n'.
  using Sink = std::function<void(std::string_view lines)>;
  static constexpr std::size_t kQueueLines = 16384;

  AccessLog() = default;  // off for good (retarget refuses)
  explicit AccessLog(Sink sink, std::function<void()> on_reopen = nullptr);
  // "stdout", "off", or a file path (appended to; reopened by reopen()). Empty + `error` on failure.
  // Even "off" can later be retargeted.
  static AccessLog open(const std::string& target, std::string& error);

  // One worker's end: only its thread writes through it.
  class Writer {
   public:
    struct Queue;  // opaque: defined with the writer thread
    Writer() = default;
    void write(const ConnectionRecord& record);
    bool enabled() const;  // false while the log is off

   private:
    friend class AccessLog;
    std::shared_ptr<void> keep_;  // the log's state outlives its writers
    Queue* queue_ = nullptr;
    const std::atomic<bool>* enabled_ = nullptr;
  };
  Writer writer();

  void flush();   // returns once every line queued so far reached the sink
  void reopen();  // SIGUSR1: open the file again (logrotate renamed it); no line lost or doubled
  // A reload naming another target ("off", "stdout" or a file): opened now (false and why if it
  // cannot be; nothing changes then); the lines queued so far still go to the old one.
  bool retarget(const std::string& target, std::string& error);
  std::uint64_t dropped() const;

 private:
  struct Output;
  struct State;
  explicit AccessLog(Output output);
  std::shared_ptr<State> state_;
};

}  // namespace gatehouse::proxy
