// A BIO over a non-blocking socket that reads ahead. On a plain fd BoringSSL reads each record
// with two read() calls (the 5-byte header, then the body), eight per mTLS handshake and two
// per 16 KiB of bulk data; this BIO takes whatever the socket holds (up to 64 KiB) in one recv()
// and serves BoringSSL's small reads from memory. The buffer exists only while it holds bytes
// or a read is under way: it is released when the socket runs dry, so an idle connection holds
// no read buffer. Writes go straight to the socket (one send() per record or flight), except
// while corked: then the records of one large write are collected (up to four, 64 KiB) and
// sent with one send() by flush_socket_bio.
#pragma once

#include "tls/bssl.hpp"

namespace gatehouse::tls {

// A new BIO reading and writing `fd` (not closed by the BIO); nullptr when out of memory.
bssl::UniquePtr<BIO> make_socket_bio(int fd);

// Collect written records instead of sending each (for one large SSL_write), or stop.
void cork_socket_bio(BIO* bio, bool corked);
// Sends what corking collected: 1 when all is sent (and the buffer released), 0 when the
// socket is full (wait until writable, call again), -1 on an error (errno).
int flush_socket_bio(BIO* bio);

}  // namespace gatehouse::tls
