// `ca export DIR NAME --bundle`: everything a tester needs, in one folder to send: NAME.p12
// (key, certificate, chain), root.pem (to trust first) and README.txt (app/tester_sheet.hpp).
// The password is never written there: it travels another way.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "tls/ca/ca_folder.hpp"

namespace gatehouse::app {

struct BundleRequest {
  std::string name;           // as under issued/ (what `ca issue` printed)
  std::filesystem::path out;  // the folder to write (the CLI's default: DIR/bundles/NAME)
  std::string password;       // for the .p12
  bool legacy = false;        // 3DES/RC2 .p12 for old importers
  bool force = false;         // write into an existing folder, replacing the three files
  std::string site, contact;  // named in README.txt when given
};

struct BundleFiles {
  std::filesystem::path folder, p12, root, readme;
  std::string friendly_name;  // what the tester's key store shows
};

// Writes the folder, or nothing: a folder made here is removed again when a file fails.
Result<BundleFiles> write_tester_bundle(const tls::ca::CaFolder& ca, const BundleRequest& request);

}  // namespace gatehouse::app
