// The config loader, the whole way a reload takes it: TOML text → settings (every key checked,
// places in the messages) → a snapshot (certificates and keys loaded, TLS contexts, routes,
// policies, upstreams). Relative paths resolve in a dev PKI made at start-up, so inputs that
// mutate the seed configs reach the file-loading code with real files. Any input ends in a
// snapshot or in diagnostics that say what is wrong, never in a crash.
#include <cstdlib>
#include <string_view>

#include "conf/parse.hpp"
#include "proxy/snapshot.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tls/pki/dev_pki.hpp"

namespace gh = gatehouse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path pki = [] {
    auto dir = gh::fuzz::scratch_dir("gatehouse-fuzz-config");
    if (!gh::tls::pki::ensure_dev_pki(dir)) std::abort();
    return dir;
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = gh::conf::parse_text(text, "fuzz.toml", pki);
  if (!parsed.settings) {
    if (parsed.diagnostics.to_string().empty()) std::abort();
    return 0;
  }
  gh::conf::Diagnostics problems;
  auto snapshot = gh::proxy::build_snapshot(*parsed.settings, problems);
  if (!snapshot && problems.to_string().empty()) std::abort();
  return 0;
}
