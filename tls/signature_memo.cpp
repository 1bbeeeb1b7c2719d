#include "tls/signature_memo.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "tls/der.hpp"

namespace gatehouse::tls {
namespace {

// A handful of CAs serve a deployment; the bound only stops a flood of distinct ones.
constexpr std::size_t kMaxRemembered = 256;

struct Known {
  bssl::UniquePtr<X509> cert;
  std::optional<std::string> encoded;  // der_of(cert), computed once
};

struct BytesHash {
  using is_transparent = void;  // find() by string_view: no copy of the DER to look it up
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using Pair = std::pair<const void*, const X509*>;  // (certificate or CRL, issuer)
struct PairHash {
  std::size_t operator()(const Pair& p) const {
    return std::hash<const void*>{}(p.first) * 1000003u ^ std::hash<const void*>{}(p.second);
  }
};

struct Memory {
  std::size_t capacity = kMaxRemembered;
  std::unordered_map<std::string, Known, BytesHash, std::equal_to<>> by_der;  // exact bytes
  std::unordered_map<const X509*, Known*> by_object;                          // nodes never move
  // (certificate, issuer) objects whose X509_verify passed. `held` keeps each object alive while
  // it is named here, so an address can never come back as another certificate.
  std::unordered_set<Pair, PairHash> signatures;
  std::unordered_set<Pair, PairHash> crl_signatures;
  std::vector<bssl::UniquePtr<X509>> held;
  std::vector<bssl::UniquePtr<X509_CRL>> held_crls;

  void clear() {
    by_object.clear();
    by_der.clear();
    signatures.clear();
    crl_signatures.clear();
    held.clear();
    held_crls.clear();
  }
};

Memory& memory() {
  thread_local Memory m;
  return m;
}

std::string_view bytes_of(const CRYPTO_BUFFER* buffer) {
  return {reinterpret_cast<const char*>(CRYPTO_BUFFER_data(buffer)), CRYPTO_BUFFER_len(buffer)};
}

int run_index() {
  static const int index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool signature_passes(X509* cert, X509* issuer, bool rememberable, MemoRun& run) {
  if (rememberable && memory().signatures.count({cert, issuer})) return true;
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(issuer));
  if (!key || X509_verify(cert, key.get()) <= 0) return false;
  if (rememberable) run.checked.emplace_back(cert, issuer);
  return true;
}

// What BoringSSL's internal_verify checks once the path is built, with the flags ChainVerifier
// sets (partial chains allowed, no self-signature check): every certificate's
// signature by the next one but the last's, and every certificate's dates, with the same
// functions. Stricter only in giving up on anything else.
bool signatures_and_dates_pass(X509_STORE_CTX* ctx, MemoRun& run) {
  const unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
  if (!(flags & X509_V_FLAG_PARTIAL_CHAIN) || (flags & X509_V_FLAG_CHECK_SS_SIGNATURE))
    return false;
  if (((flags & X509_V_FLAG_USE_CHECK_TIME) != 0) != run.at.has_value()) return false;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  const std::size_t n = chain ? sk_X509_num(chain) : 0;
  if (n == 0) return false;
  time_t when = run.at ? static_cast<time_t>(*run.at) : 0;
  time_t* at = run.at ? &when : nullptr;  // null: now, as BoringSSL reads it
  for (std::size_t i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    if (X509_cmp_time(X509_get0_notBefore(cert), at) >= 0 || X509_cmp_time(X509_get0_notAfter(cert), at) <= 0)
      return false;
    // The client's own certificate is new on every handshake: never remembered.
    if (i + 1 < n && !signature_passes(cert, sk_X509_value(chain, i + 1), i > 0, run)) return false;
  }
  return true;
}

// BoringSSL's check_crl, for a CRL its scoring chose for the certificate at the context's error
// depth, with ChainVerifier's flags (no extended CRL support, no deltas, no Suite B): the CRL's
// issuer as it finds it, that issuer's key usage, the CRL's dates and signature. Stricter in
// giving up on a CRL with an issuing distribution point, a delta indicator or a critical
// extension (their scope rules are BoringSSL's to apply), and on dates it does not accept outright.
bool crl_passes(X509_STORE_CTX* ctx, X509_CRL* crl, MemoRun& run) {
  const unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
  if (flags & (X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS | X509_V_FLAG_SUITEB_128_LOS)) return false;
  if (((flags & X509_V_FLAG_USE_CHECK_TIME) != 0) != run.at.has_value()) return false;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  const int last = chain ? static_cast<int>(sk_X509_num(chain)) - 1 : -1;
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  if (depth < 0 || depth > last) return false;
  X509* cert = sk_X509_value(chain, depth);
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0 ||
      X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) >= 0 ||
      X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
    return false;
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i)
    if (X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i))) return false;
  X509* issuer = X509_STORE_CTX_get0_current_issuer(ctx);
  if (!issuer && depth < last) issuer = sk_X509_value(chain, depth + 1);
  if (!issuer && X509_check_issued(sk_X509_value(chain, last), sk_X509_value(chain, last)) == X509_V_OK)
    issuer = sk_X509_value(chain, last);
  // Only a CRL signed by the certificate's own issuer on the verified path (BoringSSL's "same
  // path" case): any other signer would need the CRL path validation that only the full check does.
  X509* on_path = sk_X509_value(chain, depth < last ? depth + 1 : last);
  if (!issuer || issuer != on_path) return false;
  if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) && !(X509_get_key_usage(issuer) & KU_CRL_SIGN)) return false;
  time_t when = run.at ? static_cast<time_t>(*run.at) : 0;
  time_t* at = run.at ? &when : nullptr;
  if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), at) >= 0) return false;
  if (X509_CRL_get0_nextUpdate(crl) && X509_cmp_time(X509_CRL_get0_nextUpdate(crl), at) <= 0) return false;
  if (memory().crl_signatures.count({crl, issuer})) return true;
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(issuer));
  if (!key || X509_CRL_verify(crl, key.get()) <= 0) return false;
  run.crls_checked.emplace_back(crl, issuer);
  return true;
}

