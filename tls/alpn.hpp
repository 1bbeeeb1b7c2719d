// Which ALPN protocol a listener answers a ClientHello with. Ours are tried in our order (server
// preference, as nginx and Envoy choose): the first of ours the client also offers wins,
// whatever order the client listed them in.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::tls {

// What to do with a client that offers ALPN but none of our protocols.
enum class AlpnMismatch {
  refuse,            // RFC 7301 3.2: a no_application_protocol alert (tcp mode: the upstream speaks ours)
  continue_without,  // no ALPN in the answer (http mode: the client may still speak HTTP/1.1)
};

enum class AlpnOutcome { chosen, no_overlap };

struct AlpnChoice {
  AlpnOutcome outcome = AlpnOutcome::no_overlap;
  std::span<const std::uint8_t> protocol;  // within the client's list, when chosen
};

class AlpnPolicy {
 public:
  AlpnPolicy() = default;  // offers nothing: the handshake negotiates no ALPN
  // `protocols` as conf::check_alpn accepts them (1..255 printable bytes, no duplicates).
  AlpnPolicy(std::vector<std::string> protocols, AlpnMismatch mismatch);

  bool offers() const { return !protocols_.empty(); }
  AlpnMismatch mismatch() const { return mismatch_; }
  const std::vector<std::string>& protocols() const { return protocols_; }
  // `client_list`: the ClientHello's ProtocolNameList (each name prefixed by its length byte).
  AlpnChoice choose(std::span<const std::uint8_t> client_list) const;

 private:
  std::vector<std::string> protocols_;
  AlpnMismatch mismatch_ = AlpnMismatch::refuse;
};

// The first `max` names in a ProtocolNameList (a client may send thousands); a malformed tail is left out.
std::vector<std::string> alpn_names(std::span<const std::uint8_t> wire, std::size_t max);
// "\"h2\", \"http/1.1\"" for log details.
std::string quoted_list(const std::vector<std::string>& names);

}  // namespace gatehouse::tls
