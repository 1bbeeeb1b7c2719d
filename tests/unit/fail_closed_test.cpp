// Issue 17, "fail closed everywhere": a BoringSSL or Asio call that fails must refuse, never be
// skipped. DER encodings through one checked helper; upstream name setters checked; a stream
// whose socket cannot be set up fails its first operation instead of throwing; an exception
// from a handler does not end the process; an identity without its digests is not authorized.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <optional>
#include <stdexcept>

#include "policy/router.hpp"
#include "proxy/event_loop.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/chain_verifier.hpp"
#include "tls/client_context.hpp"
#include "tls/der.hpp"
#include "tls/stream.hpp"

namespace gatehouse::test {
namespace {

TEST(Der, EncodesWhatParsesBackAndRefusesWhatCannotBeEncoded) {
  Cert root = make_root("Der Root", "Acme");
  auto der = tls::der_of(root.x509.get());
  ASSERT_TRUE(der);
  const auto* p = reinterpret_cast<const uint8_t*>(der->data());
  bssl::UniquePtr<X509> back(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_TRUE(back);
  EXPECT_EQ(X509_cmp(back.get(), root.x509.get()), 0);

  auto bytes = tls::der_bytes_of(root.x509.get());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes->data.get()), bytes->size), *der);
  auto buffer = tls::der_buffer_of(root.x509.get());
  ASSERT_TRUE(buffer);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(buffer.get())), CRYPTO_BUFFER_len(buffer.get())),
      *der);

  auto name = tls::der_of(X509_get_subject_name(root.x509.get()));
  auto name_buffer = tls::der_buffer_of(X509_get_subject_name(root.x509.get()));
  ASSERT_TRUE(name && name_buffer);
  EXPECT_EQ(CRYPTO_BUFFER_len(name_buffer.get()), name->size());
  EXPECT_TRUE(tls::der_bytes_of(X509_get_X509_PUBKEY(root.x509.get())));

  // Nothing to encode, or a certificate without its required fields: no length, no buffer.
  EXPECT_FALSE(tls::der_of(static_cast<const X509*>(nullptr)));
  EXPECT_FALSE(tls::der_buffer_of(static_cast<const X509*>(nullptr)));
  bssl::UniquePtr<X509> unfinished(X509_new());
  EXPECT_FALSE(tls::der_of(unfinished.get()));
  EXPECT_FALSE(tls::der_buffer_of(unfinished.get()));
  EXPECT_EQ(ERR_peek_error(), 0u);  // the helper leaves no error behind for the next caller
}

class UpstreamName : public ::testing::Test {
 protected:
  std::unique_ptr<tls::ClientContext> context(const std::string& server_name, conf::Diagnostics& problems) {
    conf::UpstreamTlsSettings s;
    s.ca.path = write_chain(dir_, "ca.pem", {&root_});
    s.server_name = server_name;
    return tls::ClientContext::create(s, conf::UpstreamProtocol::http1, "test.toml", problems);
  }
  TempDir dir_;
  Cert root_ = make_root("Upstream Root", "Acme");
};

TEST_F(UpstreamName, ANameTheSettersRefuseRefusesTheConnection) {
  conf::Diagnostics problems;
  auto cc = context("", problems);
  ASSERT_TRUE(cc) << problems.to_string();
  auto ok = cc->new_ssl("app.internal");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_STREQ(SSL_get_servername(ok->get(), TLSEXT_NAMETYPE_host_name), "app.internal");
  EXPECT_TRUE(cc->new_ssl("10.0.0.1"));

  // X509_VERIFY_PARAM_set1_host refuses an embedded NUL: going on would skip the name check.
  auto nul = cc->new_ssl(std::string("app.internal\0.evil.example", 26));
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().find("cannot check the upstream's certificate for the name 'app.internal\\x00.evil"),
            std::string::npos)
      << nul.error();
  // SSL_set_tlsext_host_name refuses more than 255 bytes.
  auto long_name = cc->new_ssl(std::string(300, 'a'));
  ASSERT_FALSE(long_name);
  EXPECT_NE(long_name.error().find("as the server name (SNI)"), std::string::npos) << long_name.error();
  // An empty name would clear the check rather than fail it.
  auto empty = cc->new_ssl("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("no name to check"), std::string::npos) << empty.error();
}

