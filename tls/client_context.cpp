#include "tls/client_context.hpp"

#include <arpa/inet.h>

#include "tls/diagnose/printable.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {
bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}
}  // namespace

std::unique_ptr<ClientContext> ClientContext::create(const conf::UpstreamTlsSettings& settings,
                                                     conf::UpstreamProtocol protocol, const std::string& file,
                                                     conf::Diagnostics& problems) {
  auto cc = std::make_unique<ClientContext>();
  cc->server_name_ = settings.server_name;
  cc->ctx_.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = cc->ctx_.get();
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      !SSL_CTX_set_strict_cipher_list(ctx, kAeadTls12Ciphers)) {
    problems.add(file, settings.source, "cannot set up TLS to the upstream: " + drain_errors());
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  static constexpr std::uint8_t kH2[] = {2, 'h', '2'};
  static constexpr std::uint8_t kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  const bool h2 = protocol == conf::UpstreamProtocol::h2;
  if (SSL_CTX_set_alpn_protos(ctx, h2 ? kH2 : kHttp11, h2 ? sizeof kH2 : sizeof kHttp11) != 0) {  // 0 is success
    problems.add(file, settings.source, "cannot set up TLS to the upstream: " + drain_errors());
    return nullptr;
  }
  size_t before = problems.problems().size();
  auto anchors = read_certificates(settings.ca.path);
  if (!anchors)
    problems.add(file, settings.ca.source, anchors.error());
  else
    for (const auto& a : *anchors)
      if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), a.get()))
        problems.add(file, settings.ca.source, settings.ca.path.string() + ": cannot add a CA: " + drain_errors());
  if (settings.cert && settings.key) {
    auto chain = read_certificates(settings.cert->path);
    auto key = read_private_key(settings.key->path);
    if (!chain) problems.add(file, settings.cert->source, chain.error());
    if (!key) problems.add(file, settings.key->source, key.error());
    if (chain && key) {
      bool ok = SSL_CTX_use_certificate(ctx, chain->front().get()) && SSL_CTX_use_PrivateKey(ctx, key->get());
      for (size_t i = 1; ok && i < chain->size(); ++i) ok = SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get());
      if (!ok || !SSL_CTX_check_private_key(ctx)) {
        drain_errors();
        problems.add(file, settings.key->source,
                     settings.key->path.string() + " is not the private key of " + settings.cert->path.string());
      }
    }
  }
  // A server_name the setters refuse would refuse every connection: say so at load time.
  if (!settings.server_name.empty())
    if (auto probe = cc->new_ssl(settings.server_name); !probe)
      problems.add(file, settings.source, "server_name: " + probe.error());
  if (problems.problems().size() != before) return nullptr;
  return cc;
}

Result<bssl::UniquePtr<SSL>> ClientContext::new_ssl(const std::string& host) const {
  using R = Result<bssl::UniquePtr<SSL>>;
  const std::string& name = server_name_.empty() ? host : server_name_;
  // Each setter can refuse its name (an embedded NUL, an SNI over 255 bytes, no memory); going on
  // would connect without the name check, so a refusal refuses the connection.
  if (name.empty()) return R::failure("no name to check the upstream's certificate against");
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  if (!ssl) return R::failure("cannot make a TLS connection: " + drain_errors());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (is_ip(name)) {
    if (!X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()))
      return R::failure("cannot check the upstream's certificate for the address '" + name + "': " + drain_errors());
  } else {
    if (!SSL_set_tlsext_host_name(ssl.get(), name.c_str()))
      return R::failure("cannot send '" + diagnose::printable(name) + "' as the server name (SNI): " + drain_errors());
    if (!X509_VERIFY_PARAM_set1_host(param, name.data(), name.size()))
      return R::failure("cannot check the upstream's certificate for the name '" + diagnose::printable(name) +
                        "': " + drain_errors());
  }
  SSL_set_connect_state(ssl.get());
  return R(std::move(ssl));
}

std::string ClientContext::failure_detail(const Stream& stream) {
  // X509_V_ERR_INVALID_CALL: the handshake failed before the certificate was checked (an alert).
  const long verify = SSL_get_verify_result(stream.ssl());
  return verify != X509_V_OK && verify != X509_V_ERR_INVALID_CALL ? X509_verify_cert_error_string(verify)
                                                                  : stream.last_error();
}

std::string ClientContext::chosen_protocol(const Stream& stream) {
  const std::uint8_t* chosen = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(stream.ssl(), &chosen, &length);
  return std::string(reinterpret_cast<const char*>(chosen), length);
}

bool ClientContext::refused_our_protocols(const Stream& stream) {
  return ERR_GET_REASON(stream.last_error_code()) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL;
}

}  // namespace gatehouse::tls