int check_crl_through_memory(X509_STORE_CTX* ctx, X509_CRL* crl) {
  auto* run = static_cast<MemoRun*>(X509_STORE_CTX_get_ex_data(ctx, run_index()));
  if (run && crl_passes(ctx, crl, *run)) return 1;
  if (run) run->gave_up = true;
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
  return 0;
}

int verify_through_memory(X509_STORE_CTX* ctx) {
  auto* run = static_cast<MemoRun*>(X509_STORE_CTX_get_ex_data(ctx, run_index()));
  if (run && signatures_and_dates_pass(ctx, *run)) return 1;
  if (run) run->gave_up = true;
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
  return 0;
}

}  // namespace

void SignatureMemo::set_thread_capacity(std::size_t limit) {
  memory().clear();
  memory().capacity = std::min(limit, kMaxRemembered);
}

bool SignatureMemo::enabled() { return memory().capacity > 0; }

bssl::UniquePtr<X509> SignatureMemo::parse(const CRYPTO_BUFFER* buffer) {
  auto& m = memory();
  if (m.capacity) {
    auto it = m.by_der.find(bytes_of(buffer));
    if (it != m.by_der.end()) return bssl::UpRef(it->second.cert);
  }
  return bssl::UniquePtr<X509>(X509_parse_from_buffer(const_cast<CRYPTO_BUFFER*>(buffer)));
}

void SignatureMemo::keep(const STACK_OF(CRYPTO_BUFFER) * buffers, const CertChain& sent, const MemoRun& run) {
  auto& m = memory();
  if (!m.capacity || !buffers || sk_CRYPTO_BUFFER_num(buffers) != sent.size() + 1) return;
  if (m.by_der.size() + sent.size() > m.capacity || m.signatures.size() + run.checked.size() > m.capacity ||
      m.crl_signatures.size() + run.crls_checked.size() > m.capacity)
    m.clear();  // crude but bounded; the next chains refill it
  for (std::size_t i = 0; i < sent.size(); ++i) {
    // Only an intermediate of the verified path: a client may append anything to a good chain,
    // and that must not push the good ones out.
    const bool on_path = std::any_of(run.checked.begin(), run.checked.end(),
                                     [&](const auto& pair) { return pair.first == sent[i].get(); });
    if (!on_path) continue;
    auto [it, added] = m.by_der.try_emplace(std::string(bytes_of(sk_CRYPTO_BUFFER_value(buffers, i + 1))));
    if (!added) continue;
    it->second.cert = bssl::UpRef(sent[i]);
    m.by_object[it->second.cert.get()] = &it->second;
  }
  for (const auto& [cert, issuer] : run.checked) {
    if (!m.signatures.emplace(cert, issuer).second) continue;
    m.held.push_back(bssl::UpRef(cert));
    m.held.push_back(bssl::UpRef(issuer));
  }
  for (const auto& [crl, issuer] : run.crls_checked) {
    if (!m.crl_signatures.emplace(crl, issuer).second) continue;
    m.held_crls.push_back(bssl::UpRef(crl));
    m.held.push_back(bssl::UpRef(issuer));
  }
}

std::optional<std::string> SignatureMemo::encoded(const X509* cert) {
  auto& m = memory();
  auto it = m.by_object.find(cert);
  if (it == m.by_object.end()) return std::nullopt;
  if (!it->second->encoded) it->second->encoded = der_of(cert);
  return it->second->encoded;
}

void SignatureMemo::install(X509_STORE* store) {
  X509_STORE_set_verify(store, &verify_through_memory);
  X509_STORE_set_check_crl(store, &check_crl_through_memory);
}

bool SignatureMemo::attach(X509_STORE_CTX* ctx, MemoRun* run) {
  return X509_STORE_CTX_set_ex_data(ctx, run_index(), run) == 1;
}

std::pair<std::size_t, std::size_t> SignatureMemo::size() {
  return {memory().by_der.size(), memory().signatures.size() + memory().crl_signatures.size()};
}

}  // namespace gatehouse::tls
