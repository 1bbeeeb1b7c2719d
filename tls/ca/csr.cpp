#include "tls/ca/csr.hpp"

#include "tls/pem_io.hpp"

#include <fstream>
#include <sstream>

namespace gatehouse::tls::ca {

Result<Csr> make_csr(const CsrRequest& r) {
  using RC = Result<Csr>;
  if (r.cn.empty()) return RC::failure("a CSR needs --cn");
  Csr csr{pki::generate_key(r.key), bssl::UniquePtr<X509_REQ>(X509_REQ_new())};
  X509_NAME* name = X509_REQ_get_subject_name(csr.request.get());
  auto add = [&](int nid, const std::string& v) {
    return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(v.data()),
                                      static_cast<int>(v.size()), -1, 0) == 1;
  };
  bool ok = X509_REQ_set_version(csr.request.get(), X509_REQ_VERSION_1);
  for (const auto& o : r.o) ok = ok && add(NID_organizationName, o);
  for (const auto& ou : r.ou) ok = ok && add(NID_organizationalUnitName, ou);
  ok = ok && add(NID_commonName, r.cn) && X509_REQ_set_pubkey(csr.request.get(), csr.key.get());
  if (!r.sans.empty()) {
    auto text = pki::san_config_text(r.sans);
    if (!text) return RC::failure(text.error());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, nullptr, nullptr, csr.request.get(), nullptr, 0);
    bssl::UniquePtr<STACK_OF(X509_EXTENSION)> exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* san = X509V3_EXT_nconf_nid(nullptr, &ctx, NID_subject_alt_name, text->c_str());
    ok = ok && san && sk_X509_EXTENSION_push(exts.get(), san) && X509_REQ_add_extensions(csr.request.get(), exts.get());
  }
  if (!ok || !X509_REQ_sign(csr.request.get(), csr.key.get(), EVP_sha256()))
    return RC::failure("cannot make the CSR: " + drain_errors());
  return csr;
}

Result<bssl::UniquePtr<X509_REQ>> read_csr(const std::filesystem::path& file) {
  using RR = Result<bssl::UniquePtr<X509_REQ>>;
  std::ifstream in(file, std::ios::binary);
  if (!in) return RR::failure("cannot read " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  std::string data = text.str();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  bssl::UniquePtr<X509_REQ> req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
  }
  drain_errors();
  if (!req) return RR::failure(file.string() + " is not a certificate signing request (PEM or DER)");
  return req;
}

std::string csr_to_pem(X509_REQ* request) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), request);
  return bio_text(bio.get());
}

}  // namespace gatehouse::tls::ca
