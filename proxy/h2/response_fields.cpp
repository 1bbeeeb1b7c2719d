#include "proxy/h2/response_fields.hpp"

#include "common/percent_encode.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/rewrite.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::h2 {
namespace {

// The values of the message's Connection fields, gathered once per message rather than per field.
std::vector<std::string_view> connection_values(const http::Head& message) {
  std::vector<std::string_view> out;
  for (const auto& f : message.headers)
    if (http::iequals(f.name, "connection")) out.emplace_back(f.value);
  return out;
}

bool connection_specific(const http::Header& field, const std::vector<std::string_view>& connection) {
  static const char* const kNames[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"};
  for (const char* n : kNames)
    if (http::iequals(field.name, n)) return true;
  for (std::string_view listed : connection)
    if (http::has_token(listed, field.name)) return true;
  return false;
}

}  // namespace

Fields response_fields(const http::Head& response) {
  Fields out;
  out.reserve(response.headers.size() + 1);
  out.push_back({":status", std::to_string(response.status)});
  const auto connection = connection_values(response);
  // RFC 9110 8.6: no Content-Length in a 1xx or 204; an HTTP/2 client treats one as malformed.
  const bool no_length = response.status < 200 || response.status == 204;
  for (const auto& f : response.headers) {
    if (connection_specific(f, connection)) continue;
    if (no_length && http::iequals(f.name, "content-length")) continue;
    out.push_back({tls::ascii_lower(f.name), f.value});
  }
  return out;
}

Fields upstream_request_fields(http::Head request, bool te_trailers, bool over_tls) {
  Fields out;
  out.reserve(request.headers.size() + 5);
  out.push_back({":method", std::move(request.method)});
  out.push_back({":scheme", over_tls ? "https" : "http"});
  out.push_back({":authority", ""});
  out.push_back({":path", std::move(request.target)});
  const auto connection = connection_values(request);
  for (auto& f : request.headers) {  // moved, not copied: the head is ours to take
    if (http::iequals(f.name, "host")) {
      out[2].value = std::move(f.value);
      continue;
    }
    if (connection_specific(f, connection) || http::iequals(f.name, "te")) continue;
    out.push_back({tls::ascii_lower(std::move(f.name)), std::move(f.value)});
  }
  if (out[2].value.empty()) out.erase(out.begin() + 2);  // no Host: no :authority
  if (te_trailers) out.push_back({"te", "trailers"});
  return out;
}

Fields response_trailers(const Fields& trailers, const conf::HttpSettings& http, bool grpc) {
  Fields out;
  for (const auto& t : trailers) {
    const bool passes = grpc ? !http::is_client_identity_header(t.name) && !http::is_framing_or_hop_header(t.name)
                             : http::trailer_allowed(t.name, http);
    if (passes) out.push_back(t);
  }
  return out;
}

Fields trailer_fields(const std::vector<http::Header>& trailers) {
  Fields out;
  for (const auto& t : trailers) out.push_back({tls::ascii_lower(t.name), t.value});
  return out;
}

Fields answer_fields(const http::Response& response) {
  return {{":status", std::to_string(response.status)},
          {"content-type", response.content_type},
          {"content-length", std::to_string(response.body.size())},
          {"cache-control", "no-store"}};
}

GrpcStatus grpc_status_of(int http_status, gatehouse::Reason reason, bool refused_client) {
  if (reason == gatehouse::Reason::policy_denied) return GrpcStatus::permission_denied;
  if (refused_client) return GrpcStatus::unauthenticated;
  switch (http_status) {
    case 400:
    case 431:
      return GrpcStatus::internal;
    case 401:
      return GrpcStatus::unauthenticated;
    case 403:
      return GrpcStatus::permission_denied;
    case 404:
    case 405:
      return GrpcStatus::unimplemented;
    case 421:
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus::unavailable;
    default:
      return GrpcStatus::unknown;
  }
}

std::string grpc_message_encode(std::string_view message) {
  return percent_encode(message, [](unsigned char c) { return c >= 0x20 && c <= 0x7e && c != '%'; });
}

Fields grpc_refusal_fields(GrpcStatus status, std::string_view message) {
  return {{":status", "200"},
          {"content-type", "application/grpc"},
          {"grpc-status", std::to_string(static_cast<int>(status))},
          {"grpc-message", grpc_message_encode(message)}};
}

}  // namespace gatehouse::proxy::h2
