#include "proxy/h2/session.hpp"

#include "proxy/h2/upstream_mux.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <algorithm>
#include <array>

namespace gatehouse::proxy::h2 {
namespace {

constexpr std::size_t kWriteBatch = 64 * 1024;   // bytes gathered from nghttp2 per write
constexpr std::size_t kMaxSettingsEntries = 32;  // per SETTINGS frame; a client needs 6 or so
constexpr std::size_t kMaxContinuations = 8;     // CONTINUATION frames per header block

}  // namespace

Session::Session(tls::Stream& client, const http::SessionFacts& facts, UpstreamTarget target)
    : client_(client),
      facts_(facts),
      target_(target),
      wake_writer_(client.socket().get_executor()),
      tasks_done_(client.socket().get_executor()),
      resets_(static_cast<double>(facts.http.http2.max_resets_per_second),
              4.0 * static_cast<double>(facts.http.http2.max_resets_per_second)),
      control_(static_cast<double>(facts.http.http2.max_control_frames_per_second),
               10.0 * static_cast<double>(facts.http.http2.max_control_frames_per_second)),
      keepalive_(client.socket().get_executor()) {}

bool Session::set_up() {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) return false;
  CallbacksPtr callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(raw_callbacks, &Session::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(raw_callbacks, &Session::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(raw_callbacks, &Session::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw_callbacks, &Session::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(raw_callbacks, &Session::on_stream_close);
  nghttp2_option* raw_option = nullptr;
  if (nghttp2_option_new(&raw_option) != 0) return false;
  OptionPtr option(raw_option);
  const conf::Http2Settings& h2 = facts_.http.http2;
  // Flow control follows what the upstream took: a window is handed back once its bytes left.
  nghttp2_option_set_no_auto_window_update(raw_option, 1);
  nghttp2_option_set_max_settings(raw_option, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(raw_option, kMaxContinuations);
  // nghttp2's own rapid-reset limit stays behind ours (ours answers ENHANCE_YOUR_CALM first).
  nghttp2_option_set_stream_reset_rate_limit(raw_option, static_cast<std::uint64_t>(8 * h2.max_resets_per_second),
                                             static_cast<std::uint64_t>(2 * h2.max_resets_per_second));
  nghttp2_session* raw = nullptr;
  if (nghttp2_session_server_new2(&raw, raw_callbacks, this, raw_option) != 0) return false;
  session_.reset(raw);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, static_cast<std::uint32_t>(h2.max_concurrent_streams)},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(h2.initial_window_size)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(facts_.http.max_head_size)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
  return nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<std::int32_t>(h2.connection_window_size)) == 0;
}

asio::awaitable<Close> serve_h2(tls::Stream& client, const http::SessionFacts& facts, UpstreamTarget target,
                                std::string& detail) {
  Session session(client, facts, target);
  const Close close = co_await session.run();
  detail = session.close_detail();
  // HTTP/2 upstream connections that name this client (PROXY v2) serve nobody else: they close.
  if (!target.preface.empty()) facts.worker.h2_upstreams.release_owner(owner_of(facts.member));
  co_return close;
}

asio::awaitable<Close> Session::run() {
  using namespace asio::experimental::awaitable_operators;
  if (!set_up()) co_return Close::client_error;
  // A drain or a reload's verdict while streams are in flight: GOAWAY now, the streams finish.
  facts_.member.on_ending_in_flight([this] { go_away_gently(); });
  struct Unset {
    ConnectionMember& member;
    ~Unset() { member.on_ending_in_flight({}); }
  } unset{facts_.member};
  facts_.member.set_phase(Phase::idle);
  note_idle();
  co_await (read_loop() && write_loop());
  keepalive_.disarm();
  abort_streams();
  // Every stream's coroutine refers to this session: none may outlive it. A cancellation of
  // this wait (the drain deadline) only makes it look again; the streams were told to stop.
  while (tasks_ > 0) co_await tasks_done_.wait();
  // close_notify after a gentle end only: a cut or abusive client may not read it, and nothing
  // may wait on that after a cancellation.
  const bool gentle = !close_ || *close_ == Close::done || *close_ == Close::client_closed ||
                      *close_ == Close::keepalive_timeout || *close_ == Close::head_timeout ||
                      *close_ == Close::drained;
  if (!writing_failed_ && gentle) co_await client_.close_send();
  co_return close_.value_or(Close::done);
}

asio::awaitable<void> Session::read_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  std::array<std::uint8_t, 16 * 1024> buf;
  while (nghttp2_session_want_read(session_.get()) != 0 && !writing_failed_) {
    auto [ec, n] = co_await client_.read_ready(buf.data(), buf.size());
    if (ec == asio::error::would_block) {
      ec = co_await client_.wait_readable();
      if (!ec) continue;
    }
    if (ec) {
      const std::optional<Close> ending = facts_.member.ending();
      if (keepalive_.fired())
        close_ = close_.value_or(requests_ == 0 ? Close::head_timeout : Close::keepalive_timeout);
      else if (ending && ec == asio::error::operation_aborted)
        close_ = close_.value_or(*ending);
      else if (ec == asio::error::eof)
        close_ = close_.value_or(tasks_ > 0 ? Close::client_error : Close::client_closed);
      else if (ec != asio::error::operation_aborted)
        close_ = close_.value_or(Close::client_error), close_detail_ = ec.message();
      // A gentle end (idle, drained): tell the client which streams were served. A client that
      // went away reads nothing more: its streams end now (their upstream streams are reset),
      // not at idle_timeout.
      if (!close_ || *close_ != Close::client_error) go_away_gently();
      else abort_streams();
      break;
    }
    const ssize_t used = nghttp2_session_mem_recv(session_.get(), buf.data(), n);
    if (used < 0) {
      // nghttp2 stops at once: a flood of queued ACKs (the client does not read), too many
      // CONTINUATIONs, or a callback that refused. Nothing more is read.
      const bool abuse = used == NGHTTP2_ERR_FLOODED || used == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
                         used == NGHTTP2_ERR_CALLBACK_FAILURE;
      go_away(abuse ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR, abuse ? Close::abuse : Close::protocol_error,
              nghttp2_strerror(static_cast<int>(used)));
      break;
    }
    // Before any new stream: after a reload that no longer admits this client (or a drain), the
    // streams of this read are refused (REFUSED_STREAM), never served under the old verdict.
    if (!goaway_ && facts_.member.ending()) go_away_gently();
    start_streams();
    wake_writer_.notify();
  }
  reading_done_ = true;
  wake_writer_.notify();
}

asio::awaitable<void> Session::write_loop() {
  co_await asio::this_coro::throw_if_cancelled(false);
  std::string batch;
  for (;;) {
    batch.clear();
    while (batch.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n <= 0) break;
      batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!batch.empty()) {
      if (auto ec = co_await client_.write_all(batch.data(), batch.size())) {
        writing_failed_ = true;
        if (!close_) close_ = ec == asio::error::operation_aborted ? facts_.member.ending().value_or(Close::terminated)
                                                                 : Close::client_error;
        cancel_io(client_.socket());  // the reader stops too
        co_return;
      }
      continue;
    }
    const bool nothing_more = nghttp2_session_want_read(session_.get()) == 0 &&
                              nghttp2_session_want_write(session_.get()) == 0;
    if ((reading_done_ || nothing_more) && tasks_ == 0) {
      if (!reading_done_) cancel_io(client_.socket());
      co_return;
    }
    if (goaway_ && tasks_ == 0 && !reading_done_ && !responses_going_out()) {
      // A gentle end with every stream answered: stop reading, the GOAWAY is out.
      cancel_io(client_.socket());
    }
    co_await wake_writer_.wait();
  }
}

