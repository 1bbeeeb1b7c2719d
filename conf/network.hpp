// IP networks in CIDR form ("10.0.0.0/8", "::1/128", or a bare address), kept as 128-bit
// prefixes so IPv4 and IPv4-mapped IPv6 peers compare alike.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "conf/settings.hpp"

namespace gatehouse::conf {

std::optional<Network> parse_network(std::string_view text);
// `address` is 16 bytes (IPv4 mapped as ::ffff:a.b.c.d).
bool network_contains(const Network& net, const std::array<std::uint8_t, 16>& address);

}  // namespace gatehouse::conf
