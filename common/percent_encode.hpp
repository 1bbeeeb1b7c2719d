// Percent-encoding (RFC 3986 2.1) with the caller's idea of which bytes stay as they are: XFCC's
// URL-encoded PEM keeps only unreserved characters, gRPC's grpc-message keeps printable ASCII.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse {

template <typename Keep>
std::string percent_encode(std::string_view s, Keep keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (keep(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace gatehouse
