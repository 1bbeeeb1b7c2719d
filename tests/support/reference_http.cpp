#include "tests/support/reference_http.hpp"

#include <openssl/base64.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace gatehouse::test {
namespace {

std::string websocket_accept(const std::string& key) {
  std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const uint8_t*>(in.data()), in.size(), digest);
  std::string out(64, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), digest, sizeof digest));
  return out;
}

}  // namespace

RecordingUpstream::RecordingUpstream() : state_(std::make_shared<State>()) {
  auto state = state_;
  server_ = std::make_unique<TestUpstream>([state](int fd) {
    auto conn = std::make_shared<Connection>();
    {
      std::lock_guard lock(state->mutex);
      state->connections.push_back(conn);
    }
    auto finish = [&] {
      std::lock_guard lock(state->mutex);
      conn->open = false;
      state->cv.notify_all();
    };
    std::string buf;
    std::size_t pos = 0;
    bool tunnel = false, stop = false;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      std::string got(chunk, static_cast<std::size_t>(n));
      std::string answer;
      {
        std::lock_guard lock(state->mutex);
        conn->bytes += got;
        if (tunnel) {
          answer = got;
        } else {
          buf += got;
          for (;;) {
            RefRequest r;
            std::string why;
            auto res = ref_parse(buf, pos, r, why);
            if (res == RefResult::incomplete) break;
            if (res == RefResult::invalid) {
              conn->error = why;
              stop = true;
              break;
            }
            conn->requests.push_back(r);
            if (r.upgrade) {
              auto key = r.all("sec-websocket-key");
              if (r.target.starts_with("/wrong-upgrade"))
                answer += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
              else
                answer += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + r.all("upgrade").front() +
                          "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                          websocket_accept(key.empty() ? "" : key.front()) + "\r\n\r\n";
              answer += buf.substr(pos);
              tunnel = true;
              break;
            }
            bool close = false;
            for (const auto& c : r.all("connection")) close |= field_has_token(c, "close");
            if (r.version == "HTTP/1.0") {
              bool keep = false;
              for (const auto& c : r.all("connection")) keep |= field_has_token(c, "keep-alive");
              close |= !keep;
            }
            answer += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n" +
                      std::string(close ? "Connection: close\r\n" : "") + "\r\nok";
            if (close) {
              stop = true;
              break;
            }
          }
          buf.erase(0, pos);
          pos = 0;
        }
      }
      if (!answer.empty() && !write_all_fd(fd, answer)) break;
      if (stop) {
        ::shutdown(fd, SHUT_WR);
        break;
      }
    }
    {
      std::lock_guard lock(state->mutex);
      if (!tunnel) conn->leftover = buf.substr(pos);
    }
    if (!stop) ::shutdown(fd, SHUT_WR);
    read_until_eof(fd);  // the peer's close ends it
    finish();
  });
}

RecordingUpstream::~RecordingUpstream() { server_.reset(); }

std::vector<RecordingUpstream::Connection> RecordingUpstream::connections() const {
  std::lock_guard lock(state_->mutex);
  std::vector<Connection> out;
  for (const auto& c : state_->connections) out.push_back(*c);
  return out;
}

void RecordingUpstream::clear() {
  std::lock_guard lock(state_->mutex);
  std::erase_if(state_->connections, [](const auto& c) { return !c->open; });
}

bool RecordingUpstream::wait_all_closed(int timeout_ms) const {
  std::unique_lock lock(state_->mutex);
  return state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return std::none_of(state_->connections.begin(), state_->connections.end(), [](const auto& c) { return c->open; });
  });
}

}  // namespace gatehouse::test
