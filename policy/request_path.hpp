// Request paths for per-request rules: how a request target becomes the one path that is judged
// (and forwarded, so the upstream never sees a path other than the one authorized), and the
// patterns rules compare it with. See conf/README.md "Path and method rules".
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

// Why a target has no safe normalized form (the request is answered 400, never judged).
enum class PathProblem {
  none,
  bad_percent,     // '%' not followed by two hex digits
  encoded_slash,   // %2F or %5C: one upstream splits on it, another does not
  encoded_nul,     // %00
  backslash,       // a raw '\': some upstreams read it as '/'
  control,         // a raw control byte (NUL, CR, tab...): cut or split on by some upstream
  path_parameter,  // ';': Tomcat, Spring and Jetty drop ";..." from a segment before routing
  above_root,      // "/.." climbs out of the root
  not_origin_form  // neither "/..." nor "*"
};

struct NormalizedTarget {
  PathProblem problem = PathProblem::none;
  std::string path;    // normalized, no query: what rules match
  std::string target;  // path plus the query exactly as sent: what is forwarded
};

// Origin-form target ("/a/./b//c?q") → "/a/b/c" and "/a/b/c?q". Percent-encoded unreserved
// characters are decoded (%61 → a, %2E → .), other escapes kept with upper-case hex; "//"
// collapses; "." and ".." segments are resolved. "*" (OPTIONS *) stays "*".
NormalizedTarget normalize_target(std::string_view target);
const char* path_problem_text(PathProblem problem);  // plain words for the 400

// A compiled path pattern. Segments split on '/': a segment "**" matches zero or more whole
// segments, '*' inside a segment any run of characters but '/' ("Get*", "*.css"; a lone "*" at
// least one), everything else itself, case-sensitively. "/admin/**" covers "/admin" and all
// below it but not "/administrator".
class PathPattern {
 public:
  // nullopt and `error` when the pattern is not itself a normalized path.
  static std::optional<PathPattern> compile(std::string_view pattern, std::string& error);
  // `segments`: the normalized path split on '/' (split_path).
  bool matches(const std::vector<std::string_view>& segments) const;
  const std::string& text() const { return text_; }

 private:
  struct WordSet {  // positions 0..63
    explicit WordSet(size_t) {}
    std::uint64_t bits = 0;
    void set(size_t i) { bits |= std::uint64_t{1} << i; }
    bool test(size_t i) const { return (bits >> i) & 1; }
    bool none() const { return bits == 0; }
  };
  struct VectorSet {
    explicit VectorSet(size_t n) : bits(n, 0) {}
    std::vector<char> bits;
    void set(size_t i) { bits[i] = 1; }
    bool test(size_t i) const { return bits[i] != 0; }
    bool none() const { return std::find(bits.begin(), bits.end(), 1) == bits.end(); }
  };
  template <typename Set>
  bool match_with(const std::vector<std::string_view>& parts, Set reach) const;

  std::string text_;
  std::vector<std::string> segments_;
};

// "/a/b/" → "", "a", "b", "" (the leading empty part kept, as in the pattern).
void split_path(std::string_view path, std::vector<std::string_view>& out);

// RFC 9110 token characters: what a method name may be made of.
bool is_method_token(std::string_view method);

}  // namespace gatehouse::policy
