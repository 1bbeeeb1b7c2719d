// http mode: a client's bytes through the request parser, and each head it accepts through the
// rewrite Gatehouse sends upstream. What we forward must parse again, carry none of the
// client's identity headers, and frame the body the same way.
#include <cstdlib>
#include <string>
#include <variant>

#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/rewrite.hpp"

namespace http = gatehouse::proxy::http;

namespace {

void check_forwarded(const http::Head& request, bool upgrade, bool keep_alive) {
  static const gatehouse::conf::HttpSettings http_settings;
  auto decision = http::plan_request(request, upgrade, http_settings);
  const auto* plan = std::get_if<http::RequestPlan>(&decision);
  if (!plan) return;  // refused: nothing goes upstream
  gatehouse::tls::PeerIdentity identity;
  identity.subject = "CN=alice,O=Acme";
  identity.cn = "alice";
  http::ForwardFacts facts{
      .identity = &identity, .leaf_der = "not-der", .chain_der = {}, .client_ip = "192.0.2.1", .by = ""};
  gatehouse::conf::IdentityHeaderSettings settings;
  settings.client_cert = true;
  settings.forward_cert = true;
  http::Head upstream = http::upstream_request(request, *plan, keep_alive, settings, facts);
  // Exactly our identity headers, whatever the client sent under the same names.
  int cn_headers = 0, xfcc_headers = 0;
  for (const auto& h : upstream.headers) {
    if (http::iequals(h.name, "X-Client-CN")) cn_headers += h.value == "alice" ? 1 : 100;
    if (http::iequals(h.name, "X-Forwarded-Client-Cert")) ++xfcc_headers;
  }
  if (cn_headers != 1 || xfcc_headers != 1) std::abort();
  std::string wire = http::serialize_request(upstream);
  http::MessageParser again(HTTP_REQUEST, {.max_head_size = 64 * 1024, .max_headers = 400});
  std::size_t consumed = 0;
  std::string body;
  if (again.feed(wire.data(), wire.size(), consumed, body) != http::MessageParser::Event::head) std::abort();
  if (again.head().method != request.method) std::abort();
  if (again.head().count("host") != 1 || http::authority_host(*again.head().find("host")) != plan->host) std::abort();
  if (again.head().framing != request.framing || again.head().content_length != request.content_length) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::MessageParser parser(HTTP_REQUEST, {});
  const char* at = reinterpret_cast<const char*>(data);
  std::string body;
  for (int messages = 0; size > 0 && messages < 8; ++messages) {
    std::size_t consumed = 0;
    auto event = parser.feed(at, size, consumed, body);
    if (consumed > size) std::abort();
    at += consumed;
    size -= consumed;
    if (event == http::MessageParser::Event::head) {
      check_forwarded(parser.head(), parser.upgrade(), parser.keep_alive());
    } else if (event == http::MessageParser::Event::error) {
      if (parser.error().empty()) std::abort();
      return 0;
    } else if (event == http::MessageParser::Event::need_more && !parser.pending()) {
      break;
    }
  }
  (void)parser.finish(body);
  return 0;
}
