// One CA folder, many `gatehouse ca` processes: every command holds DIR/ca.lock (flock) for its
// whole read-modify-write, so two issuances or a revocation beside an issuance never overwrite
// each other's index. Writers take it exclusively, readers (`list`) shared.
#pragma once

#include <filesystem>

#include "common/result.hpp"

namespace gatehouse::tls::ca {

enum class Access { read_only, read_write };

class CaLock {
 public:
  // Blocks until the lock is ours. The lock file is made (0600) if missing; the folder must exist.
  static Result<CaLock> acquire(const std::filesystem::path& dir, Access access);

  CaLock() = default;
  CaLock(CaLock&& other) noexcept : fd_(other.fd_), access_(other.access_) { other.fd_ = -1; }
  CaLock& operator=(CaLock&& other) noexcept;
  CaLock(const CaLock&) = delete;
  CaLock& operator=(const CaLock&) = delete;
  ~CaLock();

  bool held() const { return fd_ >= 0; }
  bool allows_writes() const { return held() && access_ == Access::read_write; }

 private:
  int fd_ = -1;
  Access access_ = Access::read_only;
};

std::filesystem::path lock_file(const std::filesystem::path& dir);

// Makes `dir` (and its parents) if needed and sets it to 0700 whatever the umask: CA folders hold
// keys and the record of who may get in.
Result<bool> make_private_folder(const std::filesystem::path& dir);

}  // namespace gatehouse::tls::ca
