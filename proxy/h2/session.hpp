// The HTTP/2 side of an http-mode connection (ALPN "h2"): nghttp2 does the framing, HPACK and
// flow control; each stream is one request, judged by the same check_request as an HTTP/1.1
// request (identity headers, Host against the SNI's route, path rules, refusal pages), and
// forwarded over an upstream connection of its own. One reader and one writer coroutine drive
// the session; each stream runs as a coroutine on the same worker thread, so nothing is locked.
//
// Abuse ends the connection with GOAWAY: ENHANCE_YOUR_CALM for streams reset too fast (rapid
// reset, CVE-2023-44487), control frames too fast (PING, SETTINGS, PRIORITY, empty DATA), a
// header list over max_head_size (HPACK bombs) and endless CONTINUATION frames (CVE-2024-27316);
// nghttp2's own limits (SETTINGS entries, queued ACKs) back these up.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/deadline.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/h2/event.hpp"
#include "proxy/h2/nghttp2_ptr.hpp"
#include "proxy/h2/request_head.hpp"
#include "proxy/h2/response_fields.hpp"
#include "proxy/h2/token_bucket.hpp"
#include "proxy/http/exchange_parts.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/upstream_link.hpp"
#include "tls/stream.hpp"

namespace gatehouse::proxy::h2 {

// Response bytes waiting for the client's window, per stream: a client that stops reading holds at
// most this much of ours per stream (and max_concurrent_streams streams).
inline constexpr std::size_t kMaxBuffered = 64 * 1024;

// Where a stream's requests go: the route's upstream (null for no route) in this snapshot.
struct UpstreamTarget {
  const UpstreamRuntime* upstream = nullptr;
  const SnapshotState* state = nullptr;
  const std::string& preface;  // PROXY v2 header for each upstream connection, or empty
  std::uint64_t generation = 0;  // the snapshot's: HTTP/2 upstream connections are shared per generation
};

// Serves the connection's streams until it ends; returns why it ended.
// `detail`: what ended it, in plain words (abuse, a protocol error), for the connection's log line.
asio::awaitable<Close> serve_h2(tls::Stream& client, const http::SessionFacts& facts, UpstreamTarget target,
                                std::string& detail);

// A connection to the route's upstream, kept by the session between streams while the upstream
// keeps it alive. Never shared with another client's session: its PROXY v2 header names one
// client, and nothing of one client's requests can reach the upstream on another's connection.
struct UpstreamConn {
  UpstreamConn(WorkerContext& worker, const asio::any_io_executor& ex) : socket(ex), link(worker, socket) {}
  asio::ip::tcp::socket socket;
  UpstreamLink link;
  std::string endpoint;
};

// One request and its response. Lives from the request's first HEADERS until both nghttp2 has
// closed the stream and its coroutine has finished.
struct Stream {
  Stream(std::int32_t stream_id, HeadLimits limits, const asio::any_io_executor& ex)
      : id(stream_id), request(limits), body_ready(ex), room(ex) {}
  const std::int32_t id;
  RequestHead request;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // The request, as it arrives.
  bool request_ended = false;   // END_STREAM from the client
  bool body_wanted = true;      // DATA is kept for the upstream; once false it is dropped as it comes
  std::string body;             // DATA not yet written upstream (consumed once written)
  std::vector<http::Header> request_trailers;
  Event body_ready;             // more body, its end, or the stream closed
  // The response, handed to nghttp2 through read_response().
  std::string out;
  std::size_t out_pos = 0;
  bool out_done = false;
  std::vector<http::Header> trailers_out;
  Event room;                   // nghttp2 took some of `out`, or the stream closed
  // Both ends.
  bool closed = false;          // nghttp2 closed it (a reset, or both sides done)
  std::uint32_t reset_code = 0; // the RST_STREAM code when it was reset
  bool task_started = false, task_done = false;
  std::unique_ptr<UpstreamConn> upstream;  // while the stream uses one
  // For its access-log line.
  std::string host, endpoint;
  std::string_view rule;  // in the compiled policy, which outlives the connection
  int status = 0, grpc_status = -1;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  // The exchange with the upstream.
  IdleWatch* idle = nullptr;
  std::optional<Close> failure;  // the first failure, which ends the exchange
  std::string failure_detail;
  bool response_started = false, response_done = false, request_sent = false;
  bool upstream_spoke = false;  // a byte of the response came (after that, never sent again)

