// The policy's name patterns (`*.staging.example.com`, `spiffe://corp/**`): a pattern and a name,
// both from the input, separated by the first newline. Matching must stay bounded (no
// exponential backtracking on `**`) and agree with a literal pattern matching itself.
#include <cstdlib>
#include <string_view>

#include "policy/glob.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using gatehouse::policy::Glob;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view pattern = input.substr(0, newline);
  std::string_view value = newline == std::string_view::npos ? input : input.substr(newline + 1);
  for (auto kind : {Glob::Kind::dns, Glob::Kind::uri}) {
    Glob glob(pattern, kind);
    (void)glob.matches(value);
    if (pattern.find('*') == std::string_view::npos && !glob.matches(pattern)) std::abort();
  }
  return 0;
}
