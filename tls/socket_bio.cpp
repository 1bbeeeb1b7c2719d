#include "tls/socket_bio.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace gatehouse::tls {
namespace {

constexpr size_t kReadAhead = 64 * 1024 + 512;  // four full TLS records
constexpr size_t kCorked = 64 * 1024 + 512;     // four full records and their headers and tags

struct ReadAhead {
  int fd;
  std::unique_ptr<uint8_t[]> buffer;  // null while empty
  size_t begin = 0, end = 0;
  int error = 0;  // the socket's read error (a reset), told again by every later read
  // The last recv() returned less than it asked: the socket was empty then. The next read says
  // "would block" without asking the kernel again (an EAGAIN recv per read saved); the wait that
  // follows (epoll_ctl MOD) looks at the socket itself, so nothing that arrived since is missed.
  // A write clears it: an answer to what was written may be there by the next read.
  bool drained = false;
  bool corked = false;
  std::unique_ptr<uint8_t[]> out;  // corked records not sent yet; null while none
  size_t out_size = 0;
};

ReadAhead* state(BIO* bio) { return static_cast<ReadAhead*>(BIO_get_data(bio)); }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bio_read(BIO* bio, char* out, int len) {
  BIO_clear_retry_flags(bio);
  ReadAhead* s = state(bio);
  if (len <= 0) return 0;
  if (s->begin == s->end) {
    // The kernel tells a reset once, then reads end as at EOF: a reset met by a read whose
    // result was not looked at (Stream::read_ready's gathering of records already here) would
    // reach the caller as an orderly close.
    if (s->error != 0) {
      errno = s->error;
      return -1;
    }
    if (s->drained) {
      s->drained = false;
      s->buffer.reset();  // hold nothing while waiting
      BIO_set_retry_read(bio);
      errno = EAGAIN;
      return -1;
    }
    if (!s->buffer) s->buffer = std::make_unique_for_overwrite<uint8_t[]>(kReadAhead);
    ssize_t n = ::recv(s->fd, s->buffer.get(), kReadAhead, 0);
    if (n <= 0) {
      const int saved = errno;
      s->buffer.reset();  // dry (or closed): hold nothing while waiting
      if (n < 0 && would_block(saved)) BIO_set_retry_read(bio);
      if (n < 0 && !would_block(saved)) s->error = saved;
      errno = saved;  // SSL_ERROR_SYSCALL reports it
      return static_cast<int>(n);
    }
    s->begin = 0;
    s->end = static_cast<size_t>(n);
    s->drained = s->end < kReadAhead;
  }
  const size_t take = std::min(static_cast<size_t>(len), s->end - s->begin);
  std::memcpy(out, s->buffer.get() + s->begin, take);
  s->begin += take;
  return static_cast<int>(take);
}

// 1: everything corked is sent (the buffer is released); 0: the socket is full; -1: error.
int flush_corked(ReadAhead* s) {
  size_t sent = 0;
  while (sent < s->out_size) {
    ssize_t n = ::send(s->fd, s->out.get() + sent, s->out_size - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (!would_block(errno)) return -1;
      std::memmove(s->out.get(), s->out.get() + sent, s->out_size - sent);
      s->out_size -= sent;
      return 0;
    }
    sent += static_cast<size_t>(n);
  }
  s->out.reset();
  s->out_size = 0;
  return 1;
}

int bio_write(BIO* bio, const char* in, int len) {
  BIO_clear_retry_flags(bio);
  ReadAhead* s = state(bio);
  s->drained = false;
  const size_t size = static_cast<size_t>(len);
  if (s->corked && s->out_size + size <= kCorked) {
    if (!s->out) s->out = std::make_unique_for_overwrite<uint8_t[]>(kCorked);
    std::memcpy(s->out.get() + s->out_size, in, size);
    s->out_size += size;
    return len;
  }
  if (s->out_size > 0) {  // records queue behind the corked ones
    int flushed = flush_corked(s);
    if (flushed <= 0) {
      if (flushed == 0) BIO_set_retry_write(bio);
      return -1;
    }
  }
  ssize_t n = ::send(s->fd, in, size, MSG_NOSIGNAL);
  if (n < 0 && would_block(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: {
      int flushed = flush_corked(state(bio));
      if (flushed == 0) BIO_set_retry_write(bio);
      return flushed > 0 ? 1 : -1;
    }
    case BIO_CTRL_PENDING: {
      ReadAhead* s = state(bio);
      return static_cast<long>(s->end - s->begin);
    }
    default:
      return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_data(bio, nullptr);
  return 1;
}

int bio_destroy(BIO* bio) {
  delete state(bio);
  BIO_set_data(bio, nullptr);
  return 1;
}

const BIO_METHOD* read_ahead_method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gatehouse read-ahead socket");
    if (m) {
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
      BIO_meth_set_destroy(m, bio_destroy);
    }
    return m;
  }();
  return method;
}

}  // namespace

void cork_socket_bio(BIO* bio, bool corked) {
  if (BIO_get_data(bio)) state(bio)->corked = corked;
}

int flush_socket_bio(BIO* bio) { return BIO_get_data(bio) ? flush_corked(state(bio)) : 1; }

bssl::UniquePtr<BIO> make_socket_bio(int fd) {
  const BIO_METHOD* method = read_ahead_method();
  if (!method) return nullptr;
  bssl::UniquePtr<BIO> bio(BIO_new(method));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), new ReadAhead{fd, nullptr, 0, 0, 0});
  BIO_set_init(bio.get(), 1);
  return bio;
}

}  // namespace gatehouse::tls
