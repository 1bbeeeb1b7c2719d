#include "tls/ca/crl_number.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tls/bssl.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace fs = std::filesystem;
using RN = Result<std::int64_t>;

namespace {

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 0 for a CRL without a number (not one of ours); -1 when the number does not fit.
std::int64_t number_of(const X509_CRL* crl) {
  int critical = 0;
  bssl::UniquePtr<ASN1_INTEGER> n(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, &critical, nullptr)));
  if (!n) return 0;
  uint64_t value = 0;
  if (!ASN1_INTEGER_get_uint64(&value, n.get()) || value > INT64_MAX) return -1;
  return static_cast<std::int64_t>(value);
}

RN highest_in_pem(const fs::path& file) {
  std::string text = slurp(file);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::int64_t highest = 0;
  int count = 0;
  while (bssl::UniquePtr<X509_CRL> crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) {
    ++count;
    highest = std::max(highest, number_of(crl.get()));
  }
  drain_errors();
  if (count == 0 && text.find_first_not_of(" \r\n\t") != std::string::npos)
    return RN::failure(file.string() +
                       " holds no readable CRL; its CRL number cannot be checked. Move it "
                       "aside if it is not yours");
  return highest;
}

RN number_in_der(const fs::path& file) {
  std::string der = slurp(file);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  drain_errors();
  if (!crl)
    return RN::failure(file.string() +
                       " is not a DER CRL; its CRL number cannot be checked. Move it "
                       "aside if it is not yours");
  return number_of(crl.get());
}

}  // namespace

fs::path crl_number_file(const fs::path& dir) { return dir / "crlnumber"; }

RN highest_crl_number_on_disk(const fs::path& dir) {
  std::int64_t highest = 0;
  std::error_code ec;
  if (fs::exists(dir / "crl.pem", ec)) {
    auto n = highest_in_pem(dir / "crl.pem");
    if (!n) return n;
    highest = std::max(highest, *n);
  }
  if (fs::is_directory(dir / "crl", ec)) {
    for (const auto& f : fs::directory_iterator(dir / "crl", ec)) {
      if (f.path().extension() != ".crl") continue;
      auto n = number_in_der(f.path());
      if (!n) return n;
      highest = std::max(highest, *n);
    }
  }
  if (highest < 0) return RN::failure("a CRL in " + dir.string() + " has a CRL number too large to follow");
  return highest;
}

Result<CrlCounter> CrlCounter::load(const fs::path& dir, std::int64_t floor) {
  using RC = Result<CrlCounter>;
  CrlCounter counter;
  counter.dir_ = dir;
  counter.last_ = std::max<std::int64_t>(floor, 0);
  const fs::path file = crl_number_file(dir);
  std::error_code ec;
  const bool has_file = fs::exists(file, ec);
  if (has_file) {
    std::string text = slurp(file);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::int64_t value = 0;
    std::size_t used = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || value < 0)
      return RC::failure(file.string() + " must hold the last CRL number (a whole number >= 0), not '" +
                         text.substr(0, 40) + "'");
    counter.last_ = std::max(counter.last_, value);
  }
  auto on_disk = highest_crl_number_on_disk(dir);
  if (!on_disk) return RC::failure(on_disk.error());
  if (*on_disk > counter.last_)
    counter.behind_disk_ = file.string() + (has_file ? " says " + std::to_string(counter.last_) : " is missing") +
                           ", but a CRL on disk has number " + std::to_string(*on_disk) + "; continuing above it";
  counter.last_ = std::max(counter.last_, *on_disk);
  return counter;
}

Result<bool> CrlCounter::save() const {
  return write_file_atomic(crl_number_file(dir_), std::to_string(last_) + "\n", 0644);
}

}  // namespace gatehouse::tls::ca
