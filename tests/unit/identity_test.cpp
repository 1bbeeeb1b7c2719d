// Identity extraction from real certificates minted in the test.
#include <gtest/gtest.h>

#include "tests/support/test_pki.hpp"
#include "tls/identity.hpp"

namespace gatehouse::test {

TEST(Identity, ExtractsNamesSansSerialAndDigests) {
  Cert root = make_root("Root", "Acme");
  Cert leaf = make_leaf({.cn = "alice",
                         .o = {"Acme"},
                         .ou = {"testers", "qa"},
                         .sans = {"dns:alice.example.com", "email:alice@example.com",
                                  "uri:spiffe://corp.example/ci/runner", "ip:10.1.2.3", "ip:::1"}},
                        &root);
  tls::PeerIdentity id = tls::extract_identity(leaf.x509.get());
  EXPECT_EQ(id.cn, "alice");
  EXPECT_EQ(id.subject, "CN=alice,OU=qa,OU=testers,O=Acme");
  EXPECT_EQ(id.issuer, "CN=Root,O=Acme");
  EXPECT_EQ(id.o, std::vector<std::string>{"Acme"});
  EXPECT_EQ(id.ou, (std::vector<std::string>{"testers", "qa"}));
  EXPECT_EQ(id.dns, std::vector<std::string>{"alice.example.com"});
  EXPECT_EQ(id.email, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(id.uri, std::vector<std::string>{"spiffe://corp.example/ci/runner"});
  EXPECT_EQ(id.ip, (std::vector<std::string>{"10.1.2.3", "0:0:0:0:0:0:0:1"}));
  EXPECT_EQ(id.serial.size(), 16u * 3 - 1);  // 16 bytes as XX:XX:...
  EXPECT_EQ(id.fingerprint.size(), 64u);
  EXPECT_EQ(id.spki.size(), 64u);
  EXPECT_NE(id.fingerprint, id.spki);
  EXPECT_GT(id.not_after, id.not_before);
}

TEST(Identity, KeepsUnicodeAndEscapesSpecialCharacters) {
  Cert root = make_root("Root", "Acme");
  Cert leaf = make_leaf({.cn = "Zoë, \"the tester\"", .o = {"Ångström AB"}}, &root);
  tls::PeerIdentity id = tls::extract_identity(leaf.x509.get());
  EXPECT_EQ(id.cn, "Zoë, \"the tester\"");
  EXPECT_EQ(id.o, std::vector<std::string>{"Ångström AB"});
  // RFC 2253 escapes the comma and quotes so the subject line stays parseable.
  EXPECT_EQ(id.subject, "CN=Zoë\\, \\\"the tester\\\",O=Ångström AB");
}

TEST(Identity, IsoDates) {
  EXPECT_EQ(tls::iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(tls::iso8601(1'800'000'000), "2027-01-15T08:00:00Z");
}

}  // namespace gatehouse::test
