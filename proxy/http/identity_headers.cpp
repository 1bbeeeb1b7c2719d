#include "proxy/http/identity_headers.hpp"

#include <openssl/base64.h>

#include <algorithm>
#include <array>

#include "common/percent_encode.hpp"
#include "proxy/http/http_message.hpp"

namespace gatehouse::proxy::http {
namespace {

// Certificate strings come from a CA we trust, but a header must never carry CR, LF or NUL.
std::string header_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

std::string quote_value(std::string_view s) {
  std::string out = "\"";
  for (char c : header_safe(s)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string xfcc_text(std::string_view s) {
  bool special = s.find_first_of(",;=\"") != std::string_view::npos;
  return special ? quote_value(s) : header_safe(s);
}

std::string pem(std::string_view der) {
  std::string b64 = byte_sequence(der);
  b64 = b64.substr(1, b64.size() - 2);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE-----\n";
}

std::string url_encode(std::string_view s) {
  return percent_encode(s, [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; });
}

void line(std::vector<Header>& out, std::string_view name, std::string value) {
  out.push_back({std::string(name), std::move(value)});
}

// RFC 7239 node: IPv6 in brackets and quoted.
std::string forwarded_node(const std::string& ip) {
  return ip.find(':') != std::string::npos ? "\"[" + ip + "]\"" : ip;
}

}  // namespace

std::string byte_sequence(std::string_view der) {
  size_t len = 0;
  EVP_EncodedLength(&len, der.size());
  std::string out(len, '\0');
  size_t n =
      EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), reinterpret_cast<const uint8_t*>(der.data()), der.size());
  out.resize(n);
  return ":" + out + ":";
}

std::string xfcc_value(const std::vector<std::string>& keys, bool forward_cert, const ForwardFacts& facts) {
  const tls::PeerIdentity& id = *facts.identity;
  std::vector<std::string> pairs;
  auto wants = [&](std::string_view k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  if (wants("By") && !facts.by.empty()) pairs.push_back("By=" + xfcc_text(facts.by));
  if (wants("Hash")) pairs.push_back("Hash=" + id.fingerprint);
  if (forward_cert || wants("Cert")) pairs.push_back("Cert=\"" + url_encode(pem(facts.leaf_der)) + "\"");
  if (forward_cert || wants("Chain")) {
    std::string chain = pem(facts.leaf_der);
    for (const auto& der : facts.chain_der) chain += pem(der);
    pairs.push_back("Chain=\"" + url_encode(chain) + "\"");
  }
  if (wants("Subject")) pairs.push_back("Subject=" + quote_value(id.subject));
  if (wants("URI"))
    for (const auto& u : id.uri) pairs.push_back("URI=" + xfcc_text(u));
  if (wants("DNS"))
    for (const auto& d : id.dns) pairs.push_back("DNS=" + xfcc_text(d));
  std::string out;
  for (const auto& p : pairs) out += (out.empty() ? "" : ";") + p;
  return out;
}

namespace {

// The lines that depend on the certificate alone.
std::vector<Header> certificate_lines(const conf::IdentityHeaderSettings& settings, const ForwardFacts& facts) {
  std::vector<Header> out;
  const tls::PeerIdentity& id = *facts.identity;
  if (settings.xfcc) line(out, "X-Forwarded-Client-Cert", xfcc_value(settings.xfcc_keys, settings.forward_cert, facts));
  if (settings.client_cert) {
    line(out, "Client-Cert", byte_sequence(facts.leaf_der));
    if (!facts.chain_der.empty()) {
      std::string chain;
      for (const auto& der : facts.chain_der) chain += (chain.empty() ? "" : ", ") + byte_sequence(der);
      line(out, "Client-Cert-Chain", chain);
    }
  }
  if (settings.x_client) {
    line(out, "X-Client-Subject", header_safe(id.subject));
    line(out, "X-Client-CN", header_safe(id.cn));
    line(out, "X-Client-Fingerprint", id.fingerprint);
    line(out, "X-Client-Serial", id.serial);
    line(out, "X-Client-Not-After", tls::iso8601(id.not_after));
  }
  return out;
}

}  // namespace

void append_identity_headers(std::vector<Header>& out, const conf::IdentityHeaderSettings& settings,
                             const ForwardFacts& facts, std::string_view host) {
  if (settings.forwarded) {
    line(out, "X-Forwarded-For", facts.client_ip);
    line(out, "X-Forwarded-Proto", "https");
    std::string fwd = "for=" + forwarded_node(facts.client_ip) + ";proto=https";
    if (!host.empty()) fwd += ";host=" + quote_value(host);
    line(out, "Forwarded", fwd);
  }
  if (!facts.identity) return;
  if (!facts.identity_lines || facts.identity_lines->settings != settings)
    facts.identity_lines = IdentityLines{settings, certificate_lines(settings, facts)};
  out.insert(out.end(), facts.identity_lines->lines.begin(), facts.identity_lines->lines.end());
}

}  // namespace gatehouse::proxy::http
