#include "proxy/admin/admin_guard.hpp"

#include <cctype>

namespace gatehouse::proxy::admin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "127.0.0.1:9901" -> "127.0.0.1"; "[::1]:9901" -> "::1"; "localhost" -> "localhost".
std::string host_without_port(std::string_view host) {
  if (host.starts_with('[')) {
    auto end = host.find(']');
    return end == std::string_view::npos ? std::string(host) : std::string(host.substr(1, end - 1));
  }
  auto colon = host.find(':');
  return std::string(host.substr(0, colon));
}

bool is_loopback_name(const std::string& host) {
  if (host == "localhost" || host == "localhost.") return true;
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();  // 127.0.0.0/8 and ::1
}

bool same_address(const std::string& host, const asio::ip::address& local) {
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  auto plain = [](const asio::ip::address& a) {
    return a.is_v6() && a.to_v6().is_v4_mapped()
               ? asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()))
               : a;
  };
  return plain(address) == plain(local);
}

bool is_unspecified(const std::string& host) {
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_unspecified();
}

bool acceptable_host(const std::string& host, const AdminSelf& self) {
  if (is_loopback_name(host)) return true;
  if (!is_unspecified(self.configured_host) && host == lower(self.configured_host)) return true;
  return same_address(host, self.local);  // e.g. a Kubernetes probe to the pod's IP
}

bool changes_state(const std::string& method) { return method != "GET" && method != "HEAD"; }

}  // namespace

AdminVerdict judge_admin_request(const http::Head& head, const AdminSelf& self) {
  int hosts = 0;
  for (const auto& h : head.headers) hosts += http::iequals(h.name, "Host") ? 1 : 0;
  if (hosts > 1) return AdminVerdict::several_hosts;
  const std::string* host = head.find("Host");
  // No Host: not a browser (every browser sends one), so no rebinding to fear.
  if (host && !acceptable_host(lower(host_without_port(*host)), self)) return AdminVerdict::foreign_host;
  if (const std::string* origin = head.find("Origin")) {
    // Our own origin is the scheme and the Host this very request was sent to.
    if (!host || lower(*origin) != "http://" + lower(*host)) return AdminVerdict::foreign_origin;
  }
  if (changes_state(head.method)) {
    const std::string* marker = head.find(kAdminHeader);
    if (!marker || *marker != "1") return AdminVerdict::missing_admin_header;
  }
  return AdminVerdict::allowed;
}

std::string admin_refusal_words(AdminVerdict verdict, const http::Head& head) {
  const std::string* host = head.find("Host");
  const std::string* origin = head.find("Origin");
  switch (verdict) {
    case AdminVerdict::allowed:
      return "";
    case AdminVerdict::several_hosts:
      return "refused: the request has several Host headers; send one\n";
    case AdminVerdict::foreign_host:
      return "refused: the admin listener answers only to localhost, a loopback address or its own address, "
             "not to Host '" +
             (host ? *host : "") +
             "' (a web page may be trying to reach it through DNS "
             "rebinding); use http://127.0.0.1:PORT/ or the address in [admin] listen\n";
    case AdminVerdict::foreign_origin:
      return "refused: the request comes from the web page of another site (Origin '" + (origin ? *origin : "") +
             "'); the admin listener only answers its own origin\n";
    case AdminVerdict::missing_admin_header:
      return "refused: " + head.method + " " + head.target + " changes Gatehouse's state and needs the header '" +
             std::string(kAdminHeader) + ": 1' (e.g. curl -X POST -H '" + std::string(kAdminHeader) +
             ": 1' http://127.0.0.1:9901/reload), which a web page cannot send to another site\n";
  }
  return "refused\n";
}

}  // namespace gatehouse::proxy::admin
