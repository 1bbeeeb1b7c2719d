// The built-in `whoami` upstream in http mode. It is an upstream like any other: it receives the
// head Gatehouse rebuilt (identity headers included) and answers with the identity Gatehouse
// verified and those headers, so the demo shows what a real upstream is told.
#pragma once

#include <string>

#include "proxy/http/http_message.hpp"
#include "proxy/http/refusal_page.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::http {

// `forwarded`: the head as it would go upstream. `tls_version` and `cipher` as in the access log.
Response whoami_response(const Head& forwarded, const tls::PeerIdentity& identity, const std::string& tls_version,
                         const std::string& cipher, bool json);

}  // namespace gatehouse::proxy::http
