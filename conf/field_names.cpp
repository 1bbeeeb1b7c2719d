#include "conf/field_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace gatehouse::conf {
namespace {

// Compared after normalized_field_name(), so every spelling of each is caught.
constexpr std::array<std::string_view, 20> kSpoofable = {
    "x-forwarded-client-cert", "client-cert",        "client-cert-chain",   "x-forwarded-for",
    "x-forwarded-proto",       "x-forwarded-host",   "x-forwarded-port",    "forwarded",
    "x-real-ip",               "x-ssl-client-cert",  "x-ssl-client-dn",     "x-forwarded-server",
    "x-forwarded-ssl",         "x-forwarded-scheme", "true-client-ip",      "x-ssl-client-verify",
    "x-ssl-client-s-dn",       "x-ssl-client-i-dn",  "ssl-client-cert",     "x-arr-clientcert"};

constexpr std::array<std::string_view, 10> kFramingAndHop = {
    "content-length", "transfer-encoding", "host", "connection", "keep-alive",
    "proxy-connection", "te", "trailer", "upgrade", "http2-settings"};

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
  if (n.starts_with("x-client-")) return true;
  return std::find(kSpoofable.begin(), kSpoofable.end(), n) != kSpoofable.end();
}

bool is_framing_or_hop_header(std::string_view name) {
  std::string n = normalized_field_name(name);
  return std::find(kFramingAndHop.begin(), kFramingAndHop.end(), n) != kFramingAndHop.end();
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

}  // namespace gatehouse::conf
