// `gatehouse inspect` on a certificate whose names hold CR, LF, ESC and bytes that are not UTF-8:
// the text shows them as \xNN (nothing reaches the terminal raw) and --json stays valid JSON,
// with U+FFFD for each byte that is not UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"
#include "tests/support/test_pki.hpp"
#include "tls/pem_io.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = GATEHOUSE_BINARY;
const std::string kBadDns = std::string("bad\xff\xfe") + ".example";
const std::string kBadUri = "spiffe://corp/x\r\nX-Injected: 1\x1b[31m";

void add_raw_san(X509* cert, int type, const std::string& bytes) {
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) names.reset(sk_GENERAL_NAME_new_null());
  bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  ASN1_STRING_set(value, bytes.data(), static_cast<int>(bytes.size()));
  GENERAL_NAME_set0_value(name.get(), type, value);
  sk_GENERAL_NAME_push(names.get(), name.release());
  X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_REPLACE);
}

class InspectNames : public testing::Test {
 protected:
  void SetUp() override {
    Cert root = make_root("Names Root", "Acme Test");
    Cert leaf = make_leaf({.cn = "evil\r\nCN=admin\x1b[2J", .o = {"Acme Test"}}, &root);
    add_raw_san(leaf.x509.get(), GEN_DNS, kBadDns);
    add_raw_san(leaf.x509.get(), GEN_URI, kBadUri);
    ASSERT_TRUE(X509_sign(leaf.x509.get(), root.key.get(), EVP_sha256()));
    file = write_chain(dir, "names.pem", {&leaf});
  }
  TempDir dir;
  std::filesystem::path file;
};

TEST_F(InspectNames, TextOutputEscapesControlBytesAndInvalidUtf8) {
  auto r = run_command(kBinary + " inspect " + file.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (char raw : {'\r', '\x1b', '\xff', '\xfe'})
    EXPECT_EQ(r.output.find(raw), std::string::npos) << "raw byte " << +static_cast<unsigned char>(raw) << " in:\n"
                                                     << r.output;
  EXPECT_NE(r.output.find("bad\\xff\\xfe.example"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("spiffe://corp/x\\x0d\\x0aX-Injected: 1\\x1b[31m"), std::string::npos) << r.output;
  // One line per field: the LF in the URI did not start a line of its own.
  EXPECT_EQ(r.output.find("\nX-Injected"), std::string::npos) << r.output;
}

TEST_F(InspectNames, JsonOutputIsValidForAnyBytes) {
  auto r = run_command(kBinary + " inspect --json " + file.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.output)) << r.output;
  const auto& sans = j[0]["certificates"][0]["subject_alt_names"];
  EXPECT_EQ(sans["dns"][0], "bad\xEF\xBF\xBD\xEF\xBF\xBD.example");  // U+FFFD for each byte that is not UTF-8
  EXPECT_EQ(sans["uri"][0], kBadUri);  // valid UTF-8: control characters are JSON escapes, read back as they were
  EXPECT_NE(r.output.find("\\r\\nX-Injected"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace gatehouse::test
