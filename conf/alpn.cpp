#include "conf/alpn.hpp"

#include <algorithm>

namespace gatehouse::conf {
namespace {

bool printable(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

AlpnCheck check_alpn(ListenerMode mode, const std::vector<std::string>& protocols) {
  if (protocols.empty()) return {AlpnProblem::empty_list, 0};
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    const std::string& name = protocols[i];
    if (name.empty()) return {AlpnProblem::empty_name, i};
    if (name.size() > kMaxAlpnNameBytes) return {AlpnProblem::too_long, i};
    if (!printable(name)) return {AlpnProblem::not_printable, i};
    if (std::find(protocols.begin(), protocols.begin() + static_cast<std::ptrdiff_t>(i), name) !=
        protocols.begin() + static_cast<std::ptrdiff_t>(i))
      return {AlpnProblem::duplicate, i};
    if (mode == ListenerMode::http && name != "http/1.1" && name != "h2") return {AlpnProblem::http_mode_unknown, i};
  }
  return {};
}

std::string describe(const AlpnCheck& check, const std::vector<std::string>& protocols) {
  const std::string name = check.index < protocols.size() ? "'" + protocols[check.index] + "'" : "";
  switch (check.problem) {
    case AlpnProblem::none:
      return "";
    case AlpnProblem::empty_list:
      return "is empty; leave alpn out to negotiate no ALPN";
    case AlpnProblem::empty_name:
      return "protocol " + std::to_string(check.index + 1) + " is empty; a protocol name has 1 to 255 bytes";
    case AlpnProblem::too_long:
      return "protocol " + std::to_string(check.index + 1) + " is " + std::to_string(protocols[check.index].size()) +
             " bytes; a protocol name has at most 255";
    case AlpnProblem::not_printable:
      return "protocol " + std::to_string(check.index + 1) +
             " has a byte that is not printable ASCII (spaces included); protocol names are like \"h2\", "
             "\"http/1.1\"";
    case AlpnProblem::duplicate:
      return name + " is named twice";
    case AlpnProblem::http_mode_unknown:
      return name +
             " cannot be offered in http mode, which speaks \"h2\" and \"http/1.1\" only (the default offers both), or "
             "mode = \"tcp\" to pass h2 and gRPC through to the upstream untouched";
  }
  return "";
}

}  // namespace gatehouse::conf
