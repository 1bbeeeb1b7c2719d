#include "app/verify_as_listener.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "conf/parse.hpp"
#include "proxy/snapshot.hpp"
#include "tls/der.hpp"
#include "tls/diagnose/printable.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::app {
namespace {

int bad_input(const std::string& message) {
  std::cerr << "gatehouse verify: " << message << "\n";
  return 2;
}

const proxy::ListenerRuntime* pick_listener(const proxy::Snapshot& snapshot, const std::string& name,
                                            std::string& problem) {
  std::string names;
  for (const auto& l : snapshot.listeners) {
    if (l.settings.name == name) return &l;
    names += (names.empty() ? "'" : ", '") + l.settings.name + "'";
  }
  if (name.empty() && snapshot.listeners.size() == 1) return &snapshot.listeners.front();
  problem = name.empty() ? "the config has several listeners (" + names + "): name one with --listener"
                         : "no listener '" + name + "' in the config (it has " + names + ")";
  return nullptr;
}

}  // namespace

int verify_as_listener(const ListenerVerifyRequest& request) {
  auto parsed = conf::parse_file(request.config);
  if (!parsed.settings) return bad_input("\n" + parsed.diagnostics.to_string());
  conf::Diagnostics problems;
  auto snapshot = proxy::build_snapshot(*parsed.settings, problems);
  if (!snapshot) return bad_input("\n" + problems.to_string());
  std::cerr << problems.warnings_to_string();
  std::string problem;
  const proxy::ListenerRuntime* listener = pick_listener(*snapshot, request.listener, problem);
  if (!listener) return bad_input(problem);

  auto chain = tls::read_certificates(request.cert);
  if (!chain) return bad_input(chain.error());
  std::vector<std::string> der;
  for (const auto& cert : *chain) {
    auto encoded = tls::der_of(cert.get());
    if (!encoded) return bad_input("cannot encode a certificate of " + request.cert);
    der.push_back(std::move(*encoded));
  }
  const tls::Verdict verdict = listener->tls->judge(der, request.sni);
  const std::string keyword(gatehouse::reason_keyword(verdict.reason));
  std::string route;
  if (verdict.route >= 0) route = listener->router->routes()[static_cast<size_t>(verdict.route)].name;

  if (request.json) {
    nlohmann::ordered_json j{{"ok", verdict.allowed()}, {"reason", keyword}, {"listener", listener->settings.name}};
    if (!verdict.detail.empty()) j["detail"] = verdict.detail;
    if (!route.empty()) j["route"] = route;
    if (!verdict.rule.empty()) j["rule"] = verdict.rule;
    if (verdict.failed_depth >= 0) j["depth"] = verdict.failed_depth;
    std::cout << j.dump(2) << "\n";
  } else if (verdict.allowed()) {
    std::cout << "ok: '" << tls::diagnose::printable(verdict.identity()->subject) << "' would be admitted by listener '"
              << listener->settings.name << "' on route '" << route << "' (rule: " << verdict.rule << ")\n";
  } else {
    std::cout << keyword << ": " << tls::diagnose::printable(verdict.detail) << "\n";
  }
  return verdict.allowed() ? 0 : 1;
}

}  // namespace gatehouse::app
