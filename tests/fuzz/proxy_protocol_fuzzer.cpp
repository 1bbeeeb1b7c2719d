// The PROXY protocol v1/v2 header parser: the first bytes any client may send to a listener
// that trusts a load balancer. It must never read past `size`, and whatever it reports complete
// must fit in what it was given.
#include <cstdlib>

#include "proxy/proxy_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using Status = gatehouse::proxy::ReceivedProxyHeader::Status;
  auto header = gatehouse::proxy::parse_proxy_header(data, size);
  if (header.status == Status::complete && (header.length == 0 || header.length > size)) std::abort();
  if (header.status == Status::invalid && header.error.empty()) std::abort();  // a refusal says why
  // Every prefix of a complete header asks for more or is already invalid, never complete.
  if (header.status == Status::complete && header.length > 1) {
    auto shorter = gatehouse::proxy::parse_proxy_header(data, header.length - 1);
    if (shorter.status == Status::complete) std::abort();
  }
  return 0;
}
