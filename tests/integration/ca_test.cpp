// `gatehouse ca` end to end, checked by other tools: openssl verify/req/crl/pkcs12, NSS pk12util,
// and curl through the proxy with an issued and a revoked certificate.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;

class Ca : public testing::Test {
 protected:
  CommandResult gh(const std::string& args) { return run_command(kBinary + " " + args); }
  std::string path(const std::string& rel) const { return (tmp.path() / rel).string(); }
  std::string slurp(const std::string& rel) const {
    std::ifstream in(tmp.path() / rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void make_ca() {
    ASSERT_EQ(gh("ca init " + ca + " --name 'Acme Staging Root'").exit_code, 0);
    ASSERT_EQ(gh("ca intermediate " + ca + " --name 'Acme Staging Intermediate'").exit_code, 0);
  }

  TempDir tmp;
  std::string ca = path("ca");
};

TEST_F(Ca, IssuedChainsVerifyWithOpenssl) {
  make_ca();
  auto r =
      gh("ca issue " + ca + " --cn alice --ou testers --o Acme --san email:alice@acme.test,uri:spiffe://acme/t/alice");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(gh("ca issue " + ca + " --profile server --cn staging.acme.test").exit_code, 0);
  auto v = run_command("openssl verify -purpose sslclient -CAfile " + ca + "/root.pem -untrusted " + ca +
                       "/intermediate.pem " + ca + "/issued/alice.pem");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  v = run_command("openssl verify -purpose sslserver -CAfile " + ca + "/root.pem -untrusted " + ca +
                  "/intermediate.pem " + ca + "/issued/staging.acme.test.pem");
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // A server certificate carries its name as a SAN, which browsers require.
  auto text = run_command("openssl x509 -noout -ext subjectAltName,extendedKeyUsage,basicConstraints -in " + ca +
                          "/issued/staging.acme.test.pem");
  EXPECT_NE(text.output.find("DNS:staging.acme.test"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("TLS Web Server Authentication"), std::string::npos);
  EXPECT_NE(text.output.find("CA:FALSE"), std::string::npos);
  text = run_command("openssl x509 -noout -text -in " + ca + "/issued/alice.pem");
  EXPECT_NE(text.output.find("email:alice@acme.test, URI:spiffe://acme/t/alice"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("TLS Web Client Authentication"), std::string::npos);
  text = run_command("openssl x509 -noout -text -in " + ca + "/root.pem");
  EXPECT_NE(text.output.find("CA:TRUE, pathlen:1"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Certificate Sign, CRL Sign"), std::string::npos);
  EXPECT_NE(text.output.find("ASN1 OID: prime256v1"), std::string::npos);
  // Keys are private to their owner.
  struct stat st {};
  ASSERT_EQ(::stat((ca + "/issued/alice.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((ca + "/private/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Ca, RsaRootOnRequest) {
  ASSERT_EQ(gh("ca init " + ca + " --name R --key rsa2048").exit_code, 0);
  auto text = run_command("openssl x509 -noout -text -in " + ca + "/root.pem");
  EXPECT_NE(text.output.find("Public-Key: (2048 bit)"), std::string::npos) << text.output;
}

TEST_F(Ca, SignsCsrsFromOpensslAndFromItself) {
  make_ca();
  ASSERT_EQ(
      run_command("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + path("carol.key") +
                  " -subj /CN=carol/O=Acme -addext subjectAltName=email:carol@acme.test -out " + path("carol.csr"))
          .exit_code,
      0);
  // The CSR's names are copied only when the operator asks for it.
  auto r = gh("ca sign " + ca + " " + path("carol.csr") + " --profile client --use-csr-names");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto text = run_command("openssl x509 -noout -subject -ext subjectAltName -in " + ca + "/issued/carol.pem");
  EXPECT_NE(text.output.find("CN = carol"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("email:carol@acme.test"), std::string::npos);
  // Without the flag the names are the operator's only: here the name and the SANs.
  ASSERT_EQ(gh("ca csr --cn bob --san email:bob@evil.test --out " + path("bob")).exit_code, 0);
  r = gh("ca sign " + ca + " " + path("bob.csr") + " --cn bob --ou testers --san email:bob@acme.test");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  text = run_command("openssl x509 -noout -subject -ext subjectAltName -in " + ca + "/issued/bob.pem");
  EXPECT_NE(text.output.find("email:bob@acme.test"), std::string::npos) << text.output;
  EXPECT_EQ(text.output.find("evil"), std::string::npos);
  // The issued certificate belongs to the requester's key.
  auto m = run_command("openssl x509 -noout -pubkey -in " + ca +
                       "/issued/bob.pem | openssl sha256; openssl pkey -pubout -in " + path("bob.key") +
                       " | openssl sha256");
  auto nl = m.output.find('\n');
  EXPECT_EQ(m.output.substr(0, nl), m.output.substr(nl + 1, nl)) << m.output;
}

TEST_F(Ca, TamperedCsrIsRefused) {
  make_ca();
  ASSERT_EQ(gh("ca csr --cn mallory --out " + path("m")).exit_code, 0);
  // Flip one character in the middle: the request no longer matches its signature.
  std::string csr = slurp("m.csr");
  csr[csr.size() / 2] = csr[csr.size() / 2] == 'A' ? 'B' : 'A';
  tmp.write("bad.csr", csr);
  auto r = gh("ca sign " + ca + " " + path("bad.csr"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.output.find("signature does not verify") != std::string::npos ||
              r.output.find("not a certificate signing request") != std::string::npos)
      << r.output;
}

TEST_F(Ca, RevocationReachesTheProxyThroughTheCrl) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice --ou testers").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --cn bob --ou testers").exit_code, 0);
  ASSERT_EQ(gh("ca issue " + ca + " --profile server --cn localhost --san dns:localhost,ip:127.0.0.1").exit_code, 0);
  auto r = gh("ca revoke " + ca + " " + ca + "/issued/bob.pem --reason keyCompromise");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(gh("ca crl " + ca + " --days 7").exit_code, 0);
  auto crl = run_command("openssl crl -noout -text -in " + ca + "/crl.pem");
  EXPECT_EQ(crl.exit_code, 0) << crl.output;
  EXPECT_NE(crl.output.find("Key Compromise"), std::string::npos) << crl.output;
  auto list = gh("ca list " + ca);
  EXPECT_NE(list.output.find("\nbob "), std::string::npos) << list.output;
  EXPECT_NE(list.output.find(" revoked "), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("(keyCompromise)"), std::string::npos) << list.output;

  // The proxy, configured from the CA folder alone.
  const std::string config =
      "[server]\nworkers = 1\n[log]\nlevel = \"warn\"\n[[listener]]\nlisten = \"127.0.0.1:0\"\n  [listener.tls]\n"
      "  certificates = [{ cert = \"ca/issued/localhost-chain.pem\", key = \"ca/issued/localhost.key\" }]\n"
      "  client_ca = \"ca/root.pem\"\n  client_intermediates = \"ca/intermediate.pem\"\n  crl = \"ca/crl.pem\"\n"
      "  [[listener.route]]\n  upstream = \"who\"\n[[upstream]]\nname = \"who\"\nendpoints = [\"builtin:whoami\"]\n";
  auto check = gh("check -c " + tmp.write("gatehouse.toml", config).string());
  ASSERT_EQ(check.exit_code, 0) << check.output;
  ProxyHarness proxy;
  proxy.start_text(config, tmp.path());
  auto curl = [&](const std::string& who) {
    return run_command("curl -sS --max-time 10 --cacert " + ca + "/root.pem --cert " + ca + "/issued/" + who +
                       "-chain.pem --key " + ca + "/issued/" + who +
                       ".key https://localhost:" + std::to_string(proxy.port()) + "/");
  };
  auto alice = curl("alice");
  EXPECT_EQ(alice.exit_code, 0) << alice.output;
  EXPECT_NE(alice.output.find("Hello, alice!"), std::string::npos) << alice.output;
  auto bob = curl("bob");
  EXPECT_NE(bob.exit_code, 0) << bob.output;
  EXPECT_EQ(bob.output.find("Hello"), std::string::npos);
  // `gatehouse verify` explains it the same way, with the date and reason.
  auto v = gh("verify --ca " + ca + "/root.pem --crl " + ca + "/crl.pem " + ca + "/issued/bob-chain.pem");
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.output.find("revoked: certificate 'CN=bob,OU=testers' has been revoked on "), std::string::npos)
      << v.output;
  EXPECT_NE(v.output.find("(keyCompromise)"), std::string::npos) << v.output;
  auto log = proxy.wait_for_log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["reason"], "revoked");
  EXPECT_NE(log[1]["detail"].get<std::string>().find("(keyCompromise)"), std::string::npos) << log[1].dump();
}

TEST_F(Ca, Pkcs12OpensWithOpensslAndNss) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice --ou testers").exit_code, 0);
  auto r = gh("ca export " + ca + " alice --p12 --password 'pa ss'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto info = run_command("openssl pkcs12 -info -noout -in " + ca + "/issued/alice.p12 -passin 'pass:pa ss'");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("AES-256-CBC"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("MAC: sha256"), std::string::npos) << info.output;
  auto pem = run_command("openssl pkcs12 -nodes -in " + ca + "/issued/alice.p12 -passin 'pass:pa ss'");
  EXPECT_NE(pem.output.find("CN = alice"), std::string::npos) << pem.output;
  EXPECT_NE(pem.output.find("friendlyName: alice"), std::string::npos) << pem.output;
  EXPECT_NE(pem.output.find("subject=O = Acme Staging Root, CN = Acme Staging Intermediate"), std::string::npos);
  EXPECT_NE(pem.output.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto wrong = run_command("openssl pkcs12 -noout -in " + ca + "/issued/alice.p12 -passin pass:nope");
  EXPECT_NE(wrong.exit_code, 0);
  auto ours = gh("inspect --password 'pa ss' " + ca + "/issued/alice.p12");
  EXPECT_EQ(ours.exit_code, 0) << ours.output;
  EXPECT_NE(ours.output.find("(PKCS#12)"), std::string::npos);
  EXPECT_NE(ours.output.find("private key: ECDSA P-256, matches 'CN=alice,OU=testers'"), std::string::npos)
      << ours.output;
  ours = gh("inspect --password nope " + ca + "/issued/alice.p12");
  EXPECT_EQ(ours.exit_code, 1);
  EXPECT_NE(ours.output.find("is a PKCS#12 file and the password is wrong"), std::string::npos) << ours.output;

  // NSS, the key store of Firefox and Chrome on Linux.
  std::string db = path("nssdb");
  std::filesystem::create_directory(db);
  ASSERT_EQ(run_command("certutil -N -d sql:" + db + " --empty-password").exit_code, 0);
  auto nss = run_command("pk12util -i " + ca + "/issued/alice.p12 -d sql:" + db + " -W 'pa ss'");
  EXPECT_EQ(nss.exit_code, 0) << nss.output;
  auto listed = run_command("certutil -L -d sql:" + db);
  EXPECT_NE(listed.output.find("alice"), std::string::npos) << listed.output;

  ASSERT_EQ(gh("ca export " + ca + " alice --password x --legacy --out " + path("old.p12")).exit_code, 0);
  info = run_command("openssl pkcs12 -legacy -info -noout -in " + path("old.p12") + " -passin pass:x");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("pbeWithSHA1And3-KeyTripleDES-CBC"), std::string::npos) << info.output;
}

TEST_F(Ca, TheFolderIsSafe) {
  make_ca();
  ASSERT_EQ(gh("ca issue " + ca + " --cn alice").exit_code, 0);
  std::string before = slurp("ca/issued/alice.pem");
  auto again = gh("ca issue " + ca + " --cn alice");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("already exists; add --force"), std::string::npos) << again.output;
  EXPECT_EQ(slurp("ca/issued/alice.pem"), before);
  EXPECT_NE(gh("ca init " + ca + " --name Other").output.find("already holds a CA"), std::string::npos);

  auto foreign = gh("ca issue " + path("not-a-ca") + " --cn x");
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_NE(foreign.output.find("is not a Gatehouse CA folder"), std::string::npos) << foreign.output;

  Cert stranger_root = make_root("Stranger", "Elsewhere");
  Cert stranger = make_leaf({.cn = "stranger"}, &stranger_root);
  auto stranger_file = write_chain(tmp, "stranger.pem", {&stranger});
  auto not_ours = gh("ca revoke " + ca + " " + stranger_file.string());
  EXPECT_NE(not_ours.exit_code, 0);
  EXPECT_NE(not_ours.output.find("was not issued by this CA"), std::string::npos) << not_ours.output;

  std::string index = slurp("ca/index.json");
  tmp.write("ca/index.json", index.substr(0, index.size() / 2));
  auto damaged = gh("ca issue " + ca + " --cn carol");
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_NE(damaged.output.find("index.json is damaged"), std::string::npos) << damaged.output;
  EXPECT_FALSE(std::filesystem::exists(ca + "/issued/carol.pem"));
  EXPECT_EQ(slurp("ca/index.json"), index.substr(0, index.size() / 2));  // untouched

  // Serials are random, 16 bytes, and differ.
  tmp.write("ca/index.json", index);
  ASSERT_EQ(gh("ca issue " + ca + " --cn dave").exit_code, 0);
  auto list = gh("ca list " + ca).output;
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), 4);  // the header, intermediate, alice, dave
}

}  // namespace
}  // namespace gatehouse::test