  std::size_t buffered() const { return out.size() - out_pos; }
  void fail(Close why, std::string detail) {
    if (failure) return;
    failure = why;
    failure_detail = std::move(detail);
    cancel_upstream();
    body_ready.notify();
    room.notify();
  }
  void cancel_upstream() {
    if (upstream) cancel_io(upstream->socket);
  }
};

class MuxCall;

class Session {
 public:
  Session(tls::Stream& client, const http::SessionFacts& facts, UpstreamTarget target);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  asio::awaitable<Close> run();
  const std::string& close_detail() const { return close_detail_; }

 private:
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t len, void* self);
  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* self);
  static ssize_t read_response(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                               std::uint32_t* flags, nghttp2_data_source* source, void* self);

  bool set_up();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  void start_streams();  // the streams whose head completed during the last mem_recv
  void stream_finished(Stream& s);
  void forget_if_done(Stream& s);
  Stream* find(std::int32_t id);
  bool control_frame();                                // false: over the budget (the connection ends)
  void go_away(std::uint32_t code, Close why, std::string detail);  // ends the connection now
  void go_away_gently();                               // no new streams; the running ones finish
  void abort_streams();
  void note_idle();
  bool responses_going_out() const;

  // The stream's exchange (stream_exchange.cpp).
  asio::awaitable<void> serve_stream(Stream& s);
  asio::awaitable<void> answer(Stream& s, const http::Answer& a);
  asio::awaitable<void> forward(Stream& s, http::RequestPlan& plan);
  asio::awaitable<void> serve_whoami(Stream& s, const http::Head& out);
  bool take_idle_upstream(Stream& s);              // one kept from an earlier stream, if still good
  asio::awaitable<bool> open_upstream(Stream& s);  // a new one
  // To an HTTP/2 upstream (mux_exchange.cpp).
  asio::awaitable<void> forward_mux(Stream& s, http::Head out, bool te_trailers);
  asio::awaitable<void> feed_mux(Stream& s, MuxCall& call);
  asio::awaitable<void> relay_mux(Stream& s, MuxCall& call);
  void consume(Stream& s, std::size_t n);  // n body bytes went upstream: the client's window comes back
  void keep_upstream(Stream& s, bool reusable);
  asio::awaitable<void> send_body(Stream& s, UpstreamLink& link, http::Framing framing);
  asio::awaitable<void> relay_response(Stream& s, UpstreamLink& link, bool head_request, bool& reusable);
  void respond(Stream& s, const Fields& fields, std::string body);
  void drop_body(Stream& s);  // nobody will forward it: its window comes back now
  void submit_head(Stream& s, const Fields& fields, bool with_body);
  void refuse(Stream& s, int status, Close close, const std::string& message, gatehouse::Reason reason);
  void more_output(Stream& s);
  void log(const Stream& s, Close close, const std::string& detail, gatehouse::Reason reason = gatehouse::Reason::ok);

  tls::Stream& client_;
  const http::SessionFacts& facts_;
  UpstreamTarget target_;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<UpstreamConn>> idle_upstreams_;  // kept alive between streams
  SessionPtr session_;  // after streams_: freed first, while the streams it points to still exist
  std::vector<Stream*> ready_;  // heads completed inside a callback, started after it
  Event wake_writer_;
  Event tasks_done_;
  int tasks_ = 0;
  int requests_ = 0;
  TokenBucket resets_, control_;
  std::optional<Close> close_;  // why the connection ends, once known
  std::string close_detail_;
  bool reading_done_ = false, writing_failed_ = false, goaway_ = false, terminated_ = false;
  std::int32_t last_started_ = 0;
  Deadline keepalive_;
};

}  // namespace gatehouse::proxy::h2
