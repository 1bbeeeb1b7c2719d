#include "bench/identities.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <sstream>

#include "tls/ca/ca_folder.hpp"
#include "tls/pem_io.hpp"
#include "tls/pki/cert_builder.hpp"

namespace gatehouse::bench {
namespace {

namespace fs = std::filesystem;
using Identity = IdentitySet::Identity;
using Identities = std::shared_ptr<const IdentitySet>;

bssl::UniquePtr<CRYPTO_BUFFER> der_buffer(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return nullptr;
  bssl::UniquePtr<uint8_t> owned(der);
  return bssl::UniquePtr<CRYPTO_BUFFER>(CRYPTO_BUFFER_new(der, static_cast<size_t>(len), nullptr));
}

bool self_signed(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

// Who signs the minted identities, and what the client sends after its leaf.
struct Signer {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain_tail;  // intermediates (never a root)
};

Result<Signer> signer_from_files(const std::string& cert_file, const std::string& key_file) {
  auto chain = tls::read_certificates(cert_file);
  if (!chain) return Result<Signer>::failure(chain.error());
  auto key = tls::read_private_key(key_file);
  if (!key) return Result<Signer>::failure(key.error());
  Signer s;
  for (auto& c : *chain)
    if (!self_signed(c.get())) s.chain_tail.push_back(der_buffer(c.get()));
  s.cert = std::move(chain->front());
  s.key = std::move(*key);
  if (!X509_check_private_key(s.cert.get(), s.key.get()))
    return Result<Signer>::failure(key_file + " is not the private key of " + cert_file);
  return s;
}

// A `gatehouse ca` folder: its intermediate signs (its root when it has none).
Result<Signer> signer_from_ca_folder(const std::string& dir) {
  auto ca = tls::ca::CaFolder::open(dir, tls::ca::Access::read_only);
  if (!ca) return Result<Signer>::failure(ca.error());
  if (!ca->issuer_key())
    return Result<Signer>::failure(dir + ": the issuing key is not here (private/); bring it back to mint identities");
  Signer s;
  s.cert.reset(X509_dup(ca->issuer()));
  s.key = bssl::UpRef(ca->issuer_key());
  if (ca->issuer() != ca->root()) s.chain_tail.push_back(der_buffer(ca->issuer()));
  return s;
}

// A CA made for this run, written out for the target to trust.
Result<Signer> throwaway_signer(const std::string& out_dir, tls::pki::KeyType type) {
  Signer s;
  s.key = tls::pki::generate_key(type);
  tls::pki::CertSpec spec{.cn = "gatehouse-bench throwaway CA", .o = {"gatehouse-bench"}};
  spec.is_ca = true;
  spec.path_len = 0;
  spec.not_after = 7 * 86400;
  auto root = tls::pki::issue_certificate(spec, s.key.get(), nullptr, s.key.get());
  if (!root) return Result<Signer>::failure(root.error());
  s.cert = std::move(*root);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  for (auto [file, text, mode] : {std::tuple{"root.pem", tls::to_pem(s.cert.get()), 0644u},
                                  std::tuple{"root.key", tls::to_pem(s.key.get()), 0600u}})
    if (auto w = tls::write_file_atomic(fs::path(out_dir) / file, text, mode); !w)
      return Result<Signer>::failure(w.error());
  return s;
}

Result<Identities> mint(const Signer& signer, const IdentityArgs& args, tls::pki::KeyType type, int shard) {
  const int count = args.count;
  std::vector<Identity> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    Identity id;
    id.key = tls::pki::generate_key(type);
    tls::pki::CertSpec spec{.cn = "gatehouse-bench-" + std::to_string(shard) + "-" + std::to_string(i),
                            .o = {"gatehouse-bench"}};
    if (!args.ou.empty()) spec.ou = {args.ou};  // what the target's allow rules may ask for
    spec.purpose = tls::pki::Purpose::client;
    spec.not_after = 2 * 86400;  // a load test, not a deployment
    auto leaf = tls::pki::issue_certificate(spec, id.key.get(), signer.cert.get(), signer.key.get());
    if (!leaf) return Result<Identities>::failure("minting identity " + std::to_string(i) + ": " + leaf.error());
    id.chain.push_back(der_buffer(leaf->get()));
    for (const auto& c : signer.chain_tail) id.chain.push_back(bssl::UpRef(c));
    out.push_back(std::move(id));
  }
  return Identities(std::make_shared<IdentitySet>(std::move(out)));
}

// NAME.key with NAME-chain.pem (or NAME.pem), as `gatehouse ca issue` writes them in issued/.
Result<Identities> read_folder(const std::string& dir) {
  std::vector<Identity> out;
  std::error_code ec;
  std::vector<fs::path> keys;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".key") keys.push_back(e.path());
  std::sort(keys.begin(), keys.end());
  for (const auto& key_file : keys) {
    auto stem = key_file.parent_path() / key_file.stem();
    fs::path cert_file =
        fs::exists(stem.string() + "-chain.pem") ? stem.string() + "-chain.pem" : stem.string() + ".pem";
    if (!fs::exists(cert_file)) continue;
    auto chain = tls::read_certificates(cert_file);
    auto key = tls::read_private_key(key_file);
    if (!chain || !key) return Result<Identities>::failure(!chain ? chain.error() : key.error());
    if (!X509_check_private_key(chain->front().get(), key->get()))
      return Result<Identities>::failure(key_file.string() + " is not the private key of " + cert_file.string());
    Identity id;
    for (auto& c : *chain)
      if (id.chain.empty() || !self_signed(c.get())) id.chain.push_back(der_buffer(c.get()));
    id.key = std::move(*key);
    out.push_back(std::move(id));
  }
  if (ec || out.empty())
    return Result<Identities>::failure(dir + ": no NAME.key with NAME.pem or NAME-chain.pem in it");
  return Identities(std::make_shared<IdentitySet>(std::move(out)));
}

}  // namespace

