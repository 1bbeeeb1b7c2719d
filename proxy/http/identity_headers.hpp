// The identity Gatehouse hands to an http-mode upstream: Envoy's X-Forwarded-Client-Cert,
// RFC 9440 Client-Cert / Client-Cert-Chain, simple X-Client-* headers, and X-Forwarded-For,
// X-Forwarded-Proto, Forwarded. Whatever the client sent under these names is removed first,
// so an upstream can trust them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/field_names.hpp"
#include "conf/settings.hpp"
#include "proxy/http/http_message.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::http {

using conf::is_client_identity_header;
using conf::is_framing_or_hop_header;
using conf::normalized_field_name;

// A connection's certificate lines and the settings they were built with.
struct IdentityLines {
  conf::IdentityHeaderSettings settings;
  std::vector<Header> lines;
};

struct ForwardFacts {
  const tls::PeerIdentity* identity = nullptr;
  std::string leaf_der;                // the client certificate, DER
  std::vector<std::string> chain_der;  // the verified path, DER: leaf and trust anchor excluded
  std::string client_ip;               // "192.0.2.1" or "2001:db8::1"
  std::string by;                      // our server certificate's URI SAN (XFCC By), may be empty
  // Built by the connection's first request, then copied: the certificate's base64, PEM and
  // percent-encoding cost more than the rest of a request, and a connection's certificate never
  // changes. Rebuilt if the settings differ (never within one connection).
  mutable std::optional<IdentityLines> identity_lines;
};

// XFCC element for one certificate, Envoy's format: Key=value pairs joined by ';', values with
// ',', ';', '=' or '"' quoted; Subject is always quoted; Cert and Chain are URL-encoded PEM.
std::string xfcc_value(const std::vector<std::string>& keys, bool forward_cert, const ForwardFacts& facts);
// RFC 9440 / RFC 8941 byte sequence: ":" base64(DER) ":".
std::string byte_sequence(std::string_view der);

// Appends every enabled header. `host` is the request's Host header.
void append_identity_headers(std::vector<Header>& out, const conf::IdentityHeaderSettings& settings,
                             const ForwardFacts& facts, std::string_view host);

}  // namespace gatehouse::proxy::http
