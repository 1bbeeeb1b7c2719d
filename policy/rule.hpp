// One allow or deny rule compiled from config: every field it names must match the identity,
// and in http mode its path and methods (if any) the request.
// Multi-valued fields (ou, dns, email, uri, ip) match when any value does.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "conf/settings.hpp"
#include "policy/glob.hpp"
#include "policy/request_path.hpp"
#include "tls/identity.hpp"

namespace gatehouse::policy {

class Rule {
 public:
  // nullopt and `error` set when a field's value cannot be used (e.g. a malformed serial).
  static std::optional<Rule> compile(const conf::RuleSettings& settings, std::string label, std::string& error);
  // The identity part only; every rule has one (a rule of only path/methods: everyone).
  bool matches(const tls::PeerIdentity& id) const;
  // path and methods, judged per request in http mode. A rule without them matches every request.
  bool has_request_conditions() const { return !paths_.empty() || !methods_.empty(); }
  bool has_path_condition() const { return !paths_.empty(); }
  bool has_method_condition() const { return !methods_.empty(); }
  bool matches_request(std::string_view method, const std::vector<std::string_view>& path_segments) const;
  const std::string& label() const { return label_; }  // "allow[0]" as in the config
  // The same rule as written (fields, paths, methods, place), wherever in the file it stands: a
  // reload that did not change it need not end the connections it judges.
  bool same_as(const Rule& other) const;

 private:
  enum class Field { cn, o, ou, dns, email, uri, ip, serial, issuer, fingerprint, spki };
  struct Matcher {
    Field field;
    std::variant<std::string, Glob> expected;  // normalised text, or a DNS/URI pattern
  };
  static bool field_matches(const Matcher& m, const tls::PeerIdentity& id);

  std::vector<Matcher> matchers_;
  std::vector<std::pair<std::string, std::string>> fields_;  // as written, for same_as
  std::vector<PathPattern> paths_;
  std::vector<std::string> methods_;
  std::string label_;
};

// "4f:2a:00" → "4F2A00" minus leading zero bytes; "AB CD" → fingerprint "abcd": what we compare.
std::string normalize_hex(std::string_view text, bool upper);

}  // namespace gatehouse::policy
