// CRL numbers only grow (RFC 5280 5.2.3): a checker that has seen CRL 7 ignores a later "CRL 1",
// so a reused number would silently undo every revocation since. The last number used lives in
// DIR/crlnumber, apart from the index, and is checked against the CRLs already on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace gatehouse::tls::ca {

class CrlCounter {
 public:
  // `floor`: a number known used elsewhere (index.json's crl_number from before this file existed).
  static Result<CrlCounter> load(const std::filesystem::path& dir, std::int64_t floor);

  // Strictly above every number in DIR/crlnumber, DIR/crl.pem and DIR/crl/*.crl.
  std::int64_t next() { return ++last_; }
  // Written before the CRLs that use the numbers: a crash leaves a gap, never a reuse.
  Result<bool> save() const;
  std::int64_t last() const { return last_; }
  // Empty, or what was behind: "DIR/crlnumber says 1, but a CRL on disk has number 6".
  const std::string& behind_disk() const { return behind_disk_; }

 private:
  std::filesystem::path dir_;
  std::int64_t last_ = 0;
  std::string behind_disk_;
};

std::filesystem::path crl_number_file(const std::filesystem::path& dir);

// The highest CRL number in the CRL files we wrote (0 when there are none); an unreadable CRL
// file is an error naming it, since its number could be the highest.
Result<std::int64_t> highest_crl_number_on_disk(const std::filesystem::path& dir);

}  // namespace gatehouse::tls::ca
