// Every refusal has exactly one reason from this closed list (DESIGN.md), shared by every
// module: a TLS failure, a policy refusal or an upstream that did not answer. The same keyword
// appears in the access log, the metric label, and later the error page and `verify`.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace gatehouse {

enum class Reason : std::uint8_t {
  ok,
  no_certificate,
  untrusted_issuer,
  incomplete_chain,
  expired,
  not_yet_valid,
  revoked,
  wrong_usage,
  chain_too_long,
  bad_signature,
  policy_denied,
  handshake_timeout,
  protocol_error,
  name_mismatch,          // `gatehouse verify --name` and upstream checks; never a client refusal
  invalid_certificate,    // breaks an RFC 5280 rule (serial, key identifiers, basic constraints)
  upstream_unavailable,   // verified and allowed, but no endpoint of the route's upstream answered
  client_cert_too_large,  // the certificates the client sent add up to more than max_client_cert_size
  several_common_names,   // the client certificate's subject has more than one CN: which one is "the" CN?
  crl_unavailable,        // a CRL this listener needs is past its next update or unreadable: not the client's fault
  server_not_trusted,     // the client rejected our certificate (an alert after our Certificate)
  client_closed,          // the client hung up during the handshake without an alert: not a refusal
  server_closed,          // Gatehouse cut a PROXY header or handshake short (drain deadline, max age): not a refusal
};
inline constexpr std::size_t kReasonCount = 22;

// A refusal by Gatehouse (or a failure it counts as one), as opposed to a client that walked
// away (browsers' preconnects and abandoned certificate prompts must not feed refusal alerts) or
// one Gatehouse itself stopped serving before any verdict (a restart must not either).
constexpr bool is_refusal(Reason r) {
  return r != Reason::ok && r != Reason::client_closed && r != Reason::server_closed;
}

std::string_view reason_keyword(Reason r);

}  // namespace gatehouse
