// Certificate names are bytes the certificate's author chose: a CN may hold CR, LF, escape
// sequences or bytes that are not UTF-8. What `inspect` and `verify` print must neither move
// the terminal nor break a JSON reader.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gatehouse::tls::diagnose {

// For text output: control bytes (C0, DEL, C1) and bytes that are not well-formed UTF-8 as
// \xNN (lower-case hex); everything else, other UTF-8 characters included, as it is.
std::string printable(std::string_view bytes);

// For JSON output: valid JSON whatever the bytes. Control characters are JSON escapes (\n,
// \u001b); a byte that is not well-formed UTF-8 becomes U+FFFD (the replacement character).
std::string json_text(const nlohmann::ordered_json& j);

}  // namespace gatehouse::tls::diagnose
