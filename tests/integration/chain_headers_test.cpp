// Honest chain headers: Client-Cert-Chain and XFCC's Chain carry the path the verification built
// (leaf's issuer up to, not including, the root), never the other certificates a client sent, and
// the same whether VerifiedCache answered the handshake, it was verified in full or resumed.
#include <gtest/gtest.h>

#include <openssl/base64.h>

#include <string>
#include <vector>

#include "tests/support/http_upstream.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

using tls::pki::CertSpec;

std::string der_of(const Cert& cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert.x509.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string unbase64(std::string_view b64) {
  size_t len = 0;
  EXPECT_TRUE(EVP_DecodedLength(&len, b64.size()));
  std::string out(len, '\0');
  EXPECT_TRUE(EVP_DecodeBase64(reinterpret_cast<uint8_t*>(out.data()), &len, out.size(),
                               reinterpret_cast<const uint8_t*>(b64.data()), b64.size()));
  out.resize(len);
  return out;
}

// Client-Cert-Chain: ":b64:, :b64:" (RFC 8941 list of byte sequences) → DER each.
std::vector<std::string> client_cert_chain(const ReceivedRequest& req) {
  std::vector<std::string> out;
  const std::string* value = req.header("client-cert-chain");
  if (!value) return out;
  for (size_t pos = 0; pos < value->size();) {
    size_t open = value->find(':', pos);
    size_t close = value->find(':', open + 1);
    if (open == std::string::npos || close == std::string::npos) break;
    out.push_back(unbase64(std::string_view(*value).substr(open + 1, close - open - 1)));
    pos = close + 1;
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// XFCC's Chain="<url-encoded PEM>" → DER of each certificate in it.
std::vector<std::string> xfcc_chain(const ReceivedRequest& req) {
  std::vector<std::string> out;
  const std::string* xfcc = req.header("x-forwarded-client-cert");
  if (!xfcc) return out;
  size_t start = xfcc->find("Chain=\"");
  if (start == std::string::npos) return out;
  start += 7;
  std::string pem = url_decode(std::string_view(*xfcc).substr(start, xfcc->find('"', start) - start));
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bssl::UniquePtr<X509> cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    uint8_t* der = nullptr;
    int len = i2d_X509(cert.get(), &der);
    out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  ERR_clear_error();
  return out;
}

// alice (issued by the harness's intermediate) and two certificates that are not on her path:
// bob's, from the same intermediate, and one mallory made herself.
struct Certificates {
  explicit Certificates(const ProxyHarness& harness) : proxy(harness) {
    write_chain(proxy.dir(), "alice-padded.pem", {&alice, &proxy.intermediate(), &bob, &mallory});
    write_chain(proxy.dir(), "alice-only.pem", {&alice});
    write_key(proxy.dir(), "alice-own.key", alice);
  }
  const ProxyHarness& proxy;
  Cert alice = make_leaf(CertSpec{.cn = "alice", .o = {"Acme Test"}}, &proxy.intermediate());
  Cert bob = make_leaf(CertSpec{.cn = "bob", .o = {"Acme Test"}}, &proxy.intermediate());
  Cert mallory = make_leaf(CertSpec{.cn = "mallory", .o = {"Acme Test"}}, nullptr);
};

ProxyConfig chain_config(const HttpUpstream& up, const std::string& xfcc = "  xfcc_keys = [\"Hash\", \"Chain\"]\n") {
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  c.listener_extra = "mode = \"http\"";
  c.http_extra = "  identity_headers = [\"xfcc\", \"client-cert\"]\n" + xfcc;
  return c;
}

// The config text with session tickets off: every handshake is a full one.
std::string without_resumption(const ProxyHarness& proxy, const ProxyConfig& c) {
  std::string text = proxy.config_text(c);
  const std::string anchor = "  client_ca = \"root.pem\"\n";
  text.insert(text.find(anchor) + anchor.size(), "  session_tickets = false\n");
  return text;
}

// One GET over a new connection, and what the upstream received for it.
struct Exchange {
  ReceivedRequest request;
  bool resumed = false;
  bssl::UniquePtr<SSL_SESSION> session;  // the ticket the client was given, to resume with
};

Exchange get(const HttpUpstream& up, const ClientOptions& options) {
  Exchange out;
  TlsClient client(options);
  EXPECT_TRUE(client.connect()) << client.error();
  client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  auto answer = client.read_all();
  EXPECT_TRUE(answer && answer->find("200 OK") != std::string::npos) << (answer ? *answer : "no answer");
  out.resumed = SSL_session_reused(client.ssl());
  if (client.session() && SSL_SESSION_up_ref(client.session())) out.session.reset(client.session());
  auto reqs = up.requests();
  if (!reqs.empty()) out.request = reqs.back();
  return out;
}

TEST(ChainHeaders, ExtraCertificatesTheClientSentAreNotForwarded) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  proxy.start(chain_config(up));
  auto req = get(up, proxy.client("alice-padded.pem", "alice-own.key")).request;
  const std::string inter = der_of(proxy.intermediate());
  EXPECT_EQ(client_cert_chain(req), std::vector<std::string>{inter});  // neither bob's nor mallory's
  EXPECT_EQ(xfcc_chain(req), (std::vector<std::string>{der_of(certs.alice), inter}));
}

TEST(ChainHeaders, ForwardCertCarriesTheVerifiedChainToo) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  proxy.start(chain_config(up, "  forward_cert = true\n"));
  auto req = get(up, proxy.client("alice-padded.pem", "alice-own.key")).request;
  EXPECT_EQ(xfcc_chain(req), (std::vector<std::string>{der_of(certs.alice), der_of(proxy.intermediate())}));
}

TEST(ChainHeaders, LeafAloneGetsTheConfiguredIntermediateAsItsChain) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  proxy.start(chain_config(up));  // the harness lists inter.pem as client_intermediates
  auto req = get(up, proxy.client("alice-only.pem", "alice-own.key")).request;
  const std::string inter = der_of(proxy.intermediate());
  EXPECT_EQ(client_cert_chain(req), std::vector<std::string>{inter});
  EXPECT_EQ(xfcc_chain(req), (std::vector<std::string>{der_of(certs.alice), inter}));
}

