#include "proxy/http/rewrite.hpp"

#include "tls/identity.hpp"

namespace gatehouse::proxy::http {
namespace {

bool hop_by_hop(const Header& h, const std::string* connection) {
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "trailer"})
    if (iequals(h.name, name)) return true;
  // Headers the sender listed in Connection are hop-by-hop too (RFC 9110 7.6.1).
  return connection && has_token(*connection, h.name);
}

std::string version(const Head& h) { return "HTTP/" + std::to_string(h.major) + "." + std::to_string(h.minor); }

}  // namespace

std::string request_host(const Head& request) {
  std::string host;
  // An absolute-form target's authority wins over Host (RFC 9112 3.2.2): an upstream routes by it.
  if (auto scheme = request.target.find("://"); scheme != std::string::npos && !request.target.starts_with("/")) {
    host = request.target.substr(scheme + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    host = host.substr(host.find('@') == std::string::npos ? 0 : host.find('@') + 1);
  } else if (const std::string* h = request.find("host")) {
    host = *h;
  }
  if (!host.empty() && host.front() == '[') {  // [::1]:8443
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  if (!host.empty() && host.back() == '.') host.pop_back();
  return tls::ascii_lower(host);
}

Head upstream_request(const Head& request, bool keep_alive, bool upgrade, const conf::IdentityHeaderSettings& settings,
                      const ForwardFacts& facts) {
  Head out;
  out.method = request.method;
  out.target = request.target;
  out.major = request.major;
  out.minor = request.minor;
  const std::string* connection = request.find("connection");
  for (const auto& h : request.headers) {
    if (is_client_identity_header(h.name)) continue;
    if (hop_by_hop(h, connection) && !(upgrade && iequals(h.name, "upgrade"))) continue;
    out.headers.push_back(h);
  }
  if (upgrade) out.headers.push_back({"Connection", "upgrade"});
  else if (!keep_alive) out.headers.push_back({"Connection", "close"});
  else if (request.minor == 0) out.headers.push_back({"Connection", "keep-alive"});
  const std::string* host = request.find("host");
  append_identity_headers(out.headers, settings, facts, host ? *host : "");
  return out;
}

std::string serialize_request(const Head& head) {
  std::string out = head.method + " " + head.target + " " + version(head) + "\r\n";
  for (const auto& h : head.headers) out += h.name + ": " + h.value + "\r\n";
  return out + "\r\n";
}

std::string serialize_response(const Head& response, bool close, bool upgrade) {
  std::string out = version(response) + " " + std::to_string(response.status) + " " + response.reason + "\r\n";
  const std::string* connection = response.find("connection");
  for (const auto& h : response.headers) {
    if (hop_by_hop(h, connection) && !(upgrade && iequals(h.name, "upgrade"))) continue;
    out += h.name + ": " + h.value + "\r\n";
  }
  if (upgrade) out += "Connection: upgrade\r\n";
  else if (response.status < 200) {}  // an interim response says nothing about the connection
  else if (close) out += "Connection: close\r\n";
  else if (response.minor == 0) out += "Connection: keep-alive\r\n";
  return out + "\r\n";
}

}  // namespace gatehouse::proxy::http
