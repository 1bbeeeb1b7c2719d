#include "conf/network.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace gatehouse::conf {

std::optional<Network> parse_network(std::string_view text) {
  std::string_view addr = text;
  std::optional<int> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    int p = -1;
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    prefix = p;
  }
  Network net;
  net.text = std::string(text);
  std::string a(addr);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
    if (prefix && (*prefix < 0 || *prefix > 32)) return std::nullopt;
    net.address[10] = net.address[11] = 0xff;
    std::memcpy(net.address.data() + 12, &v4, 4);
    net.prefix = 96 + prefix.value_or(32);
  } else if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (prefix && (*prefix < 0 || *prefix > 128)) return std::nullopt;
    std::memcpy(net.address.data(), &v6, 16);
    net.prefix = prefix.value_or(128);
  } else {
    return std::nullopt;
  }
  return net;
}

bool network_contains(const Network& net, const std::array<std::uint8_t, 16>& address) {
  int bits = net.prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((net.address[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

}  // namespace gatehouse::conf
