#include "bench/h2_load.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/h2/nghttp2_ptr.hpp"

namespace gatehouse::bench {
namespace {

using Clock = std::chrono::steady_clock;
using proxy::h2::CallbacksPtr;
using proxy::h2::SessionPtr;
constexpr std::chrono::milliseconds kStallTimeout{std::chrono::seconds(10)};
// A unary call's request message: uncompressed (flag 0), 0 bytes long (an empty protobuf message).
constexpr std::array<std::uint8_t, 5> kEmptyMessage{0, 0, 0, 0, 0};
constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

// How a stream ended.
struct Outcome {
  bool ok = false;
  std::string error;  // its kind when not ok
};

struct Field {
  std::string name, value;
};

class H2Connection {
  struct Request {
    Clock::time_point started = Clock::now();
    int status = 0;
    std::string grpc_status;  // empty: none came
    bool reset = false;       // the server sent RST_STREAM
    std::size_t body_sent = 0;  // grpc: bytes of the request message sent
  };

 public:
  H2Connection(const LoadOptions& o, LoadControl& control, LoadStats& stats)
      : o_(o), control_(control), stats_(stats) {}

  asio::awaitable<bool> run(tls::Stream& stream, Deadline& deadline) {
    const unsigned char* chosen = nullptr;
    unsigned chosen_size = 0;
    SSL_get0_alpn_selected(stream.ssl(), &chosen, &chosen_size);
    if (std::string_view(reinterpret_cast<const char*>(chosen), chosen_size) != "h2") {
      error("alpn: the server did not choose h2");
      co_return false;
    }
    if (!set_up()) {
      error("h2: could not start a client session");
      co_return false;
    }
    std::array<std::uint8_t, 16 * 1024> in;
    std::string out;
    for (;;) {
      open_streams();
      out.clear();
      for (;;) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
        if (n < 0) co_return fail("h2: " + std::string(nghttp2_strerror(static_cast<int>(n))));
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (!out.empty()) {
        if (auto ec = co_await stream.write_all(out.data(), out.size())) co_return fail("connection: write failed");
        if (control_.measuring) stats_.bytes_sent += out.size();
      }
      if (open_.empty() && !may_open()) break;  // this connection's requests are done
      deadline.arm(kStallTimeout, [&stream] { stream.socket().cancel(); });
      auto [ec, n] = co_await stream.read_some(in.data(), in.size());
      if (ec)
        co_return fail(deadline.fired()                  ? "timeout: response"
                       : ec == asio::error::eof          ? "connection: closed by the server"
                       : !stream.last_error().empty()    ? "tls: " + stream.last_error()
                                                         : "connection: " + ec.message());
      if (control_.measuring) stats_.bytes_received += n;
      const ssize_t used = nghttp2_session_mem_recv(session_.get(), in.data(), n);
      if (used < 0) co_return fail("h2: " + std::string(nghttp2_strerror(static_cast<int>(used))));
    }
    deadline.disarm();
    co_return goaway_code_ <= NGHTTP2_NO_ERROR;  // none, or a gentle one; a fault's: back off before the next
  }

 private:
  bool set_up() {
    nghttp2_session_callbacks* cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) return false;
    CallbacksPtr callbacks(cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &H2Connection::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &H2Connection::on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &H2Connection::on_stream_close);
    nghttp2_session* raw = nullptr;
    if (nghttp2_session_client_new(&raw, cb, this) != 0) return false;
    session_.reset(raw);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
    const std::string authority = o_.sni.empty() ? o_.host + ":" + o_.port : o_.sni;
    fields_ = {{":method", o_.mode == Mode::grpc ? "POST" : "GET"},
               {":scheme", "https"},
               {":authority", authority},
               {":path", o_.path}};
    if (o_.mode == Mode::grpc) {
      fields_.push_back({"content-type", "application/grpc"});
      fields_.push_back({"te", "trailers"});
    }
    for (auto& f : fields_)
      nv_.push_back({reinterpret_cast<std::uint8_t*>(f.name.data()), reinterpret_cast<std::uint8_t*>(f.value.data()),
                     f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
    return true;
  }

  bool may_open() const {
    return !control_.stop && goaway_code_ < 0 && !exhausted_ &&
           (o_.requests_per_connection == 0 || sent_ < o_.requests_per_connection);
  }

  void open_streams() {
    while (may_open() && open_.size() < static_cast<std::size_t>(o_.streams)) {
      // -n: the threads together send exactly max_operations requests.
      if (control_.max_operations && control_.claimed.fetch_add(1) >= control_.max_operations) {
        exhausted_ = true;
        return;
      }
      nghttp2_data_provider body{};
      body.read_callback = &H2Connection::read_body;
      const std::int32_t id = nghttp2_submit_request(session_.get(), nullptr, nv_.data(), nv_.size(),
                                                     o_.mode == Mode::grpc ? &body : nullptr, nullptr);
      if (id < 0) {  // stream ids used up (2^30 of them): the next connection goes on
        if (control_.max_operations) control_.claimed.fetch_sub(1);
        exhausted_ = true;
        return;
      }
      ++sent_;
      open_[id] = Request{};
    }
  }

  // The connection failed: each stream still open ends with that error.
  bool fail(const std::string& kind) {
    while (!open_.empty()) finish(open_.begin()->first, Outcome{false, kind});
    return false;
  }

  void error(const std::string& kind) {
    if (control_.measuring) ++stats_.errors[kind];
  }

  void finish(std::int32_t id, const Outcome& outcome) {
    auto it = open_.find(id);
    if (it == open_.end()) return;
    const auto started = it->second.started;
    open_.erase(it);
    const std::uint64_t settled = control_.progress.fetch_add(1, std::memory_order_relaxed) + 1;
    if (control_.measuring) {
      if (outcome.ok) {
        ++stats_.operations;
        stats_.latency.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()));
      } else {
        ++stats_.errors[outcome.error];
      }
    }
    if (control_.max_operations && settled >= control_.max_operations) control_.stop = true;
  }

