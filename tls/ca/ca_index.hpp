// The CA folder's record of every certificate it issued and revoked (index.json). It is what
// `ca list` shows, what `ca crl` signs, and what keeps serials from ever being reused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tls/result.hpp"

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
  std::int64_t revoked_at = 0;
  std::string reason;  // RFC 5280 reason name, e.g. "keyCompromise"
};

class CaIndex {
 public:
  static Result<CaIndex> load(const std::filesystem::path& file);  // missing file = empty index
  Result<bool> save(const std::filesystem::path& file) const;

  std::vector<IndexEntry>& entries() { return entries_; }
  const std::vector<IndexEntry>& entries() const { return entries_; }
  IndexEntry* find_serial(const std::string& serial);
  bool has_serial(const std::string& serial) const;
  std::int64_t next_crl_number() { return ++crl_number_; }

 private:
  std::vector<IndexEntry> entries_;
  std::int64_t crl_number_ = 0;
};

// Accepts "4f2a...", "4F:2A:..." and "0x4f2a"; returns the canonical "4F:2A:..." or nullopt.
std::optional<std::string> normalize_serial(const std::string& text);

}  // namespace gatehouse::tls::ca
