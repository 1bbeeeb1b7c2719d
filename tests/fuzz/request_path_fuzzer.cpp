// The request path judged by path rules (policy/request_path.hpp): the input is a request target.
// Crash-freedom is not enough: the path a rule compares must be the one the upstream resolves, so
// the properties below are those of a canonical form. A broken one aborts with what broke.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/request_path.hpp"

namespace {

using gatehouse::policy::normalize_target;
using gatehouse::policy::NormalizedTarget;
using gatehouse::policy::PathProblem;

[[noreturn]] void broken(const char* property, std::string_view input) {
  std::fprintf(stderr, "request_path property broken: %s\ninput (%zu bytes): ", property, input.size());
  for (unsigned char c : input) std::fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
  std::fputc('\n', stderr);
  std::abort();
}

bool is_hex_upper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
int hex(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }
bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// What a judged path must look like: rooted, no empty, "." or ".." segment (so nothing to climb
// with), no byte an upstream could split or cut on, escapes only where decoding would change the
// meaning, in one spelling (upper-case hex).
void check_canonical(std::string_view path, std::string_view input) {
  if (path == "*") return;
  if (!path.starts_with('/')) broken("a path that does not start with '/'", input);
  if (path.find("//") != std::string_view::npos) broken("\"//\" in a normalized path", input);
  if (path.find_first_of(std::string_view(";\\?\0", 4)) != std::string_view::npos)
    broken("';', '\\', '?' or NUL in a normalized path", input);
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) broken("a control character in a normalized path", input);
  size_t start = 1;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view seg = path.substr(start, end - start);
    if (seg == "." || seg == "..") broken("a \".\" or \"..\" segment survived: the path can climb", input);
    start = end + 1;
  }
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    if (i + 2 >= path.size() || !is_hex_upper(path[i + 1]) || !is_hex_upper(path[i + 2]))
      broken("an escape that is not '%' and two upper-case hex digits", input);
    const auto byte = static_cast<unsigned char>(hex(path[i + 1]) * 16 + hex(path[i + 2]));
    if (byte == '/' || byte == '\\' || byte == 0 || byte == ';') broken("%2F, %5C, %00 or %3B survived", input);
    if (unreserved(byte)) broken("an escaped unreserved character (two spellings of one path)", input);
    i += 2;
  }
}

bool same(const NormalizedTarget& a, const NormalizedTarget& b) {
  return a.problem == b.problem && a.path == b.path && a.target == b.target;
}

// The input with every unreserved character of its path percent-encoded (upper- or lower-case
// hex); only for paths without escapes, so that no existing escape is torn apart.
std::string encode_unreserved(std::string_view target, bool lower) {
  const char* digits = lower ? "0123456789abcdef" : "0123456789ABCDEF";
  const size_t q = std::min(target.find('?'), target.size());
  std::string out;
  for (size_t i = 0; i < q; ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (!unreserved(c)) {
      out += target[i];
      continue;
    }
    out += '%';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  out += target.substr(q);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const NormalizedTarget n = normalize_target(input);
  const size_t q = input.find('?');
  const std::string_view query = q == std::string_view::npos ? std::string_view() : input.substr(q);

  // Refusals: said in words, nothing half-normalized left behind, the form problem exactly when
  // the target is neither "/..." nor "*".
  if (n.problem != PathProblem::none) {
    if (!n.path.empty() || !n.target.empty()) broken("a refused target with a path", input);
    if (*gatehouse::policy::path_problem_text(n.problem) == '\0') broken("a refusal without words", input);
  }
  const bool origin_form = input == "*" || input.starts_with('/');
  if ((n.problem == PathProblem::not_origin_form) == origin_form) broken("not_origin_form for the wrong input", input);

  if (n.problem == PathProblem::none) {
    check_canonical(n.path, input);
    // The query travels as sent, after the judged path.
    if (input != "*" && n.target != n.path + std::string(query)) broken("target is not path + query", input);
    // Idempotent: the upstream, normalizing what it received, judges the same path.
    if (!same(normalize_target(n.target), n)) broken("normalizing the forwarded target changes it", input);
    if (!same(normalize_target(n.path), NormalizedTarget{PathProblem::none, n.path, n.path}))
      broken("normalizing the judged path changes it", input);
  }

  if (!input.starts_with('/')) return 0;
  // A segment in front: an accepted path is the same below it (nothing reaches out of "/x"), and
  // a refusal for what a segment holds stays that refusal.
  const NormalizedTarget below = normalize_target("/x" + std::string(input));
  if (n.problem == PathProblem::none) {
    if (below.problem != PathProblem::none || below.path != "/x" + n.path || below.target != "/x" + n.target)
      broken("an accepted path reads differently below a segment", input);
  } else if (n.problem != PathProblem::above_root && below.problem != n.problem) {
    broken("a refusal changes below a segment", input);
  }
  // Whatever the query holds, the path is judged the same.
  const NormalizedTarget with_query = normalize_target(std::string(input.substr(0, q)) + "?/../%2F;x");
  if (with_query.problem != n.problem || with_query.path != n.path) broken("the query changes the judged path", input);
  // Escaping unreserved characters spells the same path ("%2e%2e" is ".."), in either hex case.
  if (input.substr(0, q).find('%') == std::string_view::npos) {
    for (bool lower : {false, true})
      if (!same(normalize_target(encode_unreserved(input, lower)), n)) broken("an escaped spelling judges differently", input);
  }
  return 0;
}
