// `ca sign`: a stranger's CSR becomes a certificate. The requester proves the key is theirs
// (the CSR's signature); the names are the CA operator's decision. The CSR's subject and SANs
// are copied only when asked (--use-csr-names), and only if the name rules accept all of them.
#include "tls/ca/ca_folder.hpp"
#include "tls/ca/csr_names.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {

Result<IssuedFiles> CaFolder::sign(X509_REQ* csr, const LeafRequest& request) {
  using RF = Result<IssuedFiles>;
  bssl::UniquePtr<EVP_PKEY> key(X509_REQ_get_pubkey(csr));
  if (!key || X509_REQ_verify(csr, key.get()) != 1) {
    drain_errors();
    return RF::failure("the CSR's signature does not verify: it was altered or not made with its key");
  }
  LeafRequest effective = request;
  if (request.use_csr_names) {
    RequestedNames asked = requested_names(csr);
    if (asked.cannot_copy) return RF::failure(asked.cannot_copy->message + "; nothing was signed");
    if (auto problem = check_names(asked.names, "the CSR"))
      return RF::failure(problem->message + "; nothing was signed");
    // A flag given by the operator still wins over what the CSR asks for, field by field.
    if (effective.cn.empty() && !asked.names.cn.empty()) effective.cn = asked.names.cn.front();
    if (effective.o.empty()) effective.o = asked.names.o;
    if (effective.ou.empty()) effective.ou = asked.names.ou;
    if (effective.sans.empty()) effective.sans = asked.names.sans;
  }
  if (effective.cn.empty() && effective.sans.empty())
    return RF::failure(request.use_csr_names ? "the CSR asks for no CN and no SAN; give --cn (and --san)"
                                             : "give the certificate's names with --cn (and --o, --ou, --san), or add "
                                               "--use-csr-names to copy those the CSR asks for");
  // The subject is built from the checked names alone, never copied whole from the CSR.
  return finish_leaf(effective, key.get(), nullptr);
}

}  // namespace gatehouse::tls::ca
