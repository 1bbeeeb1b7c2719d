#include "conf/field_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace gatehouse::conf {
namespace {

// Compared after normalized_field_name(), so every spelling of each is caught. The prefixes
// cover whole families that proxies, load balancers and auth gateways use for the client's
// certificate, address or user (nginx and Traefik configs, AWS ALB, Envoy, oauth2-proxy).
constexpr std::array<std::string_view, 7> kSpoofablePrefixes = {
    "x-client-", "x-forwarded-", "x-ssl-", "ssl-client-", "x-amzn-mtls-", "x-auth-request-", "x-envoy-"};
constexpr std::array<std::string_view, 13> kSpoofable = {"client-cert",
                                                         "client-cert-chain",
                                                         "forwarded",
                                                         "x-real-ip",
                                                         "true-client-ip",
                                                         "x-arr-clientcert",
                                                         "remote-user",
                                                         "x-remote-user",
                                                         "client-ip",
                                                         "x-cluster-client-ip",
                                                         "cf-connecting-ip",
                                                         "fastly-client-ip",
                                                         "x-original-forwarded-for"};

constexpr std::array<std::string_view, 10> kFramingAndHop = {
    "content-length", "transfer-encoding", "host",          "connection", "keep-alive", "proxy-connection", "te",
    "trailer",        "upgrade",           "http2-settings"};

}  // namespace

std::string normalized_field_name(std::string_view name) {
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_client_identity_header(std::string_view name) {
  std::string n = normalized_field_name(name);
  if (std::any_of(kSpoofablePrefixes.begin(), kSpoofablePrefixes.end(),
                  [&](std::string_view p) { return n.starts_with(p); }))
    return true;
  return std::find(kSpoofable.begin(), kSpoofable.end(), n) != kSpoofable.end();
}

bool is_framing_or_hop_header(std::string_view name) {
  std::string n = normalized_field_name(name);
  return std::find(kFramingAndHop.begin(), kFramingAndHop.end(), n) != kFramingAndHop.end();
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace gatehouse::conf
