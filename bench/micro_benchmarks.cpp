// Micro-benchmarks of the per-connection pieces that are not cryptography (Google Benchmark):
// identity extraction, a policy decision over 1,000 rules, one request judged by 20 path rules,
// route lookup by SNI among 1,000 routes, and loading a large config. Run:
// build/gatehouse-microbench; results in RESULTS.md.
#include <benchmark/benchmark.h>

#include <string>

#include "conf/parse.hpp"
#include "policy/router.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/identity.hpp"

namespace gh = gatehouse;

namespace {

gh::test::Cert client_cert() {
  static gh::test::Cert root = gh::test::make_root("Bench Root", "Acme");
  return gh::test::make_leaf(
      gh::tls::pki::CertSpec{.cn = "build-bot",
                             .o = {"Acme"},
                             .ou = {"team-999"},
                             .sans = {"dns:bot.internal", "uri:spiffe://corp.example/ci/build", "email:bot@acme.test"}},
      &root);
}

// One listener with `routes` routes (svc-N.example.com), each allowing `rules` OUs.
std::string config_text(int routes, int rules) {
  std::string text =
      "[[listener]]\nlisten = \"127.0.0.1:8443\"\n  [listener.tls]\n"
      "  certificates = [ { cert = \"s.pem\", key = \"s.key\" } ]\n  client_ca = \"root.pem\"\n";
  for (int r = 0; r < routes; ++r) {
    text += "  [[listener.route]]\n  name = \"r" + std::to_string(r) + "\"\n  sni = [\"svc-" + std::to_string(r) +
            ".example.com\"]\n  upstream = \"app\"\n  allow = [";
    for (int i = 0; i < rules; ++i)
      text += (i ? ", " : "") + std::string("{ ou = \"team-") + std::to_string(i) + "\" }";
    text += "]\n";
  }
  return text + "[[upstream]]\nname = \"app\"\nendpoints = [\"127.0.0.1:8080\"]\n";
}

gh::policy::Router router_of(int routes, int rules) {
  auto parsed = gh::conf::parse_text(config_text(routes, rules), "bench.toml", "/tmp");
  gh::conf::Diagnostics problems;
  return *gh::policy::Router::compile(parsed.settings->listeners[0].routes, "bench.toml", problems);
}

void IdentityExtraction(benchmark::State& state) {
  auto cert = client_cert();
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(gh::tls::extract_identity(cert.x509.get()));
}
BENCHMARK(IdentityExtraction);

void PolicyDecisionOver1000Rules(benchmark::State& state) {
  auto router = router_of(1, 1000);
  auto id = gh::tls::extract_identity(client_cert().x509.get());  // matches rule 999, the last
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(router.authorize(id, "svc-0.example.com"));
}
BENCHMARK(PolicyDecisionOver1000Rules);

// One request's path/method judgment, as http mode does it per request: normalize the target,
// split it, and run the identity's gate over 20 path rules (the identity matched each).
void RequestJudgmentOver20PathRules(benchmark::State& state) {
  std::string text =
      "[[listener]]\nlisten = \"127.0.0.1:8443\"\nmode = \"http\"\n  [listener.tls]\n"
      "  certificates = [ { cert = \"s.pem\", key = \"s.key\" } ]\n  client_ca = \"root.pem\"\n"
      "  [[listener.route]]\n  upstream = \"app\"\n  allow = [";
  for (int i = 0; i < 20; ++i)
    text += (i ? ", " : "") + std::string("{ ou = \"team-999\", path = \"/svc") + std::to_string(i) +
            ".v1.Api/Get*\", methods = [\"POST\"] }";
  text += "]\n[[upstream]]\nname = \"app\"\nendpoints = [\"127.0.0.1:8080\"]\n";
  auto parsed = gh::conf::parse_text(text, "bench.toml", "/tmp");
  gh::conf::Diagnostics problems;
  auto router = *gh::policy::Router::compile(parsed.settings->listeners[0].routes, "bench.toml", problems);
  auto id = gh::tls::extract_identity(client_cert().x509.get());
  const auto gate = router.routes()[0].policy.gate(id);
  std::vector<std::string_view> parts;
  for ([[maybe_unused]] auto _ : state) {
    auto n = gh::policy::normalize_target("/svc19.v1.Api/GetThing?x=1");
    gh::policy::split_path(n.path, parts);
    benchmark::DoNotOptimize(gate.judge({"POST", parts}));  // the last rule decides
  }
}
BENCHMARK(RequestJudgmentOver20PathRules);

void RouteLookupAmong1000(benchmark::State& state) {
  auto router = router_of(1000, 1);
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(router.select("SVC-999.example.com"));
}
BENCHMARK(RouteLookupAmong1000);

void ConfigLoad1000Routes(benchmark::State& state) {
  std::string text = config_text(1000, 10);
  state.counters["bytes"] = static_cast<double>(text.size());
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(gh::conf::parse_text(text, "bench.toml", "/tmp"));
}
BENCHMARK(ConfigLoad1000Routes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
