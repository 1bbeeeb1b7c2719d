// What a listener's TLS settings name, read from disk and checked once per (re)load: its server
// credentials, the client CA and intermediates, and what /certs shows of them. ServerContext
// builds on these; nothing here runs per connection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/server_context.hpp"

namespace gatehouse::tls {

// A certificate and key pair, checked (order, key match, dates); problems go to `problems`.
std::optional<ServerCredential> load_credential(const conf::CertificateSettings& c, const std::string& file,
                                                conf::Diagnostics& problems);
// The certificates of a client_ca or client_intermediates file; warnings for odd ones.
Result<CertChain> load_ca_file(const conf::FileRef& ref, const char* what, std::vector<std::string>& warnings);
// What /certs and `gatehouse check` list for a listener.
std::vector<LoadedCertificate> describe_loaded(const conf::TlsSettings& tls, const CertChain& anchors,
                                               const CertChain& intermediates, const CrlList& crls);

}  // namespace gatehouse::tls
