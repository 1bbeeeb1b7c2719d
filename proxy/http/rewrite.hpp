// The request head Gatehouse sends upstream and the response head it sends back: hop-by-hop
// headers dropped (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade unless upgrading),
// identity headers from the client dropped, ours added.
#pragma once

#include <string>

#include "conf/settings.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/identity_headers.hpp"

namespace gatehouse::proxy::http {

// The host a request is for: the authority of an absolute-form target, else the Host header;
// lower-case, without the port. Empty when there is none.
std::string request_host(const Head& request);

Head upstream_request(const Head& request, bool keep_alive, bool upgrade, const conf::IdentityHeaderSettings& settings,
                      const ForwardFacts& facts);
std::string serialize_request(const Head& head);
// `close`: tell the client this connection ends after the response.
std::string serialize_response(const Head& response, bool close, bool upgrade);

}  // namespace gatehouse::proxy::http
