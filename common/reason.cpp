#include "common/reason.hpp"

namespace gatehouse {

std::string_view reason_keyword(Reason r) {
  static constexpr std::array<std::string_view, kReasonCount> kNames = {"ok",
                                                                        "no_certificate",
                                                                        "untrusted_issuer",
                                                                        "incomplete_chain",
                                                                        "expired",
                                                                        "not_yet_valid",
                                                                        "revoked",
                                                                        "wrong_usage",
                                                                        "chain_too_long",
                                                                        "bad_signature",
                                                                        "policy_denied",
                                                                        "handshake_timeout",
                                                                        "protocol_error",
                                                                        "name_mismatch",
                                                                        "invalid_certificate",
                                                                        "upstream_unavailable",
                                                                        "client_cert_too_large",
                                                                        "several_common_names",
                                                                        "crl_unavailable",
                                                                        "server_not_trusted",
                                                                        "client_closed",
                                                                        "server_closed"};
  return kNames[static_cast<std::size_t>(r)];
}

}  // namespace gatehouse
