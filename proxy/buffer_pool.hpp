// Transfer buffers lent per read, from a small per-thread pool: a connection holds one only
// between "data is there" and "it was written on", so idle connections hold none (nginx and
// HAProxy keep theirs for the connection's life) and busy ones do not call malloc per read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gatehouse::proxy {

class PooledBuffer {
 public:
  static constexpr std::size_t kSize = 64 * 1024;  // four TLS records: one read, one write

  PooledBuffer() {
    auto& free = pool();
    if (free.empty()) {
      data_ = std::make_unique_for_overwrite<std::uint8_t[]>(kSize);
    } else {
      data_ = std::move(free.back());
      free.pop_back();
    }
  }
  ~PooledBuffer() {
    auto& free = pool();
    if (free.size() < kKeep) free.push_back(std::move(data_));
  }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;

  std::uint8_t* data() { return data_.get(); }
  static constexpr std::size_t size() { return kSize; }

 private:
  static constexpr std::size_t kKeep = 16;  // at most 1 MiB kept per worker thread
  static std::vector<std::unique_ptr<std::uint8_t[]>>& pool() {
    thread_local std::vector<std::unique_ptr<std::uint8_t[]>> free;
    return free;
  }
  std::unique_ptr<std::uint8_t[]> data_;
};

}  // namespace gatehouse::proxy
