// The nghttp2 callbacks of a Session: streams are made and filled here, the abuse limits are
// counted here (token buckets for resets and control frames, the header-list check), and the
// response body is handed to nghttp2 from the stream's buffer. No callback calls back into
// nghttp2's receiving or sending; those that submit (GOAWAY, trailers) are allowed to.
#include <cstring>

#include "proxy/h2/session.hpp"

namespace gatehouse::proxy::h2 {
namespace {

Session& self_of(void* p) { return *static_cast<Session*>(p); }

}  // namespace

bool Session::control_frame() {
  if (control_.take()) return true;
  go_away(NGHTTP2_ENHANCE_YOUR_CALM, Close::abuse,
          "more than " + std::to_string(facts_.http.http2.max_control_frames_per_second) +
              " control frames a second (PING, SETTINGS, PRIORITY, empty DATA)");
  return false;
}

int Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* p) {
  Session& s = self_of(p);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const HeadLimits limits{static_cast<std::size_t>(s.facts_.http.max_head_size),
                          static_cast<std::size_t>(s.facts_.http.max_headers)};
  s.streams_.emplace(frame->hd.stream_id,
                     std::make_unique<Stream>(frame->hd.stream_id, limits, s.client_.socket().get_executor()));
  return 0;
}

int Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
  Session& s = self_of(p);
  Stream* stream = s.find(frame->hd.stream_id);
  if (!stream) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {  // trailers
    const auto most = static_cast<std::size_t>(s.facts_.http.max_headers);  // bounded like a head
    if (http::trailer_allowed(n, s.facts_.http) && stream->request_trailers.size() < most)
      stream->request_trailers.push_back({std::string(n), std::string(v)});
    return 0;
  }
  if (stream->request.add(n, v) || !stream->request.a_bomb()) return 0;  // just over: 431 once complete
  // Four times over the limits: an HPACK bomb (a few bytes each, expanded from the table). Decoding stops.
  s.go_away(NGHTTP2_ENHANCE_YOUR_CALM, Close::abuse,
            "a header list four times over max_head_size (" + std::to_string(s.facts_.http.max_head_size) +
                " bytes) or max_headers (" + std::to_string(s.facts_.http.max_headers) + ")");
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

int Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
  Session& s = self_of(p);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && !s.control_frame()) return 0;
      break;
    case NGHTTP2_PRIORITY:
      if (!s.control_frame()) return 0;
      break;
    case NGHTTP2_RST_STREAM:
      if (!s.resets_.take()) {
        s.go_away(NGHTTP2_ENHANCE_YOUR_CALM, Close::abuse,
                  "more than " + std::to_string(s.facts_.http.http2.max_resets_per_second) +
                      " streams reset a second (rapid reset)");
        return 0;
      }
      break;
    case NGHTTP2_DATA:
      if (frame->hd.length == 0 && !end_stream && !s.control_frame()) return 0;
      break;
    default:
      break;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  Stream* stream = s.find(frame->hd.stream_id);
  if (!stream) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    stream->request_ended = end_stream;
    s.ready_.push_back(stream);
    return 0;
  }
  if (end_stream) {
    stream->request_ended = true;
    stream->body_ready.notify();
  }
  return 0;
}

int Session::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t len, void* p) {
  Session& s = self_of(p);
  Stream* stream = s.find(stream_id);
  if (stream && stream->body_wanted && !stream->closed) {
    stream->body.append(reinterpret_cast<const char*>(data), len);
    stream->bytes_in += len;
    stream->body_ready.notify();
    return 0;
  }
  // Nobody reads it (an answered or closed stream): its window comes back at once.
  nghttp2_session_consume(session, stream_id, len);
  return 0;
}

int Session::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code, void* p) {
  Session& s = self_of(p);
  Stream* stream = s.find(stream_id);
  if (!stream) return 0;
  stream->closed = true;
  stream->reset_code = code;
  if (!stream->task_done) {
    stream->cancel_upstream();
    stream->body_ready.notify();
    stream->room.notify();
  }
  const bool was_served = stream->task_started;
  s.forget_if_done(*stream);
  if (was_served) s.note_idle();  // its response is out: the connection may now be idle
  return 0;
}

ssize_t Session::read_response(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                               std::size_t length, std::uint32_t* flags, nghttp2_data_source* source, void*) {
  Stream& s = *static_cast<Stream*>(source->ptr);
  const std::size_t n = std::min(length, s.buffered());
  std::memcpy(buf, s.out.data() + s.out_pos, n);
  s.out_pos += n;
  if (s.out_pos == s.out.size()) {
    s.out.clear();
    s.out_pos = 0;
  }
  if (n > 0) s.room.notify();
  if (n == 0 && !s.out_done) return NGHTTP2_ERR_DEFERRED;
  if (s.out_done && s.buffered() == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s.trailers_out.empty()) {
      std::vector<nghttp2_nv> nv;
      for (auto& f : s.trailers_out)
        nv.push_back({reinterpret_cast<std::uint8_t*>(f.name.data()), reinterpret_cast<std::uint8_t*>(f.value.data()),
                      f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
      if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace gatehouse::proxy::h2
