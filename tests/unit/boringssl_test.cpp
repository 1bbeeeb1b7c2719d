// Proof that the build linked BoringSSL and not the system OpenSSL.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include <openssl/crypto.h>
#include "tls/bssl.hpp"

TEST(BoringSsl, HeadersAreBoringSsl) {
#ifdef OPENSSL_IS_BORINGSSL
  SUCCEED();
#else
  FAIL() << "compiled against non-BoringSSL headers";
#endif
}

TEST(BoringSsl, LinkedLibraryIsBoringSsl) {
  EXPECT_EQ(std::string(OpenSSL_version(OPENSSL_VERSION)), "BoringSSL");
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&SSL_CTX_new), &info), 0);
  // The Debian shared BoringSSL lives in .../android/; a static build has SSL_CTX_new in our binary.
  std::string where = info.dli_fname ? info.dli_fname : "";
  EXPECT_EQ(where.find("libssl.so.3"), std::string::npos) << "linked the system OpenSSL: " << where;
}

#ifdef GATEHOUSE_BORINGSSL_STATIC
// The static build hides its symbols: nothing loaded later (a library that brings the system
// OpenSSL) can bind to ours, and ours never resolve to theirs.
TEST(BoringSsl, StaticBuildKeepsItsSymbolsToItself) {
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "SSL_CTX_new"), nullptr);
  void* openssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_GLOBAL);  // as libcurl would bring it
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  EXPECT_NE(ctx, nullptr);
  EXPECT_EQ(std::string(OpenSSL_version(OPENSSL_VERSION)), "BoringSSL");
  if (openssl) dlclose(openssl);
}
#endif
