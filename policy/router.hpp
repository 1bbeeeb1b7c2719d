// A listener's routes, chosen by the client's SNI (exact names and "*." wildcards, without
// regard to case), with at most one default route for everything else. Compiled once per
// config load; `authorize` runs inside the TLS handshake, right after the chain verified.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"
#include "policy/route_policy.hpp"
#include "tls/authorizer.hpp"

namespace gatehouse::policy {

struct CompiledRoute {
  std::string name;
  std::vector<std::string> sni;
  RoutePolicy policy;
};

class Router : public tls::Authorizer {
 public:
  // Problems (bad rules, duplicate names, two default routes) go to `problems`.
  static std::optional<Router> compile(const std::vector<conf::RouteSettings>& routes, const std::string& file,
                                       conf::Diagnostics& problems);
  // The index of the route for `sni`, or -1 when none and there is no default route.
  int select(std::string_view sni) const;
  tls::Authorization authorize(const tls::PeerIdentity& identity, std::string_view sni) const override;
  const std::vector<CompiledRoute>& routes() const { return routes_; }

 private:
  std::vector<CompiledRoute> routes_;
  int default_route_ = -1;
  std::unordered_map<std::string, int> exact_;      // lower-case name → route
  std::unordered_map<std::string, int> wildcards_;  // what follows "*." → first route with it
};

}  // namespace gatehouse::policy
