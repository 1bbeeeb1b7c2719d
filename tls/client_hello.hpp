// Reading the few ClientHello fields that pick a server certificate: SNI, the signature
// algorithms, TLS 1.3 support and the TLS 1.2 ECDSA cipher suites.
#pragma once

#include <string>

#include "tls/bssl.hpp"

namespace gatehouse::tls {

struct ClientHelloFacts {
  std::string server_name;  // lower-case; empty when the client sent none
  bool offers_tls13 = false;
  bool offers_ecdsa_suite = false;  // a TLS 1.2 ECDHE_ECDSA suite
  bool accepts_ecdsa = false;       // an ECDSA signature algorithm
  bool sent_sigalgs = false;
};

ClientHelloFacts read_client_hello(const SSL_CLIENT_HELLO* hello);

// Does `name` match the certificate name `pattern` ("*.example.com" covers one label)?
bool name_matches(const std::string& pattern, const std::string& name);

}  // namespace gatehouse::tls
