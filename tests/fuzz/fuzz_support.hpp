// What the fuzz targets share: a scratch folder made once per process, and an in-memory file for
// loaders that take a path (memfd: no disk I/O per input).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace gatehouse::fuzz {

// A folder for the whole run, in memory (/dev/shm) where there is one: the CA target writes
// and fsyncs files for every input. Otherwise under $TMPDIR (or /tmp).
inline std::filesystem::path scratch_dir(const char* name) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                                   ? std::filesystem::path("/dev/shm")
                                   : std::filesystem::temp_directory_path();
  std::string pattern = (base / (std::string(name) + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) std::abort();
  return pattern;
}

// A file that lives in memory; path() names it for code that opens files.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("gatehouse-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  void hold(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  }
  std::filesystem::path path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace gatehouse::fuzz
