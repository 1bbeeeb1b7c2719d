// Who may talk to the admin listener. It has no authentication, so it must not be reachable from
// a web page on the operator's machine: DNS rebinding (a page whose name now resolves to
// 127.0.0.1) sends a foreign Host; a cross-site fetch or form post carries a foreign Origin; and
// a state-changing request must carry X-Gatehouse-Admin, which no page can add to a cross-site
// request without a CORS preflight that we never grant.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/http_message.hpp"

namespace gatehouse::proxy::admin {

inline constexpr std::string_view kAdminHeader = "X-Gatehouse-Admin";

enum class AdminVerdict : std::uint8_t {
  allowed,
  several_hosts,        // two Host headers: which one would a browser have meant?
  foreign_host,         // not loopback, not our configured host, not the address the request came to
  foreign_origin,       // a browser says the request comes from another site
  missing_admin_header  // a state-changing request without X-Gatehouse-Admin: 1
};

// What the admin listener knows about itself.
struct AdminSelf {
  std::string configured_host;  // the host of [admin] listen: "127.0.0.1", "0.0.0.0", "admin.internal"
  asio::ip::address local;      // the address this connection arrived at (for a wildcard listen)
};

AdminVerdict judge_admin_request(const http::Head& head, const AdminSelf& self);
// The 403 body for a refusal, in plain words.
std::string admin_refusal_words(AdminVerdict verdict, const http::Head& head);

}  // namespace gatehouse::proxy::admin
