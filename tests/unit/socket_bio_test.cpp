// The read-ahead socket BIO on a real socket pair: one recv() serves many small reads, a dry
// socket asks BoringSSL to retry (and the buffer goes; after a short read, without another recv),
// EOF and errors pass through (a reset at
// every read, never an EOF after it), and corked
// writes leave in one send() once flushed, waiting when the peer's buffer is full.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tls/socket_bio.hpp"

namespace gatehouse::tls {
namespace {

struct Pair {
  int ours = -1, peer = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0];
    peer = fds[1];
    ::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  std::string drain_peer() {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, static_cast<size_t>(n));
    return got;
  }
};

TEST(SocketBio, SmallReadsAreServedFromOneReceive) {
  Pair p;
  auto bio = make_socket_bio(p.ours);
  ASSERT_TRUE(bio);
  ASSERT_EQ(::send(p.peer, "headerbody-of-a-record", 22, 0), 22);
  char buf[32];
  ASSERT_EQ(BIO_read(bio.get(), buf, 6), 6);  // the record header, as BoringSSL asks
  EXPECT_EQ(std::string(buf, 6), "header");
  EXPECT_EQ(BIO_pending(bio.get()), 16u);  // the rest came with it
  ASSERT_EQ(BIO_read(bio.get(), buf, sizeof buf), 16);
  EXPECT_EQ(std::string(buf, 16), "body-of-a-record");
  EXPECT_EQ(BIO_pending(bio.get()), 0u);

  // Dry: -1 with "retry read", errno kept for SSL_ERROR_SYSCALL-style reporting.
  errno = 0;
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof buf), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  EXPECT_TRUE(BIO_should_read(bio.get()));
  EXPECT_EQ(errno, EAGAIN);

  ::close(p.peer);
  p.peer = -1;
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof buf), 0);  // EOF
  EXPECT_FALSE(BIO_should_retry(bio.get()));
}

// A read that got less than it asked emptied the socket: the read after it says "retry" without
// a recv() (the data below arrived in between and is still not taken: no system call was made),
// and the one after that, as after a wait, takes what came. A write in between ends that: the
// answer to it may already be there.
TEST(SocketBio, AfterAShortReadTheNextAsksForAWaitWithoutARecvUnlessSomethingWasWritten) {
  Pair p;
  auto bio = make_socket_bio(p.ours);
  char buf[32];
  ASSERT_EQ(::send(p.peer, "first", 5, 0), 5);
  ASSERT_EQ(BIO_read(bio.get(), buf, sizeof buf), 5);
  ASSERT_EQ(::send(p.peer, "second", 6, 0), 6);
  errno = 0;
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof buf), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  EXPECT_TRUE(BIO_should_read(bio.get()));
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(BIO_read(bio.get(), buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "second");

  ASSERT_EQ(BIO_write(bio.get(), "question", 8), 8);
  ASSERT_EQ(::send(p.peer, "answer", 6, 0), 6);
  ASSERT_EQ(BIO_read(bio.get(), buf, sizeof buf), 6);  // read at once: the write cleared the hint
  EXPECT_EQ(std::string(buf, 6), "answer");
}

// A TCP connection on loopback whose peer sends `data` and then resets it (SO_LINGER 0).
int reset_after(const std::string& data) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::listen(listener, 1), 0);
  EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int peer = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(peer, reinterpret_cast<sockaddr*>(&a), len), 0);
  int ours = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  EXPECT_EQ(::send(peer, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  linger l{1, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(peer);
  pollfd p{ours, POLLRDHUP, 0};  // the reset has arrived
  EXPECT_EQ(::poll(&p, 1, 5000), 1);
  return ours;
}

TEST(SocketBio, AResetIsToldByEveryReadNeverAsAnEof) {
  int fd = reset_after("the last record");
  auto bio = make_socket_bio(fd);
  ASSERT_TRUE(bio);
  char buf[64];
  ASSERT_EQ(BIO_read(bio.get(), buf, sizeof buf), 15);  // what came before the reset
  // That read was short, so the next one says "retry" without asking the kernel: its caller
  // waits for the socket (epoll reports the reset) and reads again.
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof buf), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  // The read that meets the reset (Stream::read_ready may drop its result: it only gathers
  // records already here), and the next one, which must not take the kernel's EOF that follows.
  for (int i = 0; i < 2; ++i) {
    errno = 0;
    EXPECT_EQ(BIO_read(bio.get(), buf, sizeof buf), -1) << i;
    EXPECT_EQ(errno, ECONNRESET) << i;
    EXPECT_FALSE(BIO_should_retry(bio.get()));
  }
  ::close(fd);
}

TEST(SocketBio, CorkedWritesLeaveTogetherWhenFlushed) {
  Pair p;
  auto bio = make_socket_bio(p.ours);
  cork_socket_bio(bio.get(), true);
  ASSERT_EQ(BIO_write(bio.get(), "one,", 4), 4);
  ASSERT_EQ(BIO_write(bio.get(), "two", 3), 3);
  EXPECT_EQ(p.drain_peer(), "");  // held back while corked
  cork_socket_bio(bio.get(), false);
  EXPECT_EQ(flush_socket_bio(bio.get()), 1);
  EXPECT_EQ(p.drain_peer(), "one,two");
  ASSERT_EQ(BIO_write(bio.get(), "three", 5), 5);  // uncorked: straight through
  EXPECT_EQ(p.drain_peer(), "three");
}

TEST(SocketBio, AFullPeerMakesTheFlushWaitAndLoseNothing) {
  Pair p;
  int small = 4096;
  ::setsockopt(p.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  auto bio = make_socket_bio(p.ours);
  std::string sent;
  std::string chunk(16384, 'x');
  // Fill the socket until it refuses (uncorked writes report "retry write").
  for (int i = 0; i < 64; ++i) {
    chunk[0] = static_cast<char>('a' + i % 26);
    int n = BIO_write(bio.get(), chunk.data(), static_cast<int>(chunk.size()));
    if (n < 0) {
      EXPECT_TRUE(BIO_should_retry(bio.get()));
      EXPECT_TRUE(BIO_should_write(bio.get()));
      break;
    }
    sent.append(chunk, 0, static_cast<size_t>(n));
  }
  cork_socket_bio(bio.get(), true);
  ASSERT_EQ(BIO_write(bio.get(), "tail", 4), 4);  // corked: accepted into the buffer
  cork_socket_bio(bio.get(), false);
  sent += "tail";
  EXPECT_EQ(flush_socket_bio(bio.get()), 0);  // the peer has not read yet
  std::string got = p.drain_peer();
  while (flush_socket_bio(bio.get()) == 0) got += p.drain_peer();
  got += p.drain_peer();
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace gatehouse::tls
