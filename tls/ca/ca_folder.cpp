#include "tls/ca/ca_folder.hpp"

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tls/ca/name_rules.hpp"
#include "tls/crl_publication.hpp"
#include "tls/identity.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {
namespace fs = std::filesystem;
using R = Result<CaFolder>;

namespace {

constexpr std::int64_t kDay = 86400;

fs::path marker(const fs::path& dir) { return dir / "ca.json"; }
fs::path key_path(const fs::path& dir, const char* name) { return dir / "private" / (std::string(name) + ".key"); }

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100 || name[0] == '.') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') return false;
  return true;
}

std::string name_from_cn(const std::string& cn) {
  std::string out;
  for (char c : cn) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '@' ? c : '-';
  return out;
}

const char* profile_name(pki::Purpose p) { return p == pki::Purpose::server ? "server" : "client"; }

IndexEntry entry_for(X509* cert, const std::string& name, const std::string& profile) {
  return IndexEntry{serial_text(cert),
                    name,
                    subject_line(cert),
                    issuer_line(cert),
                    profile,
                    unix_time(X509_get0_notBefore(cert)),
                    unix_time(X509_get0_notAfter(cert))};
}

// Issues with a serial the index has never seen (random serials collide essentially never).
Result<bssl::UniquePtr<X509>> issue_unique(const CaIndex& index, const pki::CertSpec& spec, EVP_PKEY* key, X509* issuer,
                                           EVP_PKEY* issuer_key) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto cert = pki::issue_certificate(spec, key, issuer, issuer_key);
    if (!cert || !index.has_serial(serial_text(cert->get()))) return cert;
  }
  return Result<bssl::UniquePtr<X509>>::failure("could not draw an unused serial number");
}

// ca.json's crl_url, written by `ca init --crl-url` or by hand; checked like the option.
Result<std::string> read_crl_url(const fs::path& file) {
  std::ifstream in(file);
  auto meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || !meta.is_object())
    return Result<std::string>::failure(file.string() + " is not valid JSON");
  auto it = meta.find("crl_url");
  if (it == meta.end()) return std::string();
  if (!it->is_string()) return Result<std::string>::failure(file.string() + ": crl_url must be a string");
  auto checked = checked_crl_base_url(it->get<std::string>());
  if (!checked) return Result<std::string>::failure(file.string() + ": " + checked.error());
  return checked;
}

}  // namespace

const std::vector<std::string>& revocation_reasons() {
  static const std::vector<std::string> kReasons = {"unspecified",        "keyCompromise",      "cACompromise",
                                                    "affiliationChanged", "superseded",         "cessationOfOperation",
                                                    "certificateHold",    "privilegeWithdrawn", "aACompromise"};
  return kReasons;
}

fs::path CaFolder::issued_path(const std::string& name, const char* suffix) const {
  return dir_ / "issued" / (name + suffix);
}

Result<bool> CaFolder::check_writable() const {
  if (!lock_.allows_writes())
    return Result<bool>::failure(dir_.string() + " was opened read-only; it cannot be changed");
  return true;
}

Result<bool> CaFolder::check_free(const std::vector<fs::path>& files, bool force) const {
  if (force) return true;
  for (const auto& f : files)
    if (fs::exists(f)) return Result<bool>::failure(f.string() + " already exists; add --force to replace it");
  return true;
}

