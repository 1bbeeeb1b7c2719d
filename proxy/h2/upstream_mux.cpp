#include "proxy/h2/upstream_mux.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <algorithm>
#include <array>
#include <vector>

#include "proxy/h2/header_block.hpp"
#include "proxy/h2/upstream_pool.hpp"

namespace gatehouse::proxy::h2 {
namespace {

constexpr std::size_t kMaxStreams = 128;                    // per connection, whatever the upstream allows
constexpr std::uint32_t kStreamWindow = 256 * 1024;        // response bytes a slow client's stream may hold
constexpr std::int32_t kConnectionWindow = 16 * 1024 * 1024;  // handed back as bytes arrive
constexpr std::size_t kWriteBatch = 64 * 1024;

MuxConnection& self_of(void* p) { return *static_cast<MuxConnection*>(p); }

}  // namespace

MuxConnection::MuxConnection(WorkerContext& worker, MuxPool& pool, MuxKey key, const asio::any_io_executor& ex)
    : pool_(pool),
      key_(key),
      socket_(ex),
      link_(worker, socket_),
      wake_writer_(ex),
      settled_(ex, asio::steady_timer::time_point::max()),
      idle_(ex) {}

MuxConnection::~MuxConnection() = default;

asio::awaitable<UpstreamLink::Opened> MuxConnection::open(const UpstreamRuntime& up, const UpstreamState& state,
                                                          const std::string& preface) {
  UpstreamLink::Opened opened = co_await link_.open(up, state, preface);
  if (opened.ok && !start_session()) {
    opened.ok = false;
    opened.close = Close::upstream_error;
    opened.detail = "could not start an HTTP/2 session";
  }
  opened_ = opened;
  settled_.cancel();
  if (!opened.ok) {
    close("");
    co_return opened;
  }
  endpoint_ = opened.endpoint;
  phase_ = Phase::open;
  const auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, read_loop(shared_from_this()), asio::detached);
  asio::co_spawn(ex, write_loop(shared_from_this()), asio::detached);
  when_idle();  // until a stream comes: its opener may have gone meanwhile
  co_return opened;
}

bool MuxConnection::start_session() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  CallbacksPtr callbacks(cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, &MuxConnection::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &MuxConnection::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &MuxConnection::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &MuxConnection::on_stream_close);
  nghttp2_option* raw_option = nullptr;
  if (nghttp2_option_new(&raw_option) != 0) return false;
  OptionPtr option(raw_option);
  // A stream's window comes back as its client takes the response (MuxCall::take).
  nghttp2_option_set_no_auto_window_update(raw_option, 1);
  nghttp2_session* raw = nullptr;
  if (nghttp2_session_client_new2(&raw, cb, this, raw_option) != 0) return false;
  session_.reset(raw);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(http::kResponseLimits.max_head_size)},
  };
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
  return nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) == 0;
}

