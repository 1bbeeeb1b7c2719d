// The names a CSR asks for, read so `ca sign` can show them. They are copied into a certificate
// only with --use-csr-names, and then only after tls/ca/name_rules.hpp accepts them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tls/bssl.hpp"
#include "tls/ca/name_rules.hpp"

namespace gatehouse::tls::ca {

struct RequestedNames {
  SubjectNames names;                         // CN, O, OU and SANs: what may be copied
  std::vector<std::string> other_attributes;  // "L=Paris", "serialNumber=7": shown, never copied
  std::optional<NameProblem> cannot_copy;     // a SAN of a kind we do not issue, unreadable text, ...
};

RequestedNames requested_names(X509_REQ* csr);

// Several lines ("  CN: alice\n  SAN: dns:x\n"), control bytes escaped, long lists cut.
std::string describe(const RequestedNames& requested);

}  // namespace gatehouse::tls::ca
