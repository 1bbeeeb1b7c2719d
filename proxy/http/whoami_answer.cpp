#include "proxy/http/whoami_answer.hpp"

#include "proxy/whoami.hpp"

namespace gatehouse::proxy::http {

Response whoami_response(const Head& forwarded, const tls::PeerIdentity& identity, const std::string& tls_version,
                         const std::string& cipher, bool json) {
  HeaderList received;
  received.reserve(forwarded.headers.size());
  for (const auto& h : forwarded.headers) received.emplace_back(h.name, h.value);
  return {200, "OK", json ? "application/json" : "text/plain; charset=utf-8",
          whoami_http_body(identity, tls_version, cipher, received, json)};
}

}  // namespace gatehouse::proxy::http
