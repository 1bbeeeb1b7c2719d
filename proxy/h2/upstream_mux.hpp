// HTTP/2 to an upstream (protocol "h2c", or "h2" over the upstream's TLS): one connection carries
// the streams of many requests, from any of the worker's clients, or, when the listener sends
// PROXY v2 headers (which name one client), of one client only. nghttp2's client session does the
// framing and flow control; a reader and a writer coroutine drive it.
//
// A MuxCall is one stream: the request's fields and body go up, the response's head, body and
// trailers come back. The upstream's window for a stream reopens only as the caller hands its
// response on (take()), so a slow client holds back its own stream, never the others on the
// connection. A call given up before its end resets its stream (CANCEL): the upstream stops
// working on a request nobody waits for.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/deadline.hpp"
#include "proxy/h2/event.hpp"
#include "proxy/h2/nghttp2_ptr.hpp"
#include "proxy/h2/response_fields.hpp"
#include "proxy/http/exchange_parts.hpp"
#include "proxy/upstream_link.hpp"

namespace gatehouse::proxy {
class ConnectionMember;
}  // namespace gatehouse::proxy

namespace gatehouse::proxy::h2 {

class MuxPool;
class MuxCall;
class MuxConnection;

// Which connections a stream may share: the snapshot's generation (a reload's settings get new
// connections), the upstream, and the client when each connection names one.
struct MuxKey {
  std::uint64_t generation = 0;
  std::size_t upstream = 0;
  std::uint64_t owner = 0;  // the client connection's id when a PROXY v2 header names it; 0: any client
  auto operator<=>(const MuxKey&) const = default;
};

// Where a request's stream goes: the upstream, this worker's pool for it, and who the client is.
struct MuxTarget {
  WorkerContext& worker;
  const UpstreamRuntime& upstream;
  const UpstreamState& state;
  const std::string& preface;  // PROXY v2 header for each new connection, or empty
  std::uint64_t generation;    // the snapshot's
  std::uint64_t owner;         // the client connection, kept apart from others when `preface` names it
};

struct MuxAcquired {
  std::shared_ptr<MuxConnection> connection;  // null on failure
  UpstreamLink::Opened failure;               // why, when null
};

class MuxConnection : public std::enable_shared_from_this<MuxConnection> {
 public:
  MuxConnection(WorkerContext& worker, MuxPool& pool, MuxKey key, const asio::any_io_executor& ex);
  MuxConnection(const MuxConnection&) = delete;
  MuxConnection& operator=(const MuxConnection&) = delete;
  ~MuxConnection();

  // Connects (and runs TLS with ALPN "h2" for protocol "h2"), then starts the session.
  asio::awaitable<UpstreamLink::Opened> open(const UpstreamRuntime& up, const UpstreamState& state,
                                             const std::string& preface);
  const MuxKey& key() const { return key_; }
  const std::string& endpoint() const { return endpoint_; }
  bool connecting() const { return phase_ == Phase::connecting; }
  bool closed() const { return phase_ == Phase::closed; }
  // Why opening it failed (ok when it did not): the streams that waited for it get the same answer.
  const UpstreamLink::Opened& opened() const { return opened_; }
  // Open, not going away, and below the upstream's SETTINGS_MAX_CONCURRENT_STREAMS (and ours).
  bool has_room() const;
  asio::steady_timer& settled() { return settled_; }  // its waits end when connecting ends
  void retire();                         // no new streams; it closes when its last one ends
  // For an older generation than the worker's (opened by a connection accepted before a reload):
  // it closes once the streams it was opened for are done, not after kMuxIdle.
  void close_after_use() { close_after_use_ = true; }
  void close(const std::string& why);    // now: every call still open fails with `why`

 private:
  friend class MuxCall;
  enum class Phase { connecting, open, closed };

  bool start_session();
  std::int32_t submit(MuxCall& call, const Fields& fields, bool has_body);
  void resume(std::int32_t id);
  void reset(std::int32_t id, std::uint32_t code);
  void consumed(std::int32_t id, std::size_t n);
  void forget(std::int32_t id);
  MuxCall* find(std::int32_t id);
  void when_idle();
  asio::awaitable<void> read_loop(std::shared_ptr<MuxConnection> self);
  asio::awaitable<void> write_loop(std::shared_ptr<MuxConnection> self);

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t len, void* self);
  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* self);
  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* self);

  MuxPool& pool_;
  const MuxKey key_;
  asio::ip::tcp::socket socket_;
  UpstreamLink link_;
  std::map<std::int32_t, MuxCall*> calls_;
  SessionPtr session_;
  Event wake_writer_;
  asio::steady_timer settled_;  // never expires: cancelled when connecting ends, waking every waiter
  Deadline idle_;
  Phase phase_ = Phase::connecting;
  bool retiring_ = false, close_after_use_ = false;
  std::uint64_t streams_opened_ = 0;
  UpstreamLink::Opened opened_;
  std::string endpoint_;
};

// The owner a client's connection is in a MuxTarget: a PROXY v2 header names one client, so then
// its upstream connections are its own (MuxPool::release_owner when it ends).
inline std::uint64_t owner_of(const ConnectionMember& member) { return reinterpret_cast<std::uintptr_t>(&member); }

// A connection of the worker's pool with room for one more stream to `target`, or why none.
asio::awaitable<MuxAcquired> acquire(const MuxTarget& target);

// One request to an HTTP/2 upstream and its response. Lives on the caller's coroutine frame.
class MuxCall {
 public:
  // `response_side` is notified when the response moves on (or the call ends), `request_side`
  // when the call ends (whoever feeds the body stops).
  MuxCall(Event& response_side, Event& request_side) : response_side_(response_side), request_side_(request_side) {}
  MuxCall(const MuxCall&) = delete;
  MuxCall& operator=(const MuxCall&) = delete;
  ~MuxCall() {
    try {
      reset_stream(NGHTTP2_CANCEL);
    } catch (...) {  // only a failed wake-up of the connection's writer: its next write sends the reset
    }
  }

  // Opens the stream on `conn`; false when the connection could not take it (`failure` says why).
  bool start(std::shared_ptr<MuxConnection> conn, const Fields& fields, bool has_body);
  // The request body, in order; the connection sends it as the upstream's window allows.
  void send_body(std::string_view data);
  void end_body(Fields trailers);
  std::function<void(std::size_t)> on_body_sent;  // bytes that left for the upstream

  // The response, filled in by the connection as it arrives.
  Fields head;                         // the final response's fields, ":status" first; empty until then
  int status = 0;
  std::string data;                    // body not yet taken
  bool ended = false;                  // the response is complete (body, then trailers if any)
  Fields trailers;
  std::optional<std::uint32_t> reset;  // the upstream reset the stream with this HTTP/2 error code
  std::string failure;                 // the connection failed or refused the stream: plain words
  bool finished() const { return ended || reset || !failure.empty(); }
  std::size_t body_pending() const { return body_.size(); }  // request bytes not yet sent

  void take(std::size_t n);                // n bytes of `data` were handed on (and erased from it)
  void reset_stream(std::uint32_t code);   // gives up the stream, if it is still open

 private:
  friend class MuxConnection;
  void changed() {
    response_side_.notify();
    request_side_.notify();
  }
  Event& response_side_;
  Event& request_side_;
  std::shared_ptr<MuxConnection> conn_;
  std::int32_t id_ = -1;
  std::string body_;
  bool body_end_ = false;
  Fields body_trailers_, sent_trailers_;
  Fields incoming_;  // the fields of the header block being received
  std::size_t incoming_bytes_ = 0;
};

}  // namespace gatehouse::proxy::h2
