// What the names in a certificate this CA signs may be. A name is what the proxy's policy and
// the upstream's headers trust, so the CA refuses anything that two programs could read
// differently: several CNs, control characters (a CR/LF ends a header line), huge SANs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::tls::ca {

inline constexpr std::size_t kMaxNameBytes = 255;           // any one CN, O, OU or SAN value
inline constexpr std::size_t kMaxSanExtensionBytes = 4096;  // the whole subjectAltName

enum class NameRefusal {
  several_common_names,
  control_character,
  name_too_long,
  san_extension_too_large,
  unsupported_san_kind,  // otherName, dirName, ...: nothing the proxy reads
  several_san_extensions,
  unreadable,  // not text, or an extension that does not parse
};

struct NameProblem {
  NameRefusal refusal;
  std::string message;  // says which name, from where, and what to do
};

// The names one certificate would carry. `cn` is a list so that a CSR's several CNs can be seen.
struct SubjectNames {
  std::vector<std::string> cn, o, ou;
  std::vector<std::string> sans;  // "dns:x", "ip:y", "email:z", "uri:u"
  // DER size of the subjectAltName when known (a CSR's); otherwise estimated from the values.
  std::size_t san_extension_bytes = 0;
};

// The first problem found, or nullopt. `origin` names where the names came from in the message,
// e.g. "the CSR" or "the command line".
std::optional<NameProblem> check_names(const SubjectNames& names, std::string_view origin);

// `text` for a terminal or a log line: control bytes as \xNN, cut after `max` bytes.
std::string printable(std::string_view text, std::size_t max = 80);

}  // namespace gatehouse::tls::ca
