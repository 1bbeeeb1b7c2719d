// The `alpn` key of a listener: which protocol names are valid, and which a mode may offer.
// Checked here once, so tls/ can put the list on the wire without checking it again.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "conf/settings.hpp"

namespace gatehouse::conf {

enum class AlpnProblem {
  none,
  empty_list,            // `alpn = []`: leave the key out instead
  empty_name,            // RFC 7301: a protocol name is 1..255 bytes
  too_long,              // over 255 bytes
  not_printable,         // outside printable ASCII (and no spaces): it goes into logs and a PROXY TLV
  duplicate,             // named twice
  http_mode_unknown,  // http mode speaks "h2" and "http/1.1" only
};

struct AlpnCheck {
  AlpnProblem problem = AlpnProblem::none;
  std::size_t index = 0;  // the offending name
  bool ok() const { return problem == AlpnProblem::none; }
};

inline constexpr std::size_t kMaxAlpnNameBytes = 255;

AlpnCheck check_alpn(ListenerMode mode, const std::vector<std::string>& protocols);
// The words `gatehouse check` prints for a failed check of `protocols`.
std::string describe(const AlpnCheck& check, const std::vector<std::string>& protocols);

}  // namespace gatehouse::conf
