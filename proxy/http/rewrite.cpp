#include "proxy/http/rewrite.hpp"

#include <cstdio>

#include <algorithm>

#include "tls/identity.hpp"

namespace gatehouse::proxy::http {
namespace {

RequestRefusal bad(std::string message) { return {400, Close::bad_request, std::move(message)}; }

std::string version(const Head& h) { return "HTTP/" + std::to_string(h.major) + "." + std::to_string(h.minor); }

// Host names as DNS and certificates know them (RFC 3986 also allows sub-delims and
// percent-encoding in a reg-name; no route can match those, and upstreams split on ',' ';' '=').
bool host_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; }

bool valid_port(std::string_view port) {
  return !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos &&
         std::stoul(std::string(port)) <= 65535;
}

// A protocol in Upgrade is "name" or "name/version"; policy speaks of names.
std::string protocol_name(std::string_view p) { return tls::ascii_lower(std::string(p.substr(0, p.find('/')))); }

bool allowed_upgrade(const std::string& name, const conf::HttpSettings& http) {
  if (name == "h2c") return false;  // HTTP/2 over cleartext would be a stream Gatehouse never reads
  return std::any_of(http.upgrade_protocols.begin(), http.upgrade_protocols.end(),
                     [&](const std::string& p) { return tls::ascii_lower(p) == name; });
}

// Splits an absolute-form target into its authority and its origin-form rest.
bool split_absolute(const std::string& target, std::string& authority, std::string& rest) {
  auto scheme_end = target.find("://");
  if (scheme_end == std::string::npos) return false;
  std::string scheme = tls::ascii_lower(target.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  auto start = scheme_end + 3;
  auto end = target.find_first_of("/?#", start);
  authority = target.substr(start, end == std::string::npos ? std::string::npos : end - start);
  rest = end == std::string::npos ? "" : target.substr(end);
  if (!rest.empty() && rest.front() == '?') rest = "/" + rest;
  return true;
}

// Connection may list hop-by-hop fields only: naming one that frames, routes or identifies would
// make the next hop drop what Gatehouse checked.
std::string connection_problem(const Head& request) {
  for (const auto& f : request.headers) {
    if (!iequals(f.name, "connection")) continue;
    for (auto token : split_list(f.value)) {
      std::string n = normalized_field_name(token);
      if (n == "close" || n == "keep-alive" || n == "upgrade") continue;
      if (n == "content-length" || n == "transfer-encoding" || n == "host" || n == "te" || n == "trailer" ||
          is_client_identity_header(n))
        return "Connection may not name \"" + std::string(token) + "\"";
    }
  }
  return "";
}

bool hop_by_hop(const Header& h, const Head& message) {
  if (is_framing_or_hop_header(h.name)) return true;
  // Fields the sender listed in Connection are hop-by-hop too (RFC 9110 7.6.1).
  for (const auto& f : message.headers)
    if (iequals(f.name, "connection") && has_token(f.value, h.name)) return true;
  return false;
}

}  // namespace

std::string authority_host(std::string_view authority) {
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {  // [::1]:8443
    auto close = host.find(']');
    if (close == std::string_view::npos) return "";
    std::string_view inside = host.substr(1, close - 1);
    if (inside.empty() || inside.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return "";
    std::string_view port = host.substr(close + 1);
    if (!port.empty() && (port.front() != ':' || !valid_port(port.substr(1)))) return "";
    host = host.substr(0, close + 1);
  } else {
    if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
      if (!valid_port(host.substr(colon + 1))) return "";
      host = host.substr(0, colon);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), host_name_char)) return "";
  }
  std::string out(host);
  if (out.size() > 1 && out.back() == '.') out.pop_back();
  return tls::ascii_lower(out);
}

RequestRefusal unparsable_request(ParseProblem problem, const std::string& parse_error) {
  switch (problem) {
    case ParseProblem::too_large:
      return {431, Close::request_head_too_large, "The request head is larger than this service accepts."};
    case ParseProblem::version:
      return {505, Close::bad_request, parse_error + "."};
    case ParseProblem::transfer_coding:
      return {501, Close::bad_request, parse_error + "."};
    default:
      return bad("The request is not valid HTTP/1.1 (" + parse_error + ").");
  }
}

