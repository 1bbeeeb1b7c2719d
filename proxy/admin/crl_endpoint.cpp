#include "proxy/admin/crl_endpoint.hpp"

#include <map>

#include "tls/crl_publication.hpp"
#include "tls/diagnose/inspect.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::admin {

Reply published_crl(const Snapshot& snapshot, const std::string& name) {
  std::map<std::string, X509_CRL*> by_name;  // sorted, for the listing
  for (const auto& listener : snapshot.listeners)
    for (const auto& crl : listener.tls->crls()) {
      auto& slot = by_name[tls::crl_file_name(X509_CRL_get_issuer(crl.get()))];
      if (!slot || tls::unix_time(X509_CRL_get0_lastUpdate(crl.get())) > tls::unix_time(X509_CRL_get0_lastUpdate(slot)))
        slot = crl.get();
    }
  if (name.empty()) {
    std::string listing;
    for (const auto& [file, crl] : by_name) listing += file + "  " + tls::diagnose::crl_issuer(crl) + "\n";
    if (listing.empty()) listing = "no listener loads a CRL (set `crl` in [listener.tls])\n";
    return {200, "text/plain; charset=utf-8", listing};
  }
  auto it = by_name.find(name);
  if (it == by_name.end())
    return {404, "text/plain; charset=utf-8", "no CRL named " + name + " is loaded; GET /crl/ lists them\n"};
  return {200, "application/pkix-crl", tls::crl_der(it->second)};
}

}  // namespace gatehouse::proxy::admin
