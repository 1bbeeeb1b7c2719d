#include "proxy/http/request_checks.hpp"

#include <algorithm>
#include <cstdint>
#include <span>

namespace gatehouse::proxy::http {
namespace {

bool json_of(const Head& head) { return wants_json(head.find("accept")); }

Answer error_answer(const Head& head, int status, Close close, std::string message, std::string host, Close ends) {
  Answer a;
  a.response = error_response(status, std::string(close_keyword(close)), message, json_of(head));
  a.close = close;
  a.detail = std::move(message);
  a.host = std::move(host);
  a.ends = ends;
  return a;
}

// Whether a request refused by a rule may leave the connection open: only when where the next
// request starts is known without trusting the client. A body of a known, small length is read
// and dropped first; a chunked or large one could hide anything (and ties us up), an upgrade's
// bytes after the head are another protocol, and a client waiting for 100-continue may or may not
// send its body after a 403 (RFC 9110 10.1.1): those close.
constexpr std::uint64_t kMaxDroppedBody = 64 * 1024;

bool can_keep_after_refusal(const Head& head, const RequestPlan& plan) {
  if (!plan.upgrade.empty()) return false;
  if (head.framing == Framing::none) return true;
  if (head.framing != Framing::content_length || head.content_length > kMaxDroppedBody) return false;
  const std::string* expect = head.find("expect");
  return head.content_length == 0 || !expect || !has_token(*expect, "100-continue");
}

// The route's path and method rules. The path judged is the normalized one, and it is the one
// forwarded: an upstream that decodes or resolves differently still sees what was allowed.
Checked judge(const Head& head, RequestPlan&& plan, const policy::RequestGate& gate, const ConnectionFacts& facts) {
  // Fields that frameworks (Symfony, IIS rewrite, Rails, Express method-override...) honour over
  // the request line: the upstream would serve another path or method than the one judged.
  static const char* const kPathOverrides[] = {"x-original-url", "x-rewrite-url"};
  static const char* const kMethodOverrides[] = {"x-http-method-override", "x-http-method", "x-method-override"};
  auto listed = [](std::span<const char* const> names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  for (const auto& field : head.headers) {
    const std::string n = normalized_field_name(field.name);  // in any spelling: X_Original_URL too
    if ((gate.needs_path() && listed(kPathOverrides, n)) || (gate.needs_method() && listed(kMethodOverrides, n)))
      return error_answer(head, 400, Close::bad_request,
                          "The request carries " + field.name +
                              ", which would make the service see another request than the one authorized.",
                          plan.host, Close::bad_request);
  }
  std::string path;
  if (gate.needs_path()) {
    policy::NormalizedTarget n = policy::normalize_target(plan.target);
    if (n.problem != policy::PathProblem::none)
      return error_answer(head, 400, Close::bad_request, policy::path_problem_text(n.problem), plan.host,
                          Close::bad_request);
    plan.target = std::move(n.target);
    path = std::move(n.path);
  }
  std::vector<std::string_view> segments;
  policy::split_path(path, segments);
  const policy::RequestVerdict verdict = gate.judge({head.method, segments});
  plan.rule = verdict.rule;
  if (verdict.allowed) return std::move(plan);
  Answer a;
  Refusal refusal = facts.denied ? *facts.denied : Refusal{};
  refusal.reason = gatehouse::Reason::policy_denied;
  refusal.path = gate.needs_path() ? path : "";
  a.response = refusal_response(refusal, facts.http.refusal_codes, json_of(head));
  a.close = a.ends = Close::refused;
  a.close_connection = !can_keep_after_refusal(head, plan);
  a.reason = gatehouse::Reason::policy_denied;
  a.rule = verdict.rule;
  a.host = plan.host;
  a.detail = head.method + " " + (gate.needs_path() ? path : plan.target) + " is not allowed (" +
             std::string(verdict.rule) + ")";
  return a;
}

}  // namespace

Checked check_request(const Head& head, bool upgrade, const ConnectionFacts& facts) {
  if (facts.refusal) {
    Answer a;
    a.response = refusal_response(*facts.refusal, facts.http.refusal_codes, json_of(head));
    a.close = a.ends = Close::refused;
    return a;
  }
  RequestDecision decision = plan_request(head, upgrade, facts.http);
  if (const auto* refused = std::get_if<RequestRefusal>(&decision))
    return error_answer(head, refused->status, refused->close, refused->message, "", Close::bad_request);
  auto& plan = std::get<RequestPlan>(decision);
  if (facts.router.select(plan.host) != facts.route) {
    std::string message = "This connection was opened for \"" + std::string(facts.sni) + "\"; a request for \"" +
                          plan.host + "\" needs a connection of its own.";
    std::string host = plan.host;
    return error_answer(head, 421, Close::misdirected_request, std::move(message), std::move(host),
                        Close::misdirected_request);
  }
  if (facts.gate) return judge(head, std::move(plan), *facts.gate, facts);
  return std::move(plan);
}

Answer check_unparsable(const Head& partial, ParseProblem problem, const std::string& parse_error) {
  RequestRefusal refused = unparsable_request(problem, parse_error);
  return error_answer(partial, refused.status, refused.close, refused.message, "", refused.close);
}

Answer head_timeout_answer(const Head& partial) {
  return error_answer(partial, 408, Close::head_timeout, "The request head did not arrive in time.", "",
                      Close::head_timeout);
}

Response bad_gateway(const Head& request, const std::string& keyword, const std::string& message) {
  return error_response(502, keyword, message, json_of(request));
}

}  // namespace gatehouse::proxy::http