Result<CaFolder> CaFolder::init(const fs::path& dir, const std::string& name, const std::string& organization,
                                pki::KeyType key_type, int days, int path_len, const std::string& crl_base_url,
                                bool force) {
  if (name.empty()) return R::failure("the root needs a name (--name \"Acme Staging Root\")");
  auto base_url = checked_crl_base_url(crl_base_url);
  if (!base_url) return R::failure(base_url.error());
  if (!force && fs::exists(marker(dir)))
    return R::failure(dir.string() + " already holds a CA; add --force to replace it (its keys are lost)");
  if (auto made = make_private_folder(dir); !made) return R::failure(made.error());
  CaFolder ca;
  auto lock = CaLock::acquire(dir, Access::read_write);
  if (!lock) return R::failure(lock.error());
  ca.lock_ = std::move(*lock);
  // Checked again under the lock: another `ca init` may have won the race.
  if (!force && fs::exists(marker(dir)))
    return R::failure(dir.string() + " already holds a CA; add --force to replace it (its keys are lost)");
  for (const char* sub : {"private", "issued"})
    if (auto made = make_private_folder(dir / sub); !made) return R::failure(made.error());
  std::error_code ec;
  ca.dir_ = dir;
  ca.crl_url_ = *base_url;
  ca.root_key_ = pki::generate_key(key_type);
  // One O= for the whole CA lets a diagnosis recognise "our intermediate, not sent" by name.
  pki::CertSpec spec{.cn = name,
                     .o = {organization.empty() ? name : organization},
                     .not_after = days * kDay,
                     .is_ca = true,
                     .path_len = path_len};
  auto root = pki::issue_certificate(spec, ca.root_key_.get(), nullptr, ca.root_key_.get());
  if (!root) return R::failure(root.error());
  ca.root_ = std::move(*root);

  if (auto w = write_file_atomic(key_path(dir, "root"), to_pem(ca.root_key_.get()), 0600); !w)
    return R::failure(w.error());
  if (auto w = write_file_atomic(dir / "root.pem", to_pem(ca.root_.get()), 0644); !w) return R::failure(w.error());
  nlohmann::json meta = {{"format", "gatehouse-ca/1"}, {"name", name}, {"created", std::time(nullptr)}};
  if (!ca.crl_url_.empty()) meta["crl_url"] = ca.crl_url_;
  if (auto w =
          write_file_atomic(dir / "index.json", "{\"format\": \"gatehouse-ca-index/1\", \"certificates\": []}\n", 0644);
      !w)
    return R::failure(w.error());
  fs::remove(dir / "intermediate.pem", ec);
  fs::remove(key_path(dir, "intermediate"), ec);
  if (auto w = write_file_atomic(marker(dir), meta.dump(2) + "\n", 0644); !w) return R::failure(w.error());
  return ca;
}

Result<CaFolder> CaFolder::open(const fs::path& dir, Access access) {
  auto not_a_ca = [&] {
    return R::failure(dir.string() +
                      " is not a Gatehouse CA folder (no ca.json); create one with "
                      "`gatehouse ca init " +
                      dir.string() + " --name ...`");
  };
  if (!fs::exists(marker(dir))) return not_a_ca();
  CaFolder ca;
  auto lock = CaLock::acquire(dir, access);
  if (!lock) return R::failure(lock.error());
  ca.lock_ = std::move(*lock);
  if (!fs::exists(marker(dir))) return not_a_ca();
  ca.dir_ = dir;
  auto url = read_crl_url(marker(dir));
  if (!url) return R::failure(url.error());
  ca.crl_url_ = *url;
  auto root = read_certificates(dir / "root.pem");
  if (!root) return R::failure(root.error());
  ca.root_ = std::move(root->front());
  if (fs::exists(key_path(dir, "root"))) {
    auto key = read_private_key(key_path(dir, "root"));
    if (!key) return R::failure(key.error());
    if (!X509_check_private_key(ca.root_.get(), key->get())) {
      drain_errors();
      return R::failure(key_path(dir, "root").string() + " is not the key of root.pem");
    }
    ca.root_key_ = std::move(*key);
  }
  if (fs::exists(dir / "intermediate.pem")) {
    auto inter = read_certificates(dir / "intermediate.pem");
    if (!inter) return R::failure(inter.error());
    auto key = read_private_key(key_path(dir, "intermediate"));
    if (!key) return R::failure(key.error());
    ca.intermediate_ = std::move(inter->front());
    ca.intermediate_key_ = std::move(*key);
  }
  auto index = CaIndex::load(dir / "index.json");
  if (!index) return R::failure(index.error());
  ca.index_ = std::move(*index);
  return ca;
}

Result<bool> CaFolder::add_intermediate(const std::string& name, int days, int path_len, bool force) {
  if (auto writable = check_writable(); !writable) return writable;
  if (!root_key_)
    return Result<bool>::failure("the root key (private/root.key) is not here; bring it back to make an intermediate");
  if (intermediate_ && !force)
    return Result<bool>::failure("this CA already has an intermediate; add --force to replace it");
  auto key = pki::generate_key(pki::KeyType::ecdsa_p256);
  pki::CertSpec spec{.cn = name,
                     .o = extract_identity(root_.get()).o,
                     .not_after = days * kDay,
                     .is_ca = true,
                     .path_len = path_len,
                     .crl_url = crl_url(crl_url_, X509_get_subject_name(root_.get()))};
  auto cert = issue_unique(index_, spec, key.get(), root_.get(), root_key_.get());
  if (!cert) return Result<bool>::failure(cert.error());
  index_.entries().push_back(entry_for(cert->get(), "intermediate", "intermediate"));
  for (auto [path, text, mode] : {std::tuple{key_path(dir_, "intermediate"), to_pem(key.get()), 0600u},
                                  std::tuple{dir_ / "intermediate.pem", to_pem(cert->get()), 0644u}}) {
    if (auto w = write_file_atomic(path, text, mode); !w) return w;
  }
  intermediate_ = std::move(*cert);
  intermediate_key_ = std::move(key);
  return index_.save(dir_ / "index.json");
}

