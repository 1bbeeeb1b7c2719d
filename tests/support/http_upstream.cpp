#include "tests/support/http_upstream.hpp"

#include <llhttp.h>
#include <openssl/base64.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>

namespace gatehouse::test {

struct HttpUpstream::State {
  mutable std::mutex mutex;
  std::vector<ReceivedRequest> requests;
  std::string first_bytes;
  int connections = 0;
};

const std::string* ReceivedRequest::header(const std::string& name) const {
  for (const auto& [n, v] : headers)
    if (strcasecmp(n.c_str(), name.c_str()) == 0) return &v;
  return nullptr;
}

int ReceivedRequest::count(const std::string& name) const {
  int c = 0;
  for (const auto& [n, v] : headers) c += strcasecmp(n.c_str(), name.c_str()) == 0;
  return c;
}

namespace {

struct Conn {
  int fd;
  int number;
  HttpUpstream* owner;
  ReceivedRequest current;
  bool in_value = false;
  bool done = false;
  SHA256_CTX sha;
};

std::string accept_key(const std::string& key) {
  std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const uint8_t*>(text.data()), text.size(), digest);
  uint8_t out[64];
  size_t n = EVP_EncodeBlock(out, digest, sizeof digest);
  return std::string(reinterpret_cast<char*>(out), n);
}

bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Echoes WebSocket frames (payloads under 64 KiB) until a close frame or EOF.
void websocket_echo(int fd) {
  for (;;) {
    uint8_t h[2];
    if (!read_exact(fd, h, 2)) return;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
      uint8_t l[2];
      if (!read_exact(fd, l, 2)) return;
      len = static_cast<uint64_t>(l[0] << 8 | l[1]);
    }
    uint8_t mask[4] = {0, 0, 0, 0};
    if ((h[1] & 0x80) && !read_exact(fd, mask, 4)) return;
    std::string payload(len, '\0');
    if (!read_exact(fd, reinterpret_cast<uint8_t*>(payload.data()), len)) return;
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    std::string frame;
    frame += static_cast<char>(h[0]);
    if (len < 126) {
      frame += static_cast<char>(len);
    } else {
      frame += static_cast<char>(126);
      frame += static_cast<char>(len >> 8);
      frame += static_cast<char>(len & 0xff);
    }
    write_all_fd(fd, frame + payload);
    if ((h[0] & 0x0f) == 0x8) return;  // close
  }
}

}  // namespace

HttpUpstream::HttpUpstream() : state_(std::make_shared<State>()) {
  auto state = state_;
  server_ = std::make_unique<TestUpstream>([state](int fd) {
    int number;
    {
      std::lock_guard lock(state->mutex);
      number = ++state->connections;
    }
    Conn conn{fd, number, nullptr, {}, false, false, {}};
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) {
      auto& c = *static_cast<Conn*>(p->data);
      c.current = ReceivedRequest{};
      c.current.connection = c.number;
      c.in_value = false;
      SHA256_Init(&c.sha);
      return 0;
    };
    s.on_url = [](llhttp_t* p, const char* at, size_t n) {
      static_cast<Conn*>(p->data)->current.target.append(at, n);
      return 0;
    };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
      auto& c = *static_cast<Conn*>(p->data);
      if (c.current.headers.empty() || c.in_value) c.current.headers.emplace_back();
      c.in_value = false;
      c.current.headers.back().first.append(at, n);
      return 0;
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
      auto& c = *static_cast<Conn*>(p->data);
      c.in_value = true;
      c.current.headers.back().second.append(at, n);
      return 0;
    };
    s.on_header_value_complete = [](llhttp_t* p) {  // also ends a field with an empty value
      static_cast<Conn*>(p->data)->in_value = true;
      return 0;
    };
    s.on_headers_complete = [](llhttp_t* p) {
      auto& c = *static_cast<Conn*>(p->data);
      c.current.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
      const std::string* expect = c.current.header("expect");
      if (expect && strcasecmp(expect->c_str(), "100-continue") == 0)
        write_all_fd(c.fd, "HTTP/1.1 100 Continue\r\n\r\n");
      return 0;
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t n) {
      auto& c = *static_cast<Conn*>(p->data);
      c.current.body_bytes += n;
      SHA256_Update(&c.sha, at, n);
      return 0;
    };
    s.on_message_complete = [](llhttp_t* p) -> int {
      auto& c = *static_cast<Conn*>(p->data);
      uint8_t digest[SHA256_DIGEST_LENGTH];
      SHA256_Final(digest, &c.sha);
      static const char* hex = "0123456789abcdef";
      for (uint8_t b : digest) c.current.body_sha256 += std::string{hex[b >> 4], hex[b & 15]};
      c.done = true;
      return HPE_PAUSED;
    };
    llhttp_t parser;
    llhttp_init(&parser, HTTP_REQUEST, &s);
    parser.data = &conn;
    std::string pending;
    bool skipped_proxy = false;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      {
        std::lock_guard lock(state->mutex);
        if (number == 1 && state->first_bytes.size() < 8192) state->first_bytes.append(buf, static_cast<size_t>(n));
      }
      pending.append(buf, static_cast<size_t>(n));
      if (!skipped_proxy) {  // a PROXY v2 header first: recorded above, skipped here
        static const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);
        if (pending.size() < 16 && kSig.compare(0, pending.size(), pending) == 0) continue;
        if (pending.compare(0, 12, kSig) == 0) {
          size_t len = 16 + (static_cast<uint8_t>(pending[14]) << 8 | static_cast<uint8_t>(pending[15]));
          if (pending.size() < len) continue;
          pending.erase(0, len);
        }
        skipped_proxy = true;
      }
      while (!pending.empty()) {
        conn.done = false;
        auto err = llhttp_execute(&parser, pending.data(), pending.size());
        size_t used = pending.size();
        if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
          used = static_cast<size_t>(llhttp_get_error_pos(&parser) - pending.data());
          llhttp_resume(&parser);
        } else if (err != HPE_OK) {
          return;
        }
        pending.erase(0, used);
        if (!conn.done) break;
        {
          std::lock_guard lock(state->mutex);
          state->requests.push_back(conn.current);
        }
        const ReceivedRequest& r = conn.current;
        const std::string* upgrade = r.header("upgrade");
        if (upgrade && strcasecmp(upgrade->c_str(), "websocket") == 0) {
          const std::string* key = r.header("sec-websocket-key");
          write_all_fd(fd,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " +
                           accept_key(key ? *key : "") + "\r\n\r\n");
          websocket_echo(fd);
          return;
        }
        nlohmann::json j{{"connection", r.connection}, {"method", r.method},           {"target", r.target},
                         {"body_bytes", r.body_bytes}, {"body_sha256", r.body_sha256}, {"headers", r.headers}};
        std::string body = j.dump() + "\n";
        bool keep = llhttp_should_keep_alive(&parser);
        write_all_fd(
            fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    (keep ? "" : "\r\nConnection: close") + "\r\n\r\n" + (r.method == "HEAD" ? "" : body));
        if (!keep) {
          ::shutdown(fd, SHUT_WR);
          return;
        }
      }
    }
  });
}

std::vector<ReceivedRequest> HttpUpstream::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::string HttpUpstream::first_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->first_bytes;
}

}  // namespace gatehouse::test
