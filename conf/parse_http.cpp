#include "conf/parse_http.hpp"

#include "conf/field_names.hpp"

namespace gatehouse::conf {
namespace {

void read_identity_headers(TableReader& r, IdentityHeaderSettings& h) {
  auto names = r.strings("identity_headers");
  if (names) {
    h.xfcc = h.x_client = h.client_cert = h.forwarded = false;
    for (const auto& n : *names) {
      if (n == "xfcc")
        h.xfcc = true;
      else if (n == "x-client")
        h.x_client = true;
      else if (n == "client-cert")
        h.client_cert = true;
      else if (n == "forwarded")
        h.forwarded = true;
      else
        r.error("identity_headers", "unknown header set '" + n +
                                        "'; use \"xfcc\", \"x-client\", "
                                        "\"client-cert\" or \"forwarded\"");
    }
  }
  if (auto keys = r.strings("xfcc_keys")) {
    for (const auto& k : *keys) {
      if (k != "By" && k != "Hash" && k != "Subject" && k != "URI" && k != "DNS" && k != "Cert" && k != "Chain")
        r.error("xfcc_keys", "unknown XFCC key '" + k + "'; use By, Hash, Subject, URI, DNS, Cert or Chain");
    }
    h.xfcc_keys = *keys;
  }
  if (auto v = r.boolean("forward_cert")) h.forward_cert = *v;
}

}  // namespace

void read_http(TableReader& r, HttpSettings& http) {
  read_identity_headers(r, http.headers);
  if (auto v = r.integer("max_head_size", 1024, 65536)) http.max_head_size = *v;
  if (auto v = r.integer("max_headers", 1, 10000)) http.max_headers = *v;
  if (auto v = r.duration("head_timeout")) http.head_timeout = *v;
  if (auto v = r.duration("keepalive_timeout")) http.keepalive_timeout = *v;
  if (auto v = r.choice("refusal_codes", {"403", "nginx"}))
    http.refusal_codes = *v == "nginx" ? RefusalCodes::nginx : RefusalCodes::always_403;
  if (auto v = r.string("contact")) http.contact = *v;
  if (auto names = r.strings("allowed_trailers")) {
    for (const auto& n : *names) {
      if (!is_token(n))
        r.error("allowed_trailers", "'" + n + "' is not a header field name");
      else if (is_protected_field_name(n))
        r.error("allowed_trailers", "'" + n + "' frames, routes or carries identity; it can never be a trailer");
    }
    http.allowed_trailers = *names;
  }
  if (auto protocols = r.strings("upgrade_protocols")) {
    for (const auto& p : *protocols) {
      if (!is_token(p))
        r.error("upgrade_protocols", "'" + p + "' is not a protocol name (e.g. \"websocket\")");
      else if (normalized_field_name(p) == "h2c")
        r.error("upgrade_protocols", "h2c cannot be allowed: HTTP/2 inside the tunnel would bypass every check");
    }
    http.upgrade_protocols = *protocols;
  }
}

void read_http2(TableReader& r, Http2Settings& h2) {
  if (auto v = r.integer("max_concurrent_streams", 1, 1000)) h2.max_concurrent_streams = *v;
  if (auto v = r.integer("initial_window_size", 16384, 16 * 1024 * 1024)) h2.initial_window_size = *v;
  if (auto v = r.integer("connection_window_size", 65535, 64 * 1024 * 1024)) h2.connection_window_size = *v;
  if (auto v = r.integer("max_resets_per_second", 1, 100000)) h2.max_resets_per_second = *v;
  if (auto v = r.integer("max_control_frames_per_second", 1, 100000)) h2.max_control_frames_per_second = *v;
}

}  // namespace gatehouse::conf