bool MuxConnection::has_room() const {
  if (phase_ != Phase::open || retiring_ || nghttp2_session_check_request_allowed(session_.get()) == 0) return false;
  const std::uint32_t allowed =
      nghttp2_session_get_remote_settings(session_.get(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return calls_.size() < std::min<std::size_t>(allowed, kMaxStreams);
}

void MuxConnection::retire() {
  retiring_ = true;
  when_idle();
}

void MuxConnection::close(const std::string& why) {
  if (phase_ == Phase::closed) return;
  const auto keep = shared_from_this();  // the pool may hold the last reference
  phase_ = Phase::closed;
  settled_.cancel();
  idle_.disarm();
  std::map<std::int32_t, MuxCall*> calls;
  calls.swap(calls_);
  for (auto& [id, call] : calls) {
    call->id_ = -1;
    if (!call->finished()) call->failure = why;
    call->changed();
  }
  cancel_io(socket_);
  wake_writer_.notify();
  pool_.forget(this);
}

void MuxConnection::when_idle() {
  if (phase_ != Phase::open || !calls_.empty()) return;
  if (close_after_use_ && streams_opened_ > 0) retiring_ = true;
  if (retiring_ || nghttp2_session_check_request_allowed(session_.get()) == 0) {
    const auto keep = shared_from_this();  // the pool may hold the last reference
    // GOAWAY, then nghttp2 wants nothing more and the writer closes the connection.
    retiring_ = true;
    pool_.forget(this);
    nghttp2_session_terminate_session(session_.get(), NGHTTP2_NO_ERROR);
    wake_writer_.notify();
    return;
  }
  idle_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(kMuxIdle), [this] {
    retiring_ = true;
    when_idle();
  });
}

std::int32_t MuxConnection::submit(MuxCall& call, const Fields& fields, bool has_body) {
  if (!has_room()) return NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE;
  const std::vector<nghttp2_nv> nv = nv_of(fields);
  nghttp2_data_provider body{};
  body.read_callback = &MuxConnection::read_body;  // finds the call by its stream id
  const std::int32_t id = nghttp2_submit_request(session_.get(), nullptr, nv.data(), nv.size(),
                                                 has_body ? &body : nullptr, nullptr);
  if (id > 0) {
    ++streams_opened_;
    calls_[id] = &call;
    idle_.disarm();
    wake_writer_.notify();
  }
  return id;
}

MuxCall* MuxConnection::find(std::int32_t id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second;
}

void MuxConnection::resume(std::int32_t id) {
  if (phase_ != Phase::open) return;
  nghttp2_session_resume_data(session_.get(), id);  // an error only says it was not deferred
  wake_writer_.notify();
}

void MuxConnection::reset(std::int32_t id, std::uint32_t code) {
  calls_.erase(id);
  if (phase_ != Phase::open) return;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, code);
  wake_writer_.notify();
  when_idle();
}

void MuxConnection::consumed(std::int32_t id, std::size_t n) {
  if (phase_ != Phase::open || n == 0 || id <= 0) return;
  // Only the stream's window: the connection's came back when the bytes arrived (on_data_chunk),
  // so streams whose clients do not read can never starve the others on the connection.
  nghttp2_session_consume_stream(session_.get(), id, n);
  wake_writer_.notify();
}

// `self` keeps the connection alive while the loop runs.
asio::awaitable<void> MuxConnection::read_loop(std::shared_ptr<MuxConnection> /*self*/) {
  std::array<std::uint8_t, 16 * 1024> buf;
  while (phase_ == Phase::open) {
    auto [ec, n] = co_await link_.read_ready(buf.data(), buf.size());
    if (ec == asio::error::would_block) {
      ec = co_await link_.wait_readable();
      if (!ec) continue;
    }
    if (phase_ != Phase::open) break;
    if (ec) {
      close(ec == asio::error::eof ? "the upstream closed the connection" : "the upstream connection failed: " +
                                                                               ec.message());
      break;
    }
    const ssize_t used = nghttp2_session_mem_recv(session_.get(), buf.data(), n);
    if (used < 0) {
      close(std::string("the upstream broke HTTP/2: ") + nghttp2_strerror(static_cast<int>(used)));
      break;
    }
    when_idle();
    wake_writer_.notify();
  }
}

asio::awaitable<void> MuxConnection::write_loop(std::shared_ptr<MuxConnection> /*self*/) {
  std::string batch;
  while (phase_ == Phase::open) {
    batch.clear();
    ssize_t n = 0;
    while (batch.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      n = nghttp2_session_mem_send(session_.get(), &data);
      if (n <= 0) break;
      batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (n < 0) {
      close(std::string("HTTP/2 to the upstream failed: ") + nghttp2_strerror(static_cast<int>(n)));
      break;
    }
    if (!batch.empty()) {
      if (auto ec = co_await link_.write_all(batch.data(), batch.size())) {
        close("the upstream connection failed: " + ec.message());
        break;
      }
      continue;
    }
    if (nghttp2_session_want_read(session_.get()) == 0 && nghttp2_session_want_write(session_.get()) == 0) {
      close("the upstream ended the connection (GOAWAY)");  // or we did, idle or retired
      break;
    }
    co_await wake_writer_.wait();
  }
}

int MuxConnection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                             void* p) {
  MuxCall* call = self_of(p).find(frame->hd.stream_id);
  if (!call) return 0;
  // An upstream's header block is held to the HTTP/1.1 response limits: a few bytes of HPACK
  // references can stand for megabytes of fields (an HPACK bomb from a hostile upstream).
  call->incoming_bytes_ += namelen + valuelen + 32;  // RFC 7541's 32 bytes of overhead per field
  if (call->incoming_bytes_ > http::kResponseLimits.max_head_size ||
      call->incoming_.size() >= http::kResponseLimits.max_headers) {
    call->failure = "the upstream's response head is over " + std::to_string(http::kResponseLimits.max_head_size) +
                    " bytes or " + std::to_string(http::kResponseLimits.max_headers) + " fields";
    call->incoming_.clear();
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets this stream only
  }
  call->incoming_.push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                             std::string(reinterpret_cast<const char*>(value), valuelen)});
  return 0;
}

