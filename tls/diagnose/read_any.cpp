#include <openssl/pkcs8.h>

#include <fstream>
#include <sstream>

#include "tls/diagnose/inspect.hpp"

namespace gatehouse::tls::diagnose {
namespace {

void read_pem(const std::string& text, FileContents& out) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    uint8_t* data = nullptr;
    long len = 0;
    if (!PEM_read_bio(bio.get(), &name, &header, &data, &len)) break;
    std::string type = name;
    const uint8_t* p = data;
    if (type == "CERTIFICATE" || type == "TRUSTED CERTIFICATE") {
      if (X509* c = d2i_X509(nullptr, &p, len)) out.certs.emplace_back(c);
    } else if (type == "CERTIFICATE REQUEST" || type == "NEW CERTIFICATE REQUEST") {
      if (X509_REQ* r = d2i_X509_REQ(nullptr, &p, len)) out.csrs.emplace_back(r);
    } else if (type == "X509 CRL") {
      if (X509_CRL* c = d2i_X509_CRL(nullptr, &p, len)) out.crls.emplace_back(c);
    } else if (type.find("PRIVATE KEY") != std::string::npos && type.find("ENCRYPTED") == std::string::npos) {
      if (EVP_PKEY* k = d2i_AutoPrivateKey(nullptr, &p, len)) out.keys.emplace_back(k);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
  ERR_clear_error();
}

bool read_der(const std::string& text, FileContents& out) {
  const auto* begin = reinterpret_cast<const uint8_t*>(text.data());
  const long len = static_cast<long>(text.size());
  const uint8_t* p = begin;
  if (X509* c = d2i_X509(nullptr, &p, len)) return out.certs.emplace_back(c), true;
  p = begin;
  if (X509_CRL* c = d2i_X509_CRL(nullptr, &p, len)) return out.crls.emplace_back(c), true;
  p = begin;
  if (X509_REQ* r = d2i_X509_REQ(nullptr, &p, len)) return out.csrs.emplace_back(r), true;
  p = begin;
  if (EVP_PKEY* k = d2i_AutoPrivateKey(nullptr, &p, len)) return out.keys.emplace_back(k), true;
  ERR_clear_error();
  return false;
}

}  // namespace

Result<FileContents> read_any(const std::filesystem::path& file, const std::string& password) {
  using R = Result<FileContents>;
  std::ifstream in(file, std::ios::binary);
  if (!in) return R::failure("cannot read " + file.string());
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  FileContents out;
  out.file = file;
  if (text.find("-----BEGIN ") != std::string::npos) {
    out.format = "PEM";
    read_pem(text, out);
  } else if (read_der(text, out)) {
    out.format = "DER";
  } else {
    CBS cbs;
    CBS_init(&cbs, reinterpret_cast<const uint8_t*>(text.data()), text.size());
    EVP_PKEY* key = nullptr;
    bssl::UniquePtr<STACK_OF(X509)> certs(sk_X509_new_null());
    if (!PKCS12_get_key_and_certs(&key, certs.get(), &cbs, password.c_str())) {
      uint32_t err = ERR_peek_last_error();
      drain_errors();
      if (ERR_GET_LIB(err) == ERR_LIB_PKCS8 && ERR_GET_REASON(err) == PKCS8_R_INCORRECT_PASSWORD)
        return R::failure(file.string() + " is a PKCS#12 file and the password is wrong" +
                          (password.empty() ? " (give it with --password)" : ""));
      return R::failure(file.string() + " is neither PEM, nor DER, nor a PKCS#12 file that opens with this password");
    }
    out.format = "PKCS#12";
    if (key) out.keys.emplace_back(key);
    // PKCS#12 lists certificates in no set order; put the one matching the key first.
    while (sk_X509_num(certs.get()) > 0) out.certs.emplace_back(sk_X509_shift(certs.get()));
    for (size_t i = 0; key && i < out.certs.size(); ++i)
      if (X509_check_private_key(out.certs[i].get(), key)) std::swap(out.certs[0], out.certs[i]);
    ERR_clear_error();
  }
  if (out.certs.empty() && out.keys.empty() && out.csrs.empty() && out.crls.empty())
    return R::failure(file.string() +
                      ": nothing readable found (no certificate, key, CSR or CRL; "
                      "an encrypted key is not read)");
  return out;
}

}  // namespace gatehouse::tls::diagnose
