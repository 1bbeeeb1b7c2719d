// The CA folder's record of every certificate it issued and revoked (index.json). It is what
// `ca list` shows, what `ca crl` signs, and what keeps serials from ever being reused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace gatehouse::tls::ca {

struct IndexEntry {
  std::string serial;   // "4F:2A:..."
  std::string name;     // file stem under issued/, e.g. "alice"
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string profile;  // "client" | "server" | "intermediate"
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  bool revoked = false;
  // When the revocation takes effect: in the future for a certificate superseded with an
  // overlap (`ca renew --overlap`), which `ca crl` lists only from then on. Recorded at once,
  // so the revocation cannot be forgotten.
  std::int64_t revoked_at = 0;
  std::string reason;  // RFC 5280 reason name, e.g. "keyCompromise"
};

class CaIndex {
 public:
  // A missing file, a file that is not JSON, or one of the wrong shape (a field missing or of
  // the wrong type, a serial twice) is an error naming the file and the problem: never an empty
  // CA, which would let `ca crl` publish a CRL that forgets every revocation.
  static Result<CaIndex> load(const std::filesystem::path& file);
  // An empty index for a new CA.
  static CaIndex empty() { return CaIndex(); }
  Result<bool> save(const std::filesystem::path& file) const;

  std::vector<IndexEntry>& entries() { return entries_; }
  const std::vector<IndexEntry>& entries() const { return entries_; }
  IndexEntry* find_serial(const std::string& serial);
  bool has_serial(const std::string& serial) const;
  // The revocation is in force at `now` (not only scheduled).
  static bool revoked_by(const IndexEntry& e, std::int64_t now) { return e.revoked && e.revoked_at <= now; }
  // The CRL number older versions kept here; now in DIR/crlnumber (tls/ca/crl_number.hpp), this
  // is only a floor for it.
  std::int64_t legacy_crl_number() const { return legacy_crl_number_; }

 private:
  std::vector<IndexEntry> entries_;
  std::int64_t legacy_crl_number_ = 0;
};

// Accepts "4f2a...", "4F:2A:..." and "0x4f2a"; returns the canonical "4F:2A:..." or nullopt.
std::optional<std::string> normalize_serial(const std::string& text);

}  // namespace gatehouse::tls::ca
