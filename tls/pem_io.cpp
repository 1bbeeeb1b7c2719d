#include "tls/pem_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gatehouse::tls {
namespace {

Result<std::string> slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Result<std::string>::failure("cannot read " + file.string() + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string bio_text(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string name_text(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_text(bio.get());
}

Result<CertChain> read_certificates(const std::filesystem::path& file) {
  auto text = slurp(file);
  if (!text) return Result<CertChain>::failure(text.error());
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  CertChain chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(cert);
  uint32_t err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) ERR_clear_error();
  std::string problem = drain_errors();
  if (!problem.empty())
    return Result<CertChain>::failure(file.string() + ": certificate " + std::to_string(chain.size() + 1) +
                                      " is damaged (" + problem + ")");
  if (chain.empty())
    return Result<CertChain>::failure(file.string() +
                                      ": no PEM certificate found (expected a "
                                      "'-----BEGIN CERTIFICATE-----' block)");
  return chain;
}

Result<std::vector<bssl::UniquePtr<X509_CRL>>> read_crls(const std::filesystem::path& file) {
  using R = Result<std::vector<bssl::UniquePtr<X509_CRL>>>;
  auto text = slurp(file);
  if (!text) return R::failure(text.error());
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) crls.emplace_back(crl);
  if (crls.empty()) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(text->data());
    if (X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(text->size()))) crls.emplace_back(crl);
  }
  drain_errors();
  if (crls.empty()) return R::failure(file.string() + ": no CRL found (expected '-----BEGIN X509 CRL-----')");
  return crls;
}

Result<bssl::UniquePtr<EVP_PKEY>> read_private_key(const std::filesystem::path& file) {
  using R = Result<bssl::UniquePtr<EVP_PKEY>>;
  auto text = slurp(file);
  if (!text) return R::failure(text.error());
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    drain_errors();  // the library's words say less than ours
    return R::failure(file.string() +
                      ": no unencrypted PEM private key found (expected "
                      "'-----BEGIN PRIVATE KEY-----' or 'BEGIN EC/RSA PRIVATE KEY')");
  }
  return key;
}

std::string to_pem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

std::string to_pem(X509_CRL* crl) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl);
  return bio_text(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

Result<bool> write_file_atomic(const std::filesystem::path& file, const std::string& data, unsigned mode) {
  auto tmp = file;
  tmp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  auto fail = [&](const char* what) {
    std::string msg = std::string(what) + " " + tmp.string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return Result<bool>::failure(msg);
  };
  if (fd < 0) return fail("cannot create");
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  ::close(fd);
  fd = -1;
  if (::rename(tmp.c_str(), file.c_str()) != 0) return fail("cannot rename");
  // The rename itself is durable only once the folder is synced.
  auto parent = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  if (int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

std::string subject_line(const X509* cert) { return name_text(X509_get_subject_name(cert)); }
std::string issuer_line(const X509* cert) { return name_text(X509_get_issuer_name(cert)); }

}  // namespace gatehouse::tls