RequestDecision plan_request(const Head& request, bool upgrade, const conf::HttpSettings& http) {
  if (request.method == "CONNECT")
    return RequestRefusal{405, Close::method_not_allowed, "CONNECT is not supported here."};
  if (request.count("host") > 1) return bad("A request may carry one Host header, not several.");
  const std::string* host_field = request.find("host");
  if (request.minor >= 1 && !host_field) return bad("An HTTP/1.1 request needs a Host header.");
  if (request.minor == 0 && request.find("transfer-encoding"))
    return bad("Transfer-Encoding is not allowed in an HTTP/1.0 request.");
  // RFC 9110 4.2.4: a fragment is never sent; an upstream may read '#' as path or as fragment.
  if (request.target.find('#') != std::string::npos) return bad("A request target may not carry a fragment (#).");
  RequestPlan plan;
  std::string authority;
  if (request.target.starts_with("/")) {
    plan.target = request.target;
  } else if (request.target == "*") {
    if (request.method != "OPTIONS") return bad("The target \"*\" is only for OPTIONS.");
    plan.target = "*";
  } else if (split_absolute(request.target, authority, plan.target)) {
    // RFC 9112 3.2.2: the target's authority wins over Host; the upstream only ever sees it.
    if (authority.find('@') != std::string::npos) return bad("A request target may not carry user information.");
    if (plan.target.empty()) plan.target = request.method == "OPTIONS" ? "*" : "/";
  } else {
    return bad("The request target is neither a path nor an absolute http(s) URI.");
  }
  if (authority.empty() && !host_field) return bad("A request needs a Host header (here HTTP/1.0 ones too).");
  if (authority.empty()) authority = *host_field;
  plan.host = authority_host(authority);
  if (plan.host.empty()) return bad("The Host header (or the target's authority) is not a valid host name.");
  plan.authority = authority;
  if (auto problem = connection_problem(request); !problem.empty()) return bad(problem + ".");
  if (upgrade) {
    for (const auto& f : request.headers) {
      if (!iequals(f.name, "upgrade")) continue;
      for (auto p : split_list(f.value)) {
        std::string name = protocol_name(p);
        if (!allowed_upgrade(name, http)) return bad("Upgrade to \"" + std::string(p) + "\" is not allowed here.");
        plan.upgrade.emplace_back(p);
      }
    }
    if (plan.upgrade.empty()) return bad("Connection: upgrade without an Upgrade protocol.");
    if (request.method != "GET" || request.framing != Framing::none)
      return bad("An upgrade must be a GET request without a body.");
  }
  return plan;
}

Head upstream_request(const Head& request, const RequestPlan& plan, bool keep_alive,
                      const conf::IdentityHeaderSettings& settings, const ForwardFacts& facts) {
  Head out;
  out.method = request.method;
  out.target = plan.target;
  out.major = 1;
  out.minor = request.minor;
  out.framing = request.framing;
  out.content_length = request.content_length;
  out.headers.reserve(request.headers.size() + 12);  // ours: Host, framing, Connection, identity
  out.headers.push_back({"Host", plan.authority});
  for (const auto& h : request.headers) {
    if (is_client_identity_header(h.name) || hop_by_hop(h, request)) continue;
    out.headers.push_back(h);
  }
  if (request.framing == Framing::content_length)
    out.headers.push_back({"Content-Length", std::to_string(request.content_length)});
  else if (request.framing == Framing::chunked)
    out.headers.push_back({"Transfer-Encoding", "chunked"});
  if (!plan.upgrade.empty()) {
    std::string protocols;
    for (const auto& p : plan.upgrade) protocols += (protocols.empty() ? "" : ", ") + p;
    out.headers.push_back({"Upgrade", protocols});
    out.headers.push_back({"Connection", "upgrade"});
  } else if (!keep_alive) {
    out.headers.push_back({"Connection", "close"});
  } else if (request.minor == 0) {
    out.headers.push_back({"Connection", "keep-alive"});
  }
  append_identity_headers(out.headers, settings, facts, plan.authority);
  return out;
}

std::string serialize_request(const Head& head) {
  std::size_t size = head.method.size() + head.target.size() + 16;
  for (const auto& h : head.headers) size += h.name.size() + h.value.size() + 4;
  std::string out;
  out.reserve(size);  // one allocation for the whole head
  out.append(head.method).append(" ").append(head.target).append(" HTTP/");
  out.append(std::to_string(head.major)).append(".").append(std::to_string(head.minor)).append("\r\n");
  for (const auto& h : head.headers) out.append(h.name).append(": ").append(h.value).append("\r\n");
  out.append("\r\n");
  return out;  // not `return out.append(...)`: a reference would be copied
}

bool upgrade_accepted(const Head& response, const std::vector<std::string>& asked) {
  if (response.count("upgrade") != 1) return false;
  auto chosen = split_list(*response.find("upgrade"));
  if (chosen.size() != 1) return false;
  return std::any_of(asked.begin(), asked.end(), [&](const std::string& p) { return iequals(p, chosen.front()); });
}

std::string serialize_response(const Head& response, int client_minor, bool close, bool upgrade) {
  std::string out = version(response) + " " + std::to_string(response.status) + " " + response.reason + "\r\n";
  for (const auto& h : response.headers) {
    if (hop_by_hop(h, response)) continue;
    out += h.name + ": " + h.value + "\r\n";
  }
  if (upgrade) return out + "Upgrade: " + *response.find("upgrade") + "\r\nConnection: upgrade\r\n\r\n";
  if (response.status < 200) return out + "\r\n";  // an interim response says nothing about the connection
  if (response.framing == Framing::chunked) out += "Transfer-Encoding: chunked\r\n";
  // A 204 never has a length; a 304 (or a HEAD answer) may state the length the body would have.
  else if (response.has_content_length && response.status != 204)
    out += "Content-Length: " + std::to_string(response.content_length) + "\r\n";
  if (close)
    out += "Connection: close\r\n";
  else if (client_minor == 0)
    out += "Connection: keep-alive\r\n";  // an HTTP/1.0 client must be told
  return out + "\r\n";
}

bool trailer_allowed(std::string_view name, const conf::HttpSettings& http) {
  if (is_client_identity_header(name) || is_framing_or_hop_header(name)) return false;
  std::string n = normalized_field_name(name);
  return std::any_of(http.allowed_trailers.begin(), http.allowed_trailers.end(),
                     [&](const std::string& t) { return normalized_field_name(t) == n; });
}

std::string chunk_of(std::string_view data) {
  char size[32];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(data);
  return out + "\r\n";
}

}  // namespace gatehouse::proxy::http
