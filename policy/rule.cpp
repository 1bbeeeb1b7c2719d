#include "policy/rule.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>

namespace gatehouse::policy {
namespace {

// IPv4 and IPv6 in one canonical spelling, so "::1" and "0:0:0:0:0:0:0:1" compare equal.
std::optional<std::string> canonical_ip(const std::string& text) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return inet_ntop(AF_INET6, buf, out, sizeof out);
  return std::nullopt;
}

bool any_of(const std::vector<std::string>& values, const std::function<bool(const std::string&)>& pred) {
  return std::any_of(values.begin(), values.end(), pred);
}

}  // namespace

std::string normalize_hex(std::string_view text, bool upper) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    out += static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                   : std::tolower(static_cast<unsigned char>(c)));
  }
  if (upper)  // serials: "00:4F" and "4F" are the same number
    while (out.size() > 2 && out.compare(0, 2, "00") == 0) out.erase(0, 2);
  return out;
}

std::optional<Rule> Rule::compile(const conf::RuleSettings& settings, std::string label, std::string& error) {
  static const std::pair<const char*, Field> kFields[] = {
      {"cn", Field::cn},         {"o", Field::o},
      {"ou", Field::ou},         {"dns", Field::dns},
      {"email", Field::email},   {"uri", Field::uri},
      {"ip", Field::ip},         {"serial", Field::serial},
      {"issuer", Field::issuer}, {"fingerprint", Field::fingerprint},
      {"spki", Field::spki}};
  Rule rule;
  rule.label_ = std::move(label);
  rule.fields_ = settings.fields;
  for (const auto& [name, value] : settings.fields) {
    auto it =
        std::find_if(std::begin(kFields), std::end(kFields), [&name = name](const auto& f) { return name == f.first; });
    if (it == std::end(kFields)) {
      error = "unknown identity field '" + name + "'";
      return std::nullopt;
    }
    Field field = it->second;
    const bool globbing = field == Field::dns || field == Field::uri;
    if (!globbing && value.find('*') != std::string::npos) {
      error =
          name + " = \"" + value + "\": patterns (*, **) work only in dns and uri; " + name + " is compared exactly";
      return std::nullopt;
    }
    Matcher m{field, value};
    switch (field) {
      case Field::dns:
        m.expected = Glob(tls::ascii_lower(value), Glob::Kind::dns);
        break;
      case Field::uri:
        m.expected = Glob(value, Glob::Kind::uri);
        break;
      case Field::email:
        m.expected = tls::ascii_lower(value);
        break;
      case Field::ip: {
        auto ip = canonical_ip(value);
        if (!ip) {
          error = "ip = \"" + value + "\" is not an IPv4 or IPv6 address";
          return std::nullopt;
        }
        m.expected = *ip;
        break;
      }
      case Field::serial:
      case Field::fingerprint:
      case Field::spki: {
        std::string hex = normalize_hex(value, field == Field::serial);
        bool ok = !hex.empty() && hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
        if (ok && field != Field::serial) ok = hex.size() == 64;
        if (!ok) {
          error = name + " = \"" + value + "\" is not " +
                  (field == Field::serial ? "a hex serial number" : "a SHA-256 in hex (64 digits, colons allowed)");
          return std::nullopt;
        }
        m.expected = hex;
        break;
      }
      default:
        break;
    }
    rule.matchers_.push_back(std::move(m));
  }
  for (const auto& text : settings.paths) {
    auto pattern = PathPattern::compile(text, error);
    if (!pattern) return std::nullopt;
    rule.paths_.push_back(std::move(*pattern));
  }
  static const char* const kStandard[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                          "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (const auto& method : settings.methods) {
    if (!is_method_token(method)) {
      error = "methods: \"" + method + "\" is not a method name (RFC 9110 token)";
      return std::nullopt;
    }
    // Methods are case-sensitive: "get" would never match a browser's GET.
    std::string upper = method;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != method && std::find(std::begin(kStandard), std::end(kStandard), upper) != std::end(kStandard)) {
      error = "methods: \"" + method + "\" never matches " + upper + " (method names are case-sensitive)";
      return std::nullopt;
    }
    rule.methods_.push_back(method);
  }
  return rule;
}

bool Rule::matches_request(std::string_view method, const std::vector<std::string_view>& path_segments) const {
  if (!methods_.empty() && std::find(methods_.begin(), methods_.end(), method) == methods_.end()) return false;
  return paths_.empty() ||
         std::any_of(paths_.begin(), paths_.end(), [&](const PathPattern& p) { return p.matches(path_segments); });
}

bool Rule::field_matches(const Matcher& m, const tls::PeerIdentity& id) {
  auto text = [&]() -> const std::string& { return std::get<std::string>(m.expected); };
  auto glob = [&]() -> const Glob& { return std::get<Glob>(m.expected); };
  switch (m.field) {
    case Field::cn:
      return id.cn == text();
    case Field::o:
      return any_of(id.o, [&](const std::string& v) { return v == text(); });
    case Field::ou:
      return any_of(id.ou, [&](const std::string& v) { return v == text(); });
    case Field::dns:
      return any_of(id.dns, [&](const std::string& v) { return glob().matches(v); });
    case Field::uri:
      return any_of(id.uri, [&](const std::string& v) { return glob().matches(v); });
    case Field::email:
      return any_of(id.email, [&](const std::string& v) { return tls::ascii_lower(v) == text(); });
    case Field::ip:
      return any_of(id.ip, [&](const std::string& v) { return canonical_ip(v).value_or("") == text(); });
    case Field::serial:
      return normalize_hex(id.serial, true) == text();
    case Field::issuer:
      return id.issuer == text();
    case Field::fingerprint:
      return id.fingerprint == text();
    case Field::spki:
      return id.spki == text();
  }
  return false;
}

bool Rule::matches(const tls::PeerIdentity& id) const {
  return std::all_of(matchers_.begin(), matchers_.end(), [&](const Matcher& m) { return field_matches(m, id); });
}

bool Rule::same_as(const Rule& other) const {
  auto texts = [](const std::vector<PathPattern>& paths) {
    std::vector<std::string> out;
    for (const auto& p : paths) out.push_back(p.text());
    return out;
  };
  return label_ == other.label_ && fields_ == other.fields_ && methods_ == other.methods_ &&
         texts(paths_) == texts(other.paths_);
}

}  // namespace gatehouse::policy
