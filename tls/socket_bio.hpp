// A BIO over a non-blocking socket that reads ahead. On a plain fd BoringSSL reads each record
// with two read() calls (the 5-byte header, then the body), eight per mTLS handshake and two
// per 16 KiB of bulk data; this BIO takes whatever the socket holds (up to 32 KiB) in one recv()
// and serves BoringSSL's small reads from memory. The buffer exists only while it holds bytes
// or a read is under way: it is released when the socket runs dry, so an idle connection holds
// no read buffer. Writes go straight to the socket (one send() per record or flight).
#pragma once

#include "tls/bssl.hpp"

namespace gatehouse::tls {

// A new BIO reading and writing `fd` (not closed by the BIO); nullptr when out of memory.
bssl::UniquePtr<BIO> make_socket_bio(int fd);

}  // namespace gatehouse::tls
