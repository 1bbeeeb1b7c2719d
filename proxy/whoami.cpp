#include "proxy/whoami.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/deadline.hpp"

namespace gatehouse::proxy {
namespace {

constexpr size_t kMaxHead = 16 * 1024;

bool wants_json(std::string head) {
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto accept = head.find("\naccept:");
  return accept != std::string::npos && head.find("application/json", accept) < head.find('\n', accept + 1);
}

void add_list(std::string& out, const char* label, const std::vector<std::string>& values) {
  for (const auto& v : values) out += std::string(label) + v + "\n";
}

nlohmann::ordered_json identity_json(const tls::PeerIdentity& id, const std::string& tls_version,
                                     const std::string& cipher) {
  return nlohmann::ordered_json{{"subject", id.subject},
                                {"issuer", id.issuer},
                                {"cn", id.cn},
                                {"o", id.o},
                                {"ou", id.ou},
                                {"dns", id.dns},
                                {"email", id.email},
                                {"uri", id.uri},
                                {"ip", id.ip},
                                {"serial", id.serial},
                                {"fingerprint_sha256", id.fingerprint},
                                {"not_after", tls::iso8601(id.not_after)},
                                {"tls_version", tls_version},
                                {"cipher", cipher}};
}

}  // namespace

std::string whoami_body(const tls::PeerIdentity& id, const std::string& tls_version, const std::string& cipher,
                        bool json) {
  if (json)
    return identity_json(id, tls_version, cipher).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::string out =
      "Hello, " + (id.cn.empty() ? id.subject : id.cn) + "! Gatehouse verified your client certificate.\n\n";
  out += "subject:     " + id.subject + "\n";
  out += "issuer:      " + id.issuer + "\n";
  out += "serial:      " + id.serial + "\n";
  out += "sha256:      " + id.fingerprint + "\n";
  out += "valid until: " + tls::iso8601(id.not_after) + "\n";
  add_list(out, "dns:         ", id.dns);
  add_list(out, "email:       ", id.email);
  add_list(out, "uri:         ", id.uri);
  add_list(out, "ip:          ", id.ip);
  out += "tls:         " + tls_version + " " + cipher + "\n";
  return out;
}

std::string whoami_http_body(const tls::PeerIdentity& id, const std::string& tls_version, const std::string& cipher,
                             const HeaderList& received, bool json) {
  if (json) {
    auto j = identity_json(id, tls_version, cipher);
    auto& headers = j["request_headers"] = nlohmann::ordered_json::array();
    for (const auto& [name, value] : received) headers.push_back({name, value});
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out = whoami_body(id, tls_version, cipher, false);
  out += "\nThe request headers Gatehouse sent to this upstream:\n";
  for (const auto& [name, value] : received) out += "  " + name + ": " + value + "\n";
  return out;
}

asio::awaitable<WhoamiResult> serve_whoami(tls::Stream& client, const tls::PeerIdentity& identity,
                                           const tls::SessionFacts& session, conf::Duration idle_timeout) {
  WhoamiResult result;
  Deadline deadline(client.socket().get_executor());
  deadline.arm(idle_timeout, [&client] { cancel_io(client.socket()); });
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    auto [ec, n] = co_await client.read_some(buf, sizeof buf);
    if (ec) {
      result.close = deadline.fired()         ? Close::idle_timeout
                     : ec == asio::error::eof ? Close::client_closed
                                              : Close::client_error;
      co_return result;
    }
    head.append(buf, n);
    result.bytes_in += n;
    if (head.size() > kMaxHead) {
      result.close = Close::request_too_large;
      co_return result;
    }
  }
  std::string body = whoami_body(identity, session.version, session.cipher, wants_json(head));
  std::string response = "HTTP/1.1 200 OK\r\nContent-Type: " +
                         std::string(wants_json(head) ? "application/json" : "text/plain; charset=utf-8") +
                         "\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\nServer: gatehouse\r\n\r\n" + body;
  auto ec = co_await client.write_all(response.data(), response.size());
  if (!ec) {
    result.bytes_out = response.size();
    co_await client.close_send();
  }
  deadline.disarm();
  result.close = ec ? Close::client_error : Close::done;
  co_return result;
}

}  // namespace gatehouse::proxy
