// A stream forwarded to an h2c upstream (HTTP/2 in plaintext: gRPC servers), over an upstream
// connection of its own with an nghttp2 client session: the request's fields rebuilt as for
// HTTP/1.1 (identity headers ours, the client's spellings of them dropped) plus `te: trailers`
// when the client sent it, the body as it comes, and the response's fields, body and trailers
// (grpc-status) back to the client. Reading from the upstream pauses while the client is slow.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <array>
#include <cstring>

#include "proxy/h2/session.hpp"

namespace gatehouse::proxy::h2 {

class H2cCall {
 public:
  H2cCall(Session& session, Stream& s, UpstreamLink& link)
      : session_(session), s_(s), link_(link), wake_writer_(link.socket().get_executor()) {}

  // Returns once the upstream stream ended (or failed: s.fail() says why).
  asio::awaitable<void> run(const http::Head& out, bool te_trailers) {
    using namespace asio::experimental::awaitable_operators;
    if (!start(out, te_trailers)) co_return s_.fail(Close::upstream_error, "could not start an HTTP/2 session");
    co_await (read_loop() && write_loop() && feed_loop());
  }

 private:
  bool start(const http::Head& out, bool te_trailers) {
    nghttp2_session_callbacks* cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) return false;
    CallbacksPtr callbacks(cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &H2cCall::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &H2cCall::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &H2cCall::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &H2cCall::on_stream_close);
    nghttp2_session* raw = nullptr;
    if (nghttp2_session_client_new(&raw, cb, this) != 0) return false;
    session_up_.reset(raw);
    if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, nullptr, 0) != 0) return false;
    fields_ = {{":method", out.method}, {":scheme", "http"}, {":path", out.target}};
    for (const auto& h : out.headers) {
      std::string name = tls::ascii_lower(h.name);
      if (name == "host") {
        fields_.insert(fields_.begin() + 2, {":authority", h.value});
        continue;
      }
      if (name == "connection" || name == "keep-alive" || name == "transfer-encoding" || name == "upgrade" ||
          name == "proxy-connection" || name == "te")
        continue;
      fields_.push_back({std::move(name), h.value});
    }
    if (te_trailers) fields_.push_back({"te", "trailers"});
    std::vector<nghttp2_nv> nv;
    for (auto& f : fields_)
      nv.push_back({reinterpret_cast<std::uint8_t*>(f.name.data()), reinterpret_cast<std::uint8_t*>(f.value.data()),
                    f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider body{};
    body.source.ptr = this;
    body.read_callback = &H2cCall::read_request;
    const bool has_body = !(s_.request_ended && s_.body.empty());
    stream_id_ = nghttp2_submit_request(raw, nullptr, nv.data(), nv.size(), has_body ? &body : nullptr, nullptr);
    if (!has_body) s_.request_sent = true;
    return stream_id_ > 0;
  }

  bool over() const { return done_ || s_.failure || s_.closed; }

  asio::awaitable<void> read_loop() {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::array<std::uint8_t, 16 * 1024> buf;
    while (!over()) {
      // The client's window is full: read no more from the upstream until it takes some.
      while (s_.buffered() > 64 * 1024 && !over()) co_await s_.room.wait();
      if (over()) break;
      auto [ec, n] = co_await link_.read_ready(buf.data(), buf.size());
      if (ec == asio::error::would_block) {
        ec = co_await link_.wait_readable();
        if (!ec) continue;
      }
      if (ec) {
        if (!over()) s_.fail(Close::upstream_error, ec == asio::error::eof ? "closed in the middle of the response"
                                                                           : ec.message());
        break;
      }
      if (s_.idle) s_.idle->touch();
      if (nghttp2_session_mem_recv(session_up_.get(), buf.data(), n) < 0) {
        s_.fail(Close::upstream_error, "the upstream broke HTTP/2");
        break;
      }
      wake_writer_.notify();
    }
    wake_writer_.notify();
    s_.body_ready.notify();
  }

  asio::awaitable<void> write_loop() {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::string batch;
    while (!over()) {
      batch.clear();
      for (;;) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_up_.get(), &data);
        if (n <= 0) break;
        batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (!batch.empty()) {
        if (auto ec = co_await link_.write_all(batch.data(), batch.size())) {
          if (!over()) s_.fail(Close::upstream_error, ec.message());
          break;
        }
        if (s_.idle) s_.idle->touch();
        continue;
      }
      co_await wake_writer_.wait();
    }
  }

  // New request body from the client: the upstream session may send it now.
  asio::awaitable<void> feed_loop() {
    co_await asio::this_coro::throw_if_cancelled(false);
    while (!over() && !s_.request_sent) {
      co_await s_.body_ready.wait();
      nghttp2_session_resume_data(session_up_.get(), stream_id_);
      wake_writer_.notify();
    }
  }

  static H2cCall& self(void* p) { return *static_cast<H2cCall*>(p); }

  static ssize_t read_request(nghttp2_session* up, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source*, void* p) {
    H2cCall& c = self(p);
    Stream& s = c.s_;
    const std::size_t n = std::min(length, s.body.size());
    std::memcpy(buf, s.body.data(), n);
    s.body.erase(0, n);
    if (n > 0) c.session_.consume(s, n);  // the client may send as much again
    if (n == 0 && !s.request_ended) return NGHTTP2_ERR_DEFERRED;
    if (s.request_ended && s.body.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      s.request_sent = true;
      if (!s.request_trailers.empty()) {
        c.trailer_fields_ = trailer_fields(s.request_trailers);
        std::vector<nghttp2_nv> nv;
        for (auto& f : c.trailer_fields_)
          nv.push_back({reinterpret_cast<std::uint8_t*>(f.name.data()),
                        reinterpret_cast<std::uint8_t*>(f.value.data()), f.name.size(), f.value.size(),
                        NGHTTP2_NV_FLAG_NONE});
        if (nghttp2_submit_trailer(up, stream_id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
    H2cCall& c = self(p);
    if (frame->hd.stream_id != c.stream_id_) return 0;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (c.s_.response_started)
      c.response_trailers_.push_back({std::move(n), std::move(v)});
    else
      c.response_fields_.push_back({std::move(n), std::move(v)});
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    H2cCall& c = self(p);
    if (frame->hd.stream_id != c.stream_id_) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !c.s_.response_started) {
      const std::string status = c.response_fields_.empty() ? "" : c.response_fields_.front().value;
      if (c.response_fields_.empty() || c.response_fields_.front().name != ":status" || status.empty() ||
          status.front() == '1') {
        c.response_fields_.clear();  // an interim response (or none): the final one follows
        return 0;
      }
      c.s_.status = std::atoi(status.c_str());
      c.s_.response_started = true;
      if (end) c.s_.out_done = true;
      c.session_.submit_head(c.s_, c.response_fields_, !end);
    } else if (frame->hd.type == NGHTTP2_HEADERS && end) {  // trailers: grpc-status and the like
      c.s_.trailers_out = c.response_trailers_;
      c.s_.out_done = true;
      c.session_.more_output(c.s_);
    } else if (frame->hd.type == NGHTTP2_DATA && end) {
      c.s_.out_done = true;
      c.session_.more_output(c.s_);
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t len, void* p) {
    H2cCall& c = self(p);
    if (stream_id != c.stream_id_) return 0;
    c.s_.out.append(reinterpret_cast<const char*>(data), len);
    c.s_.bytes_out += len;
    c.session_.more_output(c.s_);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* p) {
    H2cCall& c = self(p);
    if (stream_id != c.stream_id_) return 0;
    c.done_ = true;
    if (code != NGHTTP2_NO_ERROR || !c.s_.out_done)
      c.s_.fail(Close::upstream_error, "the upstream reset the stream (HTTP/2 error " + std::to_string(code) + ")");
    else
      c.s_.response_done = true;
    c.s_.room.notify();
    c.s_.body_ready.notify();
    c.wake_writer_.notify();
    return 0;
  }

  Session& session_;
  Stream& s_;
  UpstreamLink& link_;
  Event wake_writer_;
  SessionPtr session_up_;
  std::int32_t stream_id_ = -1;
  bool done_ = false;
  Fields fields_, trailer_fields_, response_fields_, response_trailers_;
};

asio::awaitable<void> Session::forward_h2c(Stream& s, const http::Head& out, bool te_trailers) {
  UpstreamLink& link = s.upstream->link;
  H2cCall call(*this, s, link);
  co_await call.run(out, te_trailers);
}

void Session::consume(Stream& s, std::size_t n) {
  nghttp2_session_consume(session_.get(), s.id, n);
  wake_writer_.notify();
}

}  // namespace gatehouse::proxy::h2