bool IdentitySet::present_next(SSL* ssl) const {
  const auto& id = identities_[next_.fetch_add(1, std::memory_order_relaxed) % identities_.size()];
  std::vector<CRYPTO_BUFFER*> chain;
  for (const auto& c : id.chain) chain.push_back(c.get());
  return SSL_set_chain_and_key(ssl, chain.data(), chain.size(), id.key.get(), nullptr) == 1;
}

std::string reuse_warning(std::size_t identities, std::size_t presented) {
  if (identities == 0 || presented <= identities) return "";
  return std::to_string(presented - identities) + " of " + std::to_string(presented) +
         " handshakes (warm-up included) presented a certificate already presented, which the target may "
         "remember from its first verification: for a new certificate on every handshake, give --identities " +
         std::to_string(presented) + " or more";
}

void add_identity_options(CLI::App& app, IdentityArgs& args) {
  app.add_option("--identities", args.count,
                 "present N distinct client certificates in turn, minted before the load starts (instead of --cert)")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--identities-ca", args.ca_dir,
                 "a `gatehouse ca` folder whose intermediate (or root) signs the identities");
  app.add_option("--identities-ca-cert", args.ca_cert, "a CA certificate (PEM, intermediates after it) to sign them");
  app.add_option("--identities-ca-key", args.ca_key, "the private key of --identities-ca-cert");
  app.add_option("--identities-out", args.out_dir,
                 "with no CA given: make a throwaway CA and write DIR/root.pem (for the target to trust) and root.key");
  app.add_option("--identities-key", args.key_type, "the identities' key type")
      ->check(CLI::IsMember({"p256", "p384", "rsa2048"}));
  app.add_option("--identities-ou", args.ou, "an OU for the minted identities, e.g. one the target's routes allow");
  app.add_option("--identities-from", args.from_dir,
                 "present the certificate/key pairs in DIR instead (NAME.key with NAME-chain.pem or NAME.pem)");
}

Result<Identities> make_identities(const IdentityArgs& args, int shard) {
  using R = Result<Identities>;
  if (!args.from_dir.empty()) {
    if (args.count) return R::failure("give --identities or --identities-from, not both");
    return read_folder(args.from_dir);
  }
  const bool any_source =
      !args.ca_dir.empty() || !args.ca_cert.empty() || !args.ca_key.empty() || !args.out_dir.empty();
  if (!args.count) return any_source ? R::failure("--identities-ca/-out need --identities N") : R(Identities{});
  const auto type = args.key_type == "p384"      ? tls::pki::KeyType::ecdsa_p384
                    : args.key_type == "rsa2048" ? tls::pki::KeyType::rsa2048
                                                 : tls::pki::KeyType::ecdsa_p256;
  Result<Signer> signer = Result<Signer>::failure(
      "--identities needs a CA to sign them: --identities-ca DIR, --identities-ca-cert/--identities-ca-key, or "
      "--identities-out DIR for a throwaway CA the target must trust");
  if (!args.ca_dir.empty())
    signer = signer_from_ca_folder(args.ca_dir);
  else if (!args.ca_cert.empty() || !args.ca_key.empty())
    signer = args.ca_cert.empty() || args.ca_key.empty()
                 ? Result<Signer>::failure("give both --identities-ca-cert and --identities-ca-key")
                 : signer_from_files(args.ca_cert, args.ca_key);
  else if (!args.out_dir.empty())
    signer = throwaway_signer(args.out_dir, type);
  if (!signer) return R::failure(signer.error());
  return mint(*signer, args, type, shard);
}

Result<double> parse_resume_share(const std::string& mix) {
  double full = -1, resume = -1;
  std::istringstream in(mix);
  for (std::string item; std::getline(in, item, ',');) {
    auto eq = item.find('=');
    double v = -1;
    try {
      v = eq == std::string::npos ? -1 : std::stod(item.substr(eq + 1));
    } catch (const std::exception&) {
    }
    auto name = item.substr(0, eq);
    if (v < 0 || v > 1 || (name != "full" && name != "resume"))
      return Result<double>::failure("--mix '" + mix + "': want full=SHARE,resume=SHARE (e.g. full=0.2,resume=0.8)");
    (name == "full" ? full : resume) = v;
  }
  if (full < 0 && resume < 0) return Result<double>::failure("--mix '" + mix + "' names no share");
  if (resume < 0) resume = 1 - full;
  if (full >= 0 && std::abs(full + resume - 1) > 1e-9)
    return Result<double>::failure("--mix '" + mix + "': the shares must add up to 1");
  return resume;
}

}  // namespace gatehouse::bench