void Session::go_away(std::uint32_t code, Close why, std::string detail) {
  if (terminated_) return;  // the first cause stands (a callback's, then mem_recv's error)
  terminated_ = true;
  if (!close_ || *close_ == Close::done) {
    close_ = why;
    close_detail_ = std::move(detail);
  }
  goaway_ = true;
  facts_.counters.h2_goaways[static_cast<std::size_t>(why == Close::abuse ? metrics::H2Goaway::abuse
                                                                          : metrics::H2Goaway::protocol_error)]
      .add();
  // Ends every stream once the GOAWAY is out: nghttp2 reads nothing more.
  nghttp2_session_terminate_session(session_.get(), code);
  abort_streams();
  wake_writer_.notify();
}

void Session::go_away_gently() {
  if (goaway_) return;
  goaway_ = true;
  if (const auto ending = facts_.member.ending(); ending && !close_) close_ = *ending;  // drained, ...
  facts_.counters.h2_goaways[static_cast<std::size_t>(metrics::H2Goaway::graceful)].add();
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, last_started_, NGHTTP2_NO_ERROR, nullptr, 0);
  wake_writer_.notify();
}

void Session::abort_streams() {
  for (auto& [id, s] : streams_) {
    if (s->task_done) continue;
    s->closed = true;
    s->cancel_upstream();
    s->body_ready.notify();
    s->room.notify();
  }
}

Stream* Session::find(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Session::note_idle() {
  if (tasks_ > 0 || goaway_ || responses_going_out()) return;
  if (facts_.member.ending()) return go_away_gently();  // a drain or a reload waited for this
  facts_.member.set_phase(Phase::idle);
  const auto timeout = requests_ == 0 ? facts_.http.head_timeout : facts_.http.keepalive_timeout;
  keepalive_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                 [&socket = client_.socket()] { cancel_io(socket); });
}

bool Session::responses_going_out() const {
  // A stream whose coroutine is done but whose response nghttp2 still sends (a slow reader).
  for (const auto& [id, s] : streams_)
    if (s->task_started && !s->closed) return true;
  return false;
}

void Session::start_streams() {
  std::vector<Stream*> ready;
  ready.swap(ready_);
  for (Stream* s : ready) {
    if (s->closed) {  // reset before it started (rapid reset does that): nothing to serve
      streams_.erase(s->id);
      continue;
    }
    if (goaway_) {  // came before the client saw our GOAWAY: it may retry it elsewhere
      nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
      continue;
    }
    s->task_started = true;
    ++tasks_;
    ++requests_;
    last_started_ = s->id;
    keepalive_.disarm();
    facts_.member.set_phase(Phase::request);
    asio::co_spawn(client_.socket().get_executor(), serve_stream(*s),
                   [this, s](const std::exception_ptr&) { stream_finished(*s); });
  }
}

void Session::stream_finished(Stream& s) {
  s.task_done = true;
  --tasks_;
  s.upstream.reset();  // unless forward() gave it back to idle_upstreams_
  drop_body(s);        // bytes a reset or a failure left unsent still hold the connection's window
  forget_if_done(s);
  if (tasks_ == 0) {
    tasks_done_.notify();
    if (!goaway_ && facts_.member.ending()) go_away_gently();
    note_idle();
  }
  wake_writer_.notify();
}

void Session::forget_if_done(Stream& s) {
  if (!s.closed || (s.task_started && !s.task_done)) return;  // its coroutine still refers to it
  if (!s.task_started && std::find(ready_.begin(), ready_.end(), &s) != ready_.end()) return;  // start_streams drops it
  streams_.erase(s.id);
}

}  // namespace gatehouse::proxy::h2
