// A revocation, once published, is never withdrawn by accident: `ca crl` carries into the next
// CRL every entry of the last crl.pem that index.json no longer shows as revoked (an index
// restored from an old backup, or edited by hand).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/ca/ca_index.hpp"

namespace gatehouse::tls::ca {

// The revoked entries of every CRL in `crl_pem` (none when the file is absent); serial, issuer,
// date and reason filled in. An unreadable file is an error naming it.
Result<std::vector<IndexEntry>> published_revocations(const std::filesystem::path& crl_pem);

// The last CRL signed by `issuer` (RFC 2253) in `crl_pem`, as PEM, and its next update; nullopt
// when there is none. `ca crl` copies the root's this way when the root key is offline.
struct PreviousCrl {
  std::string pem;
  std::int64_t next_update = 0;
};
std::optional<PreviousCrl> previous_crl(const std::filesystem::path& crl_pem, const std::string& issuer);

// Those of `published` that `index` does not show as revoked.
std::vector<IndexEntry> forgotten_revocations(const CaIndex& index, const std::vector<IndexEntry>& published);

}  // namespace gatehouse::tls::ca
