#include "tls/ca/ca_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gatehouse::tls::ca {
namespace fs = std::filesystem;

fs::path lock_file(const fs::path& dir) { return dir / "ca.lock"; }

Result<CaLock> CaLock::acquire(const fs::path& dir, Access access) {
  const fs::path file = lock_file(dir);
  CaLock lock;
  lock.fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock.fd_ < 0)
    return Result<CaLock>::failure("cannot open the CA lock " + file.string() + ": " + std::strerror(errno));
  lock.access_ = access;
  int rc;
  do {
    rc = ::flock(lock.fd_, access == Access::read_write ? LOCK_EX : LOCK_SH);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Result<CaLock>::failure("cannot lock " + file.string() + ": " + std::strerror(errno));
  return lock;
}

CaLock& CaLock::operator=(CaLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    access_ = other.access_;
    other.fd_ = -1;
  }
  return *this;
}

// Closing the descriptor releases the flock.
CaLock::~CaLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> make_private_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Result<bool>::failure("cannot create " + dir.string() + ": " + ec.message());
  // chmod, unlike mkdir, ignores the umask.
  if (::chmod(dir.c_str(), 0700) != 0)
    return Result<bool>::failure("cannot make " + dir.string() + " private (0700): " + std::strerror(errno));
  return true;
}

}  // namespace gatehouse::tls::ca
