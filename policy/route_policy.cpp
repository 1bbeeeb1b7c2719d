#include "policy/route_policy.hpp"

#include <algorithm>

namespace gatehouse::policy {

RoutePolicy::RoutePolicy(std::vector<Rule> allow, std::vector<Rule> deny)
    : allow_(std::move(allow)), deny_(std::move(deny)) {
  for (const auto* rules : {&allow_, &deny_})
    for (const Rule& r : *rules) {
      per_request_ = per_request_ || r.has_request_conditions();
      judges_paths_ = judges_paths_ || r.has_path_condition();
      judges_methods_ = judges_methods_ || r.has_method_condition();
    }
}

Decision RoutePolicy::decide(const tls::PeerIdentity& identity) const {
  for (const auto& rule : deny_)
    if (!rule.has_request_conditions() && rule.matches(identity))
      return {false, gatehouse::Reason::policy_denied, rule.label()};
  if (allow_.empty()) return {true, gatehouse::Reason::ok, "any verified client"};
  // An unconditional allow is the answer; else the first conditional one that could admit some request.
  const Rule* maybe = nullptr;
  for (const auto& rule : allow_) {
    if (!rule.matches(identity)) continue;
    if (!rule.has_request_conditions()) return {true, gatehouse::Reason::ok, rule.label()};
    if (!maybe) maybe = &rule;
  }
  if (maybe) return {true, gatehouse::Reason::ok, maybe->label() + " (per request)"};
  return {false, gatehouse::Reason::policy_denied, "no allow rule matched"};
}

RequestGate RoutePolicy::gate(const tls::PeerIdentity& identity) const {
  RequestGate g;
  if (!per_request_) return g;
  g.needed_ = true;
  g.needs_path_ = judges_paths_;
  g.needs_method_ = judges_methods_;
  g.open_ = allow_.empty();
  for (const auto& rule : deny_)
    if (rule.has_request_conditions() && rule.matches(identity)) g.deny_.push_back(&rule);
  for (const auto& rule : allow_)
    if (rule.matches(identity)) g.allow_.push_back(&rule);
  return g;
}

RequestVerdict RequestGate::judge(const RequestFacts& r) const {
  for (const Rule* rule : deny_)
    if (rule->matches_request(r.method, r.path_segments)) return {false, rule->label()};
  for (const Rule* rule : allow_)
    if (rule->matches_request(r.method, r.path_segments)) return {true, rule->label()};
  if (open_) return {true, "any verified client"};
  return {false, "no allow rule matched"};
}

bool RoutePolicy::same_rules(const RoutePolicy& other) const {
  auto same = [](const std::vector<Rule>& a, const std::vector<Rule>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Rule& x, const Rule& y) { return x.same_as(y); });
  };
  return same(allow_, other.allow_) && same(deny_, other.deny_);
}

}  // namespace gatehouse::policy