TEST_F(UpstreamName, AServerNameTheSettersRefuseIsAConfigError) {
  conf::Diagnostics problems;
  EXPECT_FALSE(context(std::string("app\0x", 5), problems));
  EXPECT_NE(problems.to_string().find("server_name: cannot check the upstream's certificate"), std::string::npos)
      << problems.to_string();
}

// The same setter in the shared verifier (`gatehouse verify --name`): a name it refuses used to
// leave the verification without any name check.
TEST(VerifyName, ANameTheVerifierCannotUseRefusesInsteadOfSkippingTheCheck) {
  Cert root = make_root("Verify Root", "Acme");
  Cert server =
      make_leaf({.cn = "app.internal", .sans = {"dns:app.internal"}, .purpose = tls::pki::Purpose::server}, &root);
  tls::CertChain anchors;
  anchors.emplace_back(bssl::UpRef(root.x509));
  tls::VerifyOptions options;
  options.purpose = tls::VerifyOptions::Purpose::server;
  options.host = "app.internal";
  EXPECT_EQ(tls::ChainVerifier(anchors, {}, {}, options).verify(server.x509.get(), {}).reason, gatehouse::Reason::ok);
  options.host = "other.internal";
  EXPECT_EQ(tls::ChainVerifier(anchors, {}, {}, options).verify(server.x509.get(), {}).reason,
            gatehouse::Reason::name_mismatch);
  options.host = std::string("app.internal\0.evil.example", 26);
  auto refused = tls::ChainVerifier(anchors, {}, {}, options).verify(server.x509.get(), {});
  EXPECT_EQ(refused.reason, gatehouse::Reason::name_mismatch) << refused.detail;
}

TEST(StreamSetUp, ASocketThatCannotBeMadeNonBlockingFailsTheHandshakeNotTheProcess) {
  asio::io_context io;
  asio::ip::tcp::socket never_opened(io);  // non_blocking(true) fails: bad descriptor
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  std::optional<tls::Stream> stream;
  ASSERT_NO_THROW(stream.emplace(never_opened, bssl::UniquePtr<SSL>(SSL_new(ctx.get()))));
  std::error_code handshake, write;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        handshake = co_await stream->handshake();
        write = co_await stream->write_all("x", 1);
      },
      asio::detached);
  io.run();
  EXPECT_EQ(handshake, asio::error::bad_descriptor) << handshake.message();
  EXPECT_EQ(write, handshake);
  EXPECT_NE(stream->last_error().find("non-blocking"), std::string::npos) << stream->last_error();
}

TEST(EventLoop, AHandlerThatThrowsIsLoggedAndTheLoopRunsOn) {
  asio::io_context io;
  bool later_ran = false;
  asio::post(io, [] { throw std::runtime_error("a handler's bug"); });
  asio::post(io, [&] { later_ran = true; });
  std::atomic<std::uint64_t> escaped{0};
  proxy::run_event_loop(io, "test", &escaped);  // would be std::terminate on a bare thread
  EXPECT_TRUE(later_ran);
  EXPECT_EQ(escaped.load(), 1u);
}

TEST(RouterFailsClosed, AnIdentityWithoutItsDigestsIsNotAuthorized) {
  conf::RouteSettings route;
  route.name = "r";
  route.upstream = "u";
  route.allow.push_back({{{"ou", "testers"}}, {}});
  route.deny.push_back({{{"fingerprint", std::string(64, 'f')}}, {}});
  conf::Diagnostics problems;
  auto router = policy::Router::compile({route}, "test.toml", problems);
  ASSERT_TRUE(router) << problems.to_string();
  tls::PeerIdentity id;
  id.ou = {"testers"};
  id.fingerprint = std::string(64, 'a');
  id.spki = std::string(64, 'b');
  EXPECT_TRUE(router->authorize(id, "").allowed);
  // Empty digests (the certificate could not be encoded): the deny rule could not match.
  id.fingerprint.clear();
  auto refused = router->authorize(id, "");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reason, gatehouse::Reason::invalid_certificate);
  id.fingerprint = std::string(64, 'a');
  id.spki.clear();
  EXPECT_FALSE(router->authorize(id, "").allowed);
}

}  // namespace
}  // namespace gatehouse::test
