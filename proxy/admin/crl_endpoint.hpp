// GET /crl/NAME on the admin listener: the CRLs the listeners loaded (their `crl` files), in
// DER, at the names certificates' CRL distribution points use (tls/crl_publication.hpp), so a
// client that checks revocation (openssl verify -crl_download, a browser, testssl) finds them.
#pragma once

#include <string>

#include "proxy/admin/admin_server.hpp"
#include "proxy/snapshot.hpp"

namespace gatehouse::proxy::admin {

// `name` is what follows /crl/; empty lists the published names. Listeners sharing a CA
// publish its CRL once: when they loaded different CRLs of it, the latest this-update wins.
Reply published_crl(const Snapshot& snapshot, const std::string& name);

}  // namespace gatehouse::proxy::admin
