// The no-desync property: for any bytes a client sends, what Gatehouse writes upstream, read by
// an independent strict parser (tests/support/reference_parser.hpp), is exactly the sequence of requests it
// authorized (same method, target, Host, body length), each carrying Gatehouse's identity
// headers once and no field of the client's under an identity, framing or hop-by-hop name in
// any spelling. The request side of http mode runs here as in http_session.cpp: heads parsed,
// checked by plan_request, rebuilt by upstream_request, bodies re-framed by the parser; a
// refused request ends the connection, an upgrade ends the HTTP part of it.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"
#include "proxy/http/rewrite.hpp"
#include "tests/support/reference_parser.hpp"

namespace http = gatehouse::proxy::http;
namespace ref = gatehouse::test;

namespace {

struct Authorized {
  std::string method, target, authority;
  std::uint64_t body_length = 0;
};

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "no-desync property violated: %s\n", what);
  std::abort();
}

const gatehouse::tls::PeerIdentity& alice() {
  static const gatehouse::tls::PeerIdentity id = [] {
    gatehouse::tls::PeerIdentity i;
    i.subject = "CN=alice,O=Acme";
    i.cn = "alice";
    i.fingerprint = "ab12";
    i.serial = "01";
    return i;
  }();
  return id;
}

// Runs the client's bytes through the request side; returns the upstream bytes.
std::string forward(const char* data, std::size_t size, std::vector<Authorized>& authorized) {
  static const gatehouse::conf::HttpSettings settings = [] {
    gatehouse::conf::HttpSettings s;
    s.allowed_trailers = {"x-checksum", "x-client-cn", "content-length", "x_forwarded_client_cert"};
    return s;
  }();
  const http::ForwardFacts facts{
      .identity = &alice(), .leaf_der = "leaf", .chain_der = {}, .client_ip = "192.0.2.7", .by = ""};
  http::MessageParser parser(HTTP_REQUEST, {});
  parser.keep_trailers([](std::string_view name) { return http::trailer_allowed(name, settings); });
  std::string wire, body;
  bool in_body = false;  // between an authorized head and the end of its message
  while (size > 0 || parser.pending()) {
    std::size_t used = 0;
    body.clear();
    auto ev = parser.feed(data, size, used, body);
    if (used > size) violated("the parser used more than it was given");
    data += used;
    size -= used;
    wire += body;
    // Each feed stops at a message's end, so a feed never holds two messages' body bytes.
    if (in_body) authorized.back().body_length = parser.body_bytes();
    if (ev == http::MessageParser::Event::error) break;
    if (ev == http::MessageParser::Event::body_done) in_body = false;
    if (ev == http::MessageParser::Event::head) {
      auto decision = http::plan_request(parser.head(), parser.upgrade(), settings);
      const auto* plan = std::get_if<http::RequestPlan>(&decision);
      if (!plan) break;  // answered by Gatehouse; the connection closes
      const http::Head& in = parser.head();
      authorized.push_back({in.method, plan->target, plan->authority, 0});
      wire += http::serialize_request(http::upstream_request(in, *plan, true, settings.headers, facts));
      if (!plan->upgrade.empty()) break;  // what follows belongs to the tunnel, after a checked 101
      in_body = true;
    } else if (ev == http::MessageParser::Event::need_more && !parser.pending()) {
      break;
    }
  }
  return wire;
}

// The identity headers Gatehouse adds with these settings, each exactly once.
constexpr const char* kOurs[] = {"x-forwarded-for",         "x-forwarded-proto", "forwarded",
                                 "x-forwarded-client-cert", "x-client-subject",  "x-client-cn",
                                 "x-client-fingerprint",    "x-client-serial",   "x-client-not-after"};

void check_request(const ref::RefRequest& got, const Authorized& want) {
  if (got.method != want.method || got.target != want.target) violated("method or target changed");
  int hosts = 0, cns = 0, framing = 0;
  std::vector<std::string> identity;
  for (const auto& [name, value] : got.headers) {
    std::string n = ref::normalized_name(name);
    if (n == "host") {
      ++hosts;
      if (value != want.authority) violated("Host is not the checked authority");
    }
    if (n == "x-client-cn" && (++cns, value != "alice")) violated("X-Client-CN is not alice");
    if (n == "content-length" || n == "transfer-encoding") ++framing;
    if (n == "connection" && !ref::field_has_token(value, "upgrade") && !ref::field_has_token(value, "close") &&
        !ref::field_has_token(value, "keep-alive"))
      violated("Connection names a field");
    if (http::is_client_identity_header(name)) identity.push_back(n);
  }
  if (hosts != 1) violated("not exactly one Host");
  if (cns != 1) violated("not exactly one X-Client-CN");
  if (framing > 1) violated("more than one framing field");
  if (identity.size() != std::size(kOurs)) violated("an identity field that is not Gatehouse's");
  for (const char* ours : kOurs)
    if (std::count(identity.begin(), identity.end(), ours) != 1) violated("an identity field missing or repeated");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<Authorized> authorized;
  std::string wire = forward(reinterpret_cast<const char*>(data), size, authorized);
  std::size_t pos = 0, seen = 0;
  while (pos < wire.size()) {
    ref::RefRequest got;
    std::string why;
    auto result = ref::ref_parse(wire, pos, got, why);
    if (result == ref::RefResult::invalid) {
      std::fprintf(stderr, "%s\n", why.c_str());
      violated("the upstream bytes are not canonical HTTP/1.1");
    }
    if (seen >= authorized.size()) violated("the upstream reads a request Gatehouse did not authorize");
    const Authorized& want = authorized[seen++];
    if (result == ref::RefResult::incomplete) {  // the client's bytes ended inside this body
      if (got.method != want.method || got.target != want.target) violated("method or target changed");
      break;
    }
    check_request(got, want);
    if (got.body.size() != want.body_length) violated("a body of another length than the one read");
    if (got.upgrade) break;  // the rest belongs to the tunnel
  }
  if (seen != authorized.size()) violated("a request Gatehouse authorized is not what the upstream reads");
  return 0;
}