Result<bssl::UniquePtr<X509>> CaFolder::issue_in_window(pki::CertSpec spec, const LeafRequest& request,
                                                        EVP_PKEY* public_key) const {
  if (!request.not_before) return issue_unique(index_, spec, public_key, issuer(), issuer_key());
  // The builder takes offsets from the clock; a second ticking between the two reads would
  // shift the dates, so the certificate is made again until they are exactly those asked for.
  for (int attempt = 0;; ++attempt) {
    const std::int64_t now = std::time(nullptr);
    spec.not_before = *request.not_before - now;
    spec.not_after = *request.not_after - now;
    auto cert = issue_unique(index_, spec, public_key, issuer(), issuer_key());
    if (!cert || attempt == 3 ||
        (unix_time(X509_get0_notBefore(cert->get())) == *request.not_before &&
         unix_time(X509_get0_notAfter(cert->get())) == *request.not_after))
      return cert;
  }
}

IndexEntry* CaFolder::current_entry(const fs::path& cert_file) {
  std::error_code ec;
  if (!fs::exists(cert_file, ec)) return nullptr;
  auto certs = read_certificates(cert_file);
  if (!certs) return nullptr;  // not ours to judge: the new certificate replaces it either way
  return index_.find_serial(serial_text(certs->front().get()));
}

Result<IssuedFiles> CaFolder::issue(const LeafRequest& request) {
  auto key = pki::generate_key(request.key);
  return finish_leaf(request, key.get(), key.get());
}

Result<IssuedFiles> CaFolder::finish_leaf(const LeafRequest& request, EVP_PKEY* public_key, EVP_PKEY* private_key) {
  using RF = Result<IssuedFiles>;
  if (auto writable = check_writable(); !writable) return RF::failure(writable.error());
  SubjectNames names{.cn = {}, .o = request.o, .ou = request.ou, .sans = request.sans};
  if (!request.cn.empty()) names.cn.push_back(request.cn);
  if (auto problem = check_names(names, "the request")) return RF::failure(problem->message);
  std::string name = request.name.empty() ? name_from_cn(request.cn) : request.name;
  if (!valid_name(name)) return RF::failure("'" + name + "' cannot be a file name; choose one with --name");
  if (!issuer_key()) return RF::failure("the issuing CA's key is not in " + (dir_ / "private").string());
  if (request.not_before.has_value() != request.not_after.has_value())
    return RF::failure("give both --not-before and --not-after, or --days");
  if (request.not_after && *request.not_after <= *request.not_before)
    return RF::failure("--not-after (" + iso8601(*request.not_after) + ") must come after --not-before (" +
                       iso8601(*request.not_before) + ")");
  if (!request.not_after && request.days <= 0) return RF::failure("--days must be a positive number of days");
  pki::CertSpec spec{.cn = request.cn,
                     .o = request.o,
                     .ou = request.ou,
                     .sans = request.sans,
                     .not_after = request.days * std::int64_t{kDay},
                     .purpose = request.profile,
                     .crl_url = crl_url(crl_url_, X509_get_subject_name(issuer()))};
  // Browsers ignore the CN: a server certificate must carry its name as a SAN.
  bool has_name_san = false;
  for (const auto& s : spec.sans) has_name_san |= s.starts_with("dns:") || s.starts_with("ip:");
  if (request.profile == pki::Purpose::server && !has_name_san) {
    if (request.cn.empty()) return RF::failure("a server certificate needs --cn or --san dns:NAME");
    bool is_ip =
        request.cn.find_first_not_of("0123456789.") == std::string::npos || request.cn.find(':') != std::string::npos;
    spec.sans.push_back((is_ip ? "ip:" : "dns:") + request.cn);
  }
  IssuedFiles files{issued_path(name, ".pem"), private_key ? issued_path(name, ".key") : fs::path(),
                    issued_path(name, "-chain.pem"), ""};
  if (auto free = check_free({files.cert, files.chain}, request.force); !free) return RF::failure(free.error());
  auto cert = issue_in_window(spec, request, public_key);
  if (!cert) return RF::failure(cert.error());
  files.serial = serial_text(cert->get());
  IndexEntry* replaced = current_entry(files.cert);
  std::string chain = to_pem(cert->get()) + (intermediate_ ? to_pem(intermediate_.get()) : "");
  if (auto made = make_private_folder(dir_ / "issued"); !made) return RF::failure(made.error());
  if (private_key)
    if (auto w = write_file_atomic(files.key, to_pem(private_key), 0600); !w) return RF::failure(w.error());
  if (auto w = write_file_atomic(files.cert, to_pem(cert->get()), 0644); !w) return RF::failure(w.error());
  if (auto w = write_file_atomic(files.chain, chain, 0644); !w) return RF::failure(w.error());
  // The replaced certificate's revocation is saved with the new one's entry, in one write.
  if (replaced) {
    const std::int64_t effective = std::time(nullptr) + std::max<std::int64_t>(request.supersede_delay, 0);
    if (!replaced->revoked || replaced->revoked_at > effective) {
      replaced->revoked = true;
      replaced->revoked_at = effective;
      replaced->reason = "superseded";
    }
    files.superseded = *replaced;
  }
  index_.entries().push_back(entry_for(cert->get(), name, profile_name(request.profile)));
  if (auto saved = index_.save(dir_ / "index.json"); !saved) return RF::failure(saved.error());
  return files;
}

