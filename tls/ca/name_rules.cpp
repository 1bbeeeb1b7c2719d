#include "tls/ca/name_rules.hpp"

#include <cstdio>

namespace gatehouse::tls::ca {
namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::optional<unsigned char> first_control(std::string_view s) {
  for (unsigned char c : s)
    if (is_control(c)) return c;
  return std::nullopt;
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

std::optional<NameProblem> check_value(std::string_view label, const std::string& value, std::string_view origin) {
  if (auto c = first_control(value))
    return NameProblem{NameRefusal::control_character, std::string(origin) + "'s " + std::string(label) + " '" +
                                                           printable(value) + "' holds a control character (" +
                                                           hex_byte(*c) +
                                                           "); refused: no name may hold "
                                                           "CR, LF, NUL or any other byte below 0x20 or 0x7f"};
  if (value.size() > kMaxNameBytes)
    return NameProblem{NameRefusal::name_too_long, std::string(origin) + "'s " + std::string(label) + " '" +
                                                       printable(value, 40) + "' is " + std::to_string(value.size()) +
                                                       " bytes; refused: a name may have at most " +
                                                       std::to_string(kMaxNameBytes)};
  return std::nullopt;
}

}  // namespace

std::optional<NameProblem> check_names(const SubjectNames& names, std::string_view origin) {
  if (names.cn.size() > 1) {
    std::string list;
    for (const auto& cn : names.cn) list += (list.empty() ? "'" : ", '") + printable(cn, 40) + "'";
    return NameProblem{NameRefusal::several_common_names,
                       std::string(origin) + " asks for " + std::to_string(names.cn.size()) + " CNs (" + list +
                           "); refused: programs disagree on which one is the name; give one --cn"};
  }
  for (const auto& v : names.cn)
    if (auto p = check_value("CN", v, origin)) return p;
  for (const auto& v : names.o)
    if (auto p = check_value("O", v, origin)) return p;
  for (const auto& v : names.ou)
    if (auto p = check_value("OU", v, origin)) return p;
  std::size_t estimated = 0;
  for (const auto& v : names.sans) {
    if (auto p = check_value("SAN", v, origin)) return p;
    estimated += v.size() + 4;  // tag, length and the kind's prefix, roughly
  }
  std::size_t san_bytes = names.san_extension_bytes ? names.san_extension_bytes : estimated;
  if (san_bytes > kMaxSanExtensionBytes)
    return NameProblem{NameRefusal::san_extension_too_large,
                       std::string(origin) + "'s subject alternative names take " + std::to_string(san_bytes) +
                           " bytes (" + std::to_string(names.sans.size()) + " names); refused: at most " +
                           std::to_string(kMaxSanExtensionBytes)};
  return std::nullopt;
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (is_control(c) || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace gatehouse::tls::ca