  Outcome judge(const Request& r, std::uint32_t code) const;

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* self) {
    auto& c = *static_cast<H2Connection*>(self);
    auto it = c.open_.find(frame->hd.stream_id);
    if (frame->hd.type != NGHTTP2_HEADERS || it == c.open_.end()) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") it->second.status = std::atoi(std::string(v).c_str());
    if (n == "grpc-status") it->second.grpc_status = std::string(v);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto& c = *static_cast<H2Connection*>(self);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c.goaway_code_ = static_cast<std::int64_t>(frame->goaway.error_code);
      c.error(std::string("goaway: ") + nghttp2_http2_strerror(frame->goaway.error_code));
    } else if (frame->hd.type == NGHTTP2_RST_STREAM) {
      if (auto it = c.open_.find(frame->hd.stream_id); it != c.open_.end()) it->second.reset = true;
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* self) {
    auto& c = *static_cast<H2Connection*>(self);
    if (auto it = c.open_.find(id); it != c.open_.end()) c.finish(id, c.judge(it->second, code));
    return 0;
  }

  // The message, as much as nghttp2 may send now (all 5 bytes, unless a window is nearly shut).
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* self) {
    auto& c = *static_cast<H2Connection*>(self);
    auto it = c.open_.find(id);
    const std::size_t from = it == c.open_.end() ? kEmptyMessage.size() : it->second.body_sent;
    const std::size_t n = std::min(length, kEmptyMessage.size() - from);
    std::memcpy(buf, kEmptyMessage.data() + from, n);
    if (it != c.open_.end()) it->second.body_sent += n;
    if (from + n == kEmptyMessage.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  const LoadOptions& o_;
  LoadControl& control_;
  LoadStats& stats_;
  std::vector<Field> fields_;
  std::vector<nghttp2_nv> nv_;  // point into fields_
  std::map<std::int32_t, Request> open_;
  std::uint64_t sent_ = 0;
  std::int64_t goaway_code_ = -1;  // the server's GOAWAY, once it came
  bool exhausted_ = false;         // -n reached, or no stream ids left
  SessionPtr session_;             // last: deleted first, while what its callbacks touch exists
};

Outcome H2Connection::judge(const Request& r, std::uint32_t code) const {
  if (r.reset) return {false, std::string("rst_stream: ") + nghttp2_http2_strerror(code)};
  if (code != NGHTTP2_NO_ERROR) return {false, std::string("closed: ") + nghttp2_http2_strerror(code)};
  if (o_.mode == Mode::grpc) {
    if (r.status != 200) return {false, "status: " + std::to_string(r.status)};
    if (r.grpc_status.empty()) return {false, "grpc-status: missing"};
    if (r.grpc_status != "0") return {false, "grpc-status: " + r.grpc_status};
    return {true, ""};
  }
  if (r.status < 200 || r.status > 299) return {false, "status: " + std::to_string(r.status)};
  return {true, ""};
}

}  // namespace

bool offer_h2(SSL_CTX* ctx) { return SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof kAlpnH2) == 0; }

asio::awaitable<bool> run_h2_connection(tls::Stream& stream, Deadline& deadline, const LoadOptions& options,
                                        LoadControl& control, LoadStats& stats) {
  H2Connection connection(options, control, stats);
  co_return co_await connection.run(stream, deadline);
}

}  // namespace gatehouse::bench
