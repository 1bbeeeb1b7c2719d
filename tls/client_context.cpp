#include "tls/client_context.hpp"

#include <arpa/inet.h>

#include "tls/pem_io.hpp"

namespace gatehouse::tls {
namespace {
bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}
}  // namespace

std::unique_ptr<ClientContext> ClientContext::create(const conf::UpstreamTlsSettings& settings, const std::string& file,
                                                     conf::Diagnostics& problems) {
  auto cc = std::make_unique<ClientContext>();
  cc->server_name_ = settings.server_name;
  cc->ctx_.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = cc->ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_strict_cipher_list(ctx, kAeadTls12Ciphers);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  size_t before = problems.problems().size();
  auto anchors = read_certificates(settings.ca.path);
  if (!anchors) problems.add(file, settings.ca.source, anchors.error());
  else
    for (const auto& a : *anchors) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), a.get());
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
  if (problems.problems().size() != before) return nullptr;
  return cc;
}

bssl::UniquePtr<SSL> ClientContext::new_ssl(const std::string& host) const {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  const std::string& name = server_name_.empty() ? host : server_name_;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (is_ip(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), name.c_str());
    X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

}  // namespace gatehouse::tls
