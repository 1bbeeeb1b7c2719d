#include "app/tester_bundle.hpp"

#include <fstream>
#include <sstream>

#include "app/tester_sheet.hpp"
#include "tls/ca/pkcs12_export.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {
namespace fs = std::filesystem;
namespace {

// root.pem byte for byte: the tester trusts exactly what the proxy verifies against.
Result<std::string> contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  if (!(in && text << in.rdbuf())) return Result<std::string>::failure("cannot read " + file.string());
  return text.str();
}

}  // namespace

Result<BundleFiles> write_tester_bundle(const tls::ca::CaFolder& ca, const BundleRequest& r) {
  using RB = Result<BundleFiles>;
  BundleFiles files;
  files.folder = r.out;
  files.p12 = files.folder / (r.name + ".p12");
  files.root = files.folder / "root.pem";
  files.readme = files.folder / "README.txt";
  std::error_code ec;
  const bool existed = fs::exists(files.folder, ec);
  if (existed && !r.force)
    return RB::failure(files.folder.string() + " already exists; add --force to replace the bundle in it");
  if (existed && !fs::is_directory(files.folder, ec))
    return RB::failure(files.folder.string() + " exists and is not a folder");
  auto chain = tls::read_certificates(ca.issued_path(r.name, "-chain.pem"));
  if (!chain) return RB::failure(chain.error() + " (is the name right? see `gatehouse ca list`)");
  files.friendly_name = tls::ca::friendly_name(chain->front().get());
  auto root_pem = contents(ca.dir() / "root.pem");
  if (!root_pem) return RB::failure(root_pem.error());

  // The folder is private, like the CA's: the .p12 is a secret until it is sent.
  if (auto made = tls::ca::make_private_folder(files.folder); !made) return RB::failure(made.error());
  auto undo = [&](const std::string& error) {
    if (!existed) fs::remove_all(files.folder, ec);
    return RB::failure(error);
  };
  if (auto p12 = tls::ca::export_pkcs12(ca.issued_path(r.name, "-chain.pem"), ca.issued_path(r.name, ".key"),
                                        r.password, r.legacy, files.p12);
      !p12)
    return undo(p12.error());
  if (auto w = tls::write_file_atomic(files.root, *root_pem, 0644); !w) return undo(w.error());
  const std::string sheet = tester_sheet({.p12_file = files.p12.filename().string(),
                                          .friendly_name = files.friendly_name,
                                          .site = r.site,
                                          .contact = r.contact});
  if (auto w = tls::write_file_atomic(files.readme, sheet, 0644); !w) return undo(w.error());
  return files;
}

}  // namespace gatehouse::app