// Without resumption every handshake is full; the second with the same chain is answered by the
// worker's VerifiedCache (one worker), the leaf alone is verified in full again.
TEST(ChainHeaders, SameHeadersWhetherTheCacheAnsweredOrNot) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  proxy.start_text(without_resumption(proxy, chain_config(up)), proxy.dir().path());
  auto first = get(up, proxy.client("alice-padded.pem", "alice-own.key"));
  auto cached = get(up, proxy.client("alice-padded.pem", "alice-own.key"));
  auto alone = get(up, proxy.client("alice-only.pem", "alice-own.key"));
  EXPECT_FALSE(cached.resumed);
  const std::string inter = der_of(proxy.intermediate());
  const ReceivedRequest& reference = first.request;
  for (const auto* exchange : {&first, &cached, &alone}) {
    const ReceivedRequest& req = exchange->request;
    EXPECT_EQ(client_cert_chain(req), std::vector<std::string>{inter});
    ASSERT_NE(req.header("x-forwarded-client-cert"), nullptr);
    EXPECT_EQ(*req.header("x-forwarded-client-cert"), *reference.header("x-forwarded-client-cert"));
  }
}

TEST(ChainHeaders, ResumedSessionForwardsTheSameChain) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  proxy.start(chain_config(up));
  auto first = get(up, proxy.client("alice-padded.pem", "alice-own.key"));
  ASSERT_NE(first.session, nullptr);
  ClientOptions again = proxy.client("alice-padded.pem", "alice-own.key");
  again.resume = first.session.get();
  auto resumed = get(up, again);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(client_cert_chain(resumed.request), std::vector<std::string>{der_of(proxy.intermediate())});
  ASSERT_NE(resumed.request.header("x-forwarded-client-cert"), nullptr);
  EXPECT_EQ(*resumed.request.header("x-forwarded-client-cert"), *first.request.header("x-forwarded-client-cert"));
}

// The verdict may not depend on the cache's history either: a leaf whose chain verified once is
// not let in without the intermediate it needs (none configured here).
TEST(ChainHeaders, LeafAloneIsRefusedAfterItsFullChainVerified) {
  HttpUpstream up;
  ProxyHarness proxy;
  Certificates certs(proxy);
  write_chain(proxy.dir(), "alice-full.pem", {&certs.alice, &proxy.intermediate()});
  ProxyConfig c = chain_config(up);
  c.configure_intermediates = false;
  proxy.start_text(without_resumption(proxy, c), proxy.dir().path());
  EXPECT_TRUE(get_ok(proxy.client("alice-full.pem", "alice-own.key")));
  EXPECT_FALSE(get_ok(proxy.client("alice-only.pem", "alice-own.key")));
  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["reason"], "incomplete_chain") << log[1].dump();
}

}  // namespace
}  // namespace gatehouse::test
