// Many client identities: gatehouse-bench can present a different certificate on every
// handshake, as a fleet of clients would, so that the target pays its real verification cost
// instead of verifying one repeated certificate. Minted before the measured window (signed by
// a `gatehouse ca` folder, a CA certificate and key, or a throwaway CA it writes out), or read
// from a folder of certificate/key pairs.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tls/bssl.hpp"

namespace CLI {
class App;
}

namespace gatehouse::bench {

class IdentitySet {
 public:
  struct Identity {
    std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain;  // leaf first, then intermediates
    bssl::UniquePtr<EVP_PKEY> key;
  };
  explicit IdentitySet(std::vector<Identity> identities) : identities_(std::move(identities)) {}

  std::size_t size() const { return identities_.size(); }
  // Presents the next identity (round robin, shared by all threads) on `ssl`; false on failure.
  bool present_next(SSL* ssl) const;
  // How many handshakes were given an identity so far (warm-up included).
  std::size_t presented() const { return next_.load(std::memory_order_relaxed); }

 private:
  std::vector<Identity> identities_;
  mutable std::atomic<std::size_t> next_{0};
};

struct IdentityArgs {
  int count = 0;
  std::string ca_dir, ca_cert, ca_key, out_dir, from_dir, key_type = "p256", ou;
};
void add_identity_options(CLI::App& app, IdentityArgs& args);

// Null when no identities were asked for. `shard` goes into the names, so shards mint their own.
Result<std::shared_ptr<const IdentitySet>> make_identities(const IdentityArgs& args, int shard);

// When `presented` handshakes went round `identities` more than once: a warning that the later
// ones showed certificates the target had already seen (which it may remember, so they cost it
// less than new ones), and how many identities would make each handshake new. Else "".
std::string reuse_warning(std::size_t identities, std::size_t presented);

// "--mix full=0.2,resume=0.8" -> 0.8, the share of handshakes that offer a session.
Result<double> parse_resume_share(const std::string& mix);

}  // namespace gatehouse::bench
