#include "tls/alpn.hpp"

#include <algorithm>

namespace gatehouse::tls {
namespace {

// Calls `each(name)` for every well-formed entry of a ProtocolNameList, stopping when it returns true.
template <typename Fn>
void for_each_name(std::span<const std::uint8_t> wire, Fn&& each) {
  for (std::size_t i = 0; i < wire.size();) {
    const std::size_t len = wire[i];
    if (len == 0 || i + 1 + len > wire.size()) return;
    if (each(wire.subspan(i + 1, len))) return;
    i += 1 + len;
  }
}

bool same(std::span<const std::uint8_t> name, const std::string& ours) {
  return std::equal(name.begin(), name.end(), ours.begin(), ours.end(),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
}

}  // namespace

AlpnPolicy::AlpnPolicy(std::vector<std::string> protocols, AlpnMismatch mismatch)
    : protocols_(std::move(protocols)), mismatch_(mismatch) {}

AlpnChoice AlpnPolicy::choose(std::span<const std::uint8_t> client_list) const {
  for (const std::string& ours : protocols_) {
    AlpnChoice choice;
    for_each_name(client_list, [&](std::span<const std::uint8_t> name) {
      if (!same(name, ours)) return false;
      choice = {AlpnOutcome::chosen, name};
      return true;
    });
    if (choice.outcome == AlpnOutcome::chosen) return choice;
  }
  return {};
}

std::vector<std::string> alpn_names(std::span<const std::uint8_t> wire, std::size_t max) {
  std::vector<std::string> names;
  for_each_name(wire, [&](std::span<const std::uint8_t> name) {
    if (names.size() == max) return true;
    names.emplace_back(name.begin(), name.end());
    return false;
  });
  return names;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\"";
  return out;
}

}  // namespace gatehouse::tls
