#include "policy/router.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "tls/client_hello.hpp"

namespace gatehouse::policy {
namespace {

bool valid_sni_pattern(const std::string& name) {
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || rest.front() == '.' || rest.back() == '.') return false;
  return rest.find_first_of("*/ :") == std::string_view::npos && rest.find("..") == std::string_view::npos;
}

std::vector<Rule> compile_rules(const std::vector<conf::RuleSettings>& rules, const char* kind, const std::string& file,
                                const std::string& route, conf::Diagnostics& problems) {
  std::vector<Rule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    std::string error;
    auto rule = Rule::compile(rules[i], std::string(kind) + "[" + std::to_string(i) + "]", error);
    if (rule)
      out.push_back(std::move(*rule));
    else
      problems.add(file, rules[i].source, "route '" + route + "' " + kind + "[" + std::to_string(i) + "]: " + error);
  }
  return out;
}

}  // namespace

std::optional<Router> Router::compile(const std::vector<conf::RouteSettings>& routes, const std::string& file,
                                      conf::Diagnostics& problems) {
  size_t before = problems.problems().size();
  Router router;
  std::map<std::string, std::string> owner;  // SNI pattern → route name
  for (const auto& r : routes) {
    CompiledRoute route{r.name,
                        {},
                        RoutePolicy(compile_rules(r.allow, "allow", file, r.name, problems),
                                    compile_rules(r.deny, "deny", file, r.name, problems))};
    for (const auto& raw : r.sni) {
      std::string name = tls::ascii_lower(raw);
      if (!valid_sni_pattern(name))
        problems.add(file, r.source,
                     "route '" + r.name + "': sni \"" + raw +
                         "\" must be a host name or \"*.\" followed by one (\"*.staging.example.com\")");
      else if (auto [it, fresh] = owner.emplace(name, r.name); !fresh)
        problems.add(file, r.source,
                     "route '" + r.name + "': sni \"" + raw + "\" is already routed by '" + it->second + "'");
      route.sni.push_back(name);
    }
    if (r.sni.empty()) {
      if (router.default_route_ >= 0)
        problems.add(file, r.source,
                     "route '" + r.name + "' has no sni, but '" + router.routes_[router.default_route_].name +
                         "' is already the default route; give one of them sni names");
      router.default_route_ = static_cast<int>(router.routes_.size());
    }
    router.routes_.push_back(std::move(route));
  }
  if (problems.problems().size() != before) return std::nullopt;
  // Hash look-ups for select(): exact names, and wildcards by what follows their "*.".
  for (size_t i = 0; i < router.routes_.size(); ++i)
    for (const auto& pattern : router.routes_[i].sni) {
      if (pattern.starts_with("*."))
        router.wildcards_.emplace(pattern.substr(2), static_cast<int>(i));
      else
        router.exact_.emplace(pattern, static_cast<int>(i));
    }
  return router;
}

int Router::select(std::string_view sni_raw) const {
  std::string sni = tls::ascii_lower(std::string(sni_raw));
  if (auto it = exact_.find(sni); it != exact_.end()) return it->second;  // an exact name beats any wildcard
  // "*.example.com" covers exactly one label in front of example.com.
  if (auto dot = sni.find('.'); dot != std::string::npos && dot > 0) {
    if (auto it = wildcards_.find(sni.substr(dot + 1)); it != wildcards_.end()) return it->second;
  }
  return default_route_;
}

tls::Authorization Router::authorize(const tls::PeerIdentity& identity, std::string_view sni) const {
  int index = select(sni);
  if (index < 0)
    return {false, gatehouse::Reason::policy_denied,
            "no route for the server name '" + std::string(sni.empty() ? "(none)" : sni) + "' and no default route", "",
            -1};
  // Both digests are empty only when the certificate could not be DER-encoded; a deny rule on
  // them could not match then. Refuse rather than decide without them.
  if (identity.fingerprint.empty() || identity.spki.empty())
    return {false, gatehouse::Reason::invalid_certificate,
            "the client certificate's fingerprint could not be computed (DER encoding failed)", "", index};
  const CompiledRoute& route = routes_[index];
  Decision d = route.policy.decide(identity);
  std::string detail = d.allowed ? "" : "not allowed on route '" + route.name + "' (" + d.rule + ")";
  return {d.allowed, d.reason, detail, d.rule, index};
}

}  // namespace gatehouse::policy
