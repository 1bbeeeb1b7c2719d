// Socket options Asio has no name for.
#pragma once

#include <sys/socket.h>

#include <asio/detail/socket_option.hpp>

namespace gatehouse::proxy {

// Every worker binds its own socket to the same address; the kernel spreads new connections.
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace gatehouse::proxy
