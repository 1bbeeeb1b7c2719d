// Fields as nghttp2 takes them for a HEADERS frame it is about to submit (it copies them then, so
// the Fields need only outlive the submit call). Credentials are marked never to be indexed
// (RFC 7541 7.1.3): an upstream connection carries many clients' streams, and nothing one client
// sent may be probed through the compression table by another.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/h2/response_fields.hpp"

namespace gatehouse::proxy::h2 {

inline bool never_indexed(std::string_view name) {
  return name == "authorization" || name == "proxy-authorization" || name == "cookie" || name == "set-cookie";
}

inline std::vector<nghttp2_nv> nv_of(const Fields& fields) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields)
    nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                  reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(), f.value.size(),
                  static_cast<std::uint8_t>(never_indexed(f.name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)});
  return nv;
}

}  // namespace gatehouse::proxy::h2
