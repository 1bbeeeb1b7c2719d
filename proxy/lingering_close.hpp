// Closing after a refusal alert without destroying the alert.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>

namespace gatehouse::proxy {

struct LingerLimits {
  std::chrono::milliseconds time{1000};
  std::size_t bytes = 64 * 1024;
};

// A TLS 1.3 client may send its request right after its Finished, before it reads our alert.
// Closing with those bytes unread makes the kernel answer with a reset, and the client then
// reads "connection reset" where the alert should explain the refusal (seen with OpenSSL
// clients: tests/browser/chromium_test.py). So, as nginx's lingering_close does: send our FIN,
// read and drop what still comes until the client closes, `limits.bytes` arrived or
// `limits.time` passed. Cancellation (drain) ends it at once. Never throws.
asio::awaitable<void> lingering_close(asio::ip::tcp::socket& socket, LingerLimits limits = {});

}  // namespace gatehouse::proxy