int MuxConnection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
  MuxConnection& c = self_of(p);
  MuxCall* call = c.find(frame->hd.stream_id);
  if (!call) return 0;
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    Fields fields;
    fields.swap(call->incoming_);
    call->incoming_bytes_ = 0;
    if (call->head.empty()) {
      // nghttp2 checked the block: ":status" comes first. An interim (1xx) response is dropped.
      const int status = fields.empty() ? 0 : std::atoi(fields.front().value.c_str());
      if (status < 200) return 0;
      call->status = status;
      call->head = std::move(fields);
    } else {
      call->trailers = std::move(fields);
    }
  }
  if (end && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) call->ended = true;
  call->changed();
  return 0;
}

int MuxConnection::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                                 std::size_t len, void* p) {
  MuxConnection& c = self_of(p);
  // The connection's window comes back at once; each stream's only as its client takes the bytes
  // (MuxCall::take), which bounds what a stream holds to its window (kStreamWindow).
  nghttp2_session_consume_connection(c.session_.get(), len);
  MuxCall* call = c.find(stream_id);
  if (!call) return 0;  // given up: its bytes go nowhere
  call->data.append(reinterpret_cast<const char*>(data), len);
  call->changed();
  return 0;
}

int MuxConnection::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* p) {
  MuxConnection& c = self_of(p);
  MuxCall* call = c.find(stream_id);
  if (!call) return 0;
  c.calls_.erase(stream_id);
  call->id_ = -1;
  // A reset after the whole response (NO_ERROR: "stop sending the body") loses nothing.
  if (!call->ended) call->reset = code;
  call->changed();
  return 0;
}

ssize_t MuxConnection::read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                                 std::size_t length, std::uint32_t* flags, nghttp2_data_source*, void* p) {
  MuxCall* call = self_of(p).find(stream_id);
  if (!call) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // given up: the stream is reset
  const std::size_t n = std::min(length, call->body_.size());
  std::copy_n(reinterpret_cast<const std::uint8_t*>(call->body_.data()), n, buf);
  call->body_.erase(0, n);
  if (n > 0 && call->on_body_sent) call->on_body_sent(n);
  if (n == 0 && !call->body_end_) return NGHTTP2_ERR_DEFERRED;
  if (call->body_end_ && call->body_.empty()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!call->body_trailers_.empty()) {
      call->sent_trailers_ = std::move(call->body_trailers_);
      const std::vector<nghttp2_nv> nv = nv_of(call->sent_trailers_);
      if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  }
  return static_cast<ssize_t>(n);
}

bool MuxCall::start(std::shared_ptr<MuxConnection> conn, const Fields& fields, bool has_body) {
  conn_ = std::move(conn);
  body_end_ = !has_body;
  const std::int32_t id = conn_->submit(*this, fields, has_body);
  if (id <= 0) {
    failure = std::string("could not open a stream to the upstream: ") + nghttp2_strerror(id);
    return false;
  }
  id_ = id;
  return true;
}

void MuxCall::send_body(std::string_view bytes) {
  body_.append(bytes);
  if (id_ > 0) conn_->resume(id_);
}

void MuxCall::end_body(Fields trailers_to_send) {
  body_end_ = true;
  body_trailers_ = std::move(trailers_to_send);
  if (id_ > 0) conn_->resume(id_);
}

void MuxCall::take(std::size_t n) {
  if (conn_) conn_->consumed(id_, n);
}

void MuxCall::reset_stream(std::uint32_t code) {
  if (!conn_) return;
  if (!data.empty()) {  // never taken: its window still has to come back
    conn_->consumed(id_, data.size());
    data.clear();
  }
  if (id_ > 0) conn_->reset(id_, code);
  id_ = -1;
}

}  // namespace gatehouse::proxy::h2
