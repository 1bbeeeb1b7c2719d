// The development PKI behind `gatehouse run` with no config: a root, an intermediate, a
// server certificate for localhost, one tester certificate and the two CAs' (empty) CRLs, made
// on first run. Its certificates name their CRL at the embedded default's admin listener.
#pragma once

#include <filesystem>

#include "common/result.hpp"

namespace gatehouse::tls::pki {

// The embedded default's admin listener, which serves the dev CRLs under /crl/.
inline constexpr const char* kDevAdminAddress = "127.0.0.1:9901";

struct DevPki {
  std::filesystem::path dir;
  std::filesystem::path root_cert() const { return dir / "root.pem"; }
  std::filesystem::path intermediate_cert() const { return dir / "intermediate.pem"; }
  std::filesystem::path server_chain() const { return dir / "server.pem"; }  // leaf + intermediate
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path tester_chain() const { return dir / "tester.pem"; }  // leaf + intermediate
  std::filesystem::path tester_key() const { return dir / "tester.key"; }
  std::filesystem::path crl() const { return dir / "crl.pem"; }  // the intermediate's, then the root's
};

// Creates the files in `dir` unless they are all there and still valid for a day.
// `created` tells whether anything was written.
Result<DevPki> ensure_dev_pki(const std::filesystem::path& dir, bool* created = nullptr);

}  // namespace gatehouse::tls::pki