Result<bool> CaFolder::set_crl_base_url(const std::string& url) {
  if (auto writable = check_writable(); !writable) return writable;
  auto checked = checked_crl_base_url(url);
  if (!checked) return Result<bool>::failure(checked.error());
  std::ifstream in(marker(dir_));
  auto meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || !meta.is_object())
    return Result<bool>::failure(marker(dir_).string() + " is not valid JSON");
  if (checked->empty())
    meta.erase("crl_url");
  else
    meta["crl_url"] = *checked;
  if (auto w = write_file_atomic(marker(dir_), meta.dump(2) + "\n", 0644); !w) return w;
  crl_url_ = *checked;
  return true;
}

Result<std::string> CaFolder::resolve_serial(const std::string& what) const {
  using RS = Result<std::string>;
  std::error_code ec;
  fs::path file =
      valid_name(what) && fs::exists(issued_path(what, ".pem"), ec) ? issued_path(what, ".pem") : fs::path(what);
  if (fs::is_regular_file(file, ec)) {
    auto certs = read_certificates(file);
    if (!certs) return RS::failure(certs.error());
    return serial_text(certs->front().get());
  }
  // A name whose file is gone (the intermediate's, or deleted by hand): its newest entry.
  for (auto it = index_.entries().rbegin(); it != index_.entries().rend(); ++it)
    if (it->name == what) return it->serial;
  if (auto serial = normalize_serial(what)) return *serial;
  return RS::failure("'" + what + "' is neither a name under " + (dir_ / "issued").string() +
                     ", a certificate file nor a serial number (see `gatehouse ca list`)");
}

Result<IndexEntry> CaFolder::revoke(const std::string& what, const std::string& reason) {
  using RE = Result<IndexEntry>;
  if (auto writable = check_writable(); !writable) return RE::failure(writable.error());
  const auto& reasons = revocation_reasons();
  if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end())
    return RE::failure("unknown reason '" + reason +
                       "'; use one of: keyCompromise, superseded, "
                       "affiliationChanged, cessationOfOperation, privilegeWithdrawn, cACompromise, "
                       "certificateHold, unspecified");
  auto serial = resolve_serial(what);
  if (!serial) return RE::failure(serial.error());
  IndexEntry* entry = index_.find_serial(*serial);
  if (!entry) return RE::failure("serial " + *serial + " was not issued by this CA (see `gatehouse ca list`)");
  const std::int64_t now = std::time(nullptr);
  if (CaIndex::revoked_by(*entry, now))
    return RE::failure("serial " + *serial + " (" + entry->subject + ") is already revoked");
  // A superseded certificate still in its overlap is revoked now, for the reason given.
  entry->revoked = true;
  entry->revoked_at = now;
  entry->reason = reason;
  IndexEntry copy = *entry;
  if (auto saved = index_.save(dir_ / "index.json"); !saved) return RE::failure(saved.error());
  return copy;
}

}  // namespace gatehouse::tls::ca
