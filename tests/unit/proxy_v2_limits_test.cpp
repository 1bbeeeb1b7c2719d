// The PROXY v2 writer never lets a value outgrow a 16-bit length field: whatever the sizes of the
// client certificate, the SNI or the CN, every length in the header matches what follows it,
// and a TLV that does not fit is left out and named.
#include <gtest/gtest.h>

#include <map>

#include "proxy/proxy_protocol.hpp"

namespace gatehouse::proxy {
namespace {

using asio::ip::make_address;
using asio::ip::tcp;

std::size_t be16(const std::string& s, std::size_t at) {
  return static_cast<std::size_t>(static_cast<std::uint8_t>(s[at])) << 8 | static_cast<std::uint8_t>(s[at + 1]);
}

// Walks TLVs in s[from, to): each must end inside the range, and they must cover it exactly.
// Returns type -> value; fails the test on any inconsistency.
std::map<std::uint8_t, std::string> walk(const std::string& s, std::size_t from, std::size_t to) {
  std::map<std::uint8_t, std::string> out;
  std::size_t at = from;
  while (at < to) {
    EXPECT_LE(at + 3, to) << "a TLV header runs past its container at " << at;
    if (at + 3 > to) return out;
    std::size_t len = be16(s, at + 1);
    EXPECT_LE(at + 3 + len, to) << "TLV 0x" << std::hex << +static_cast<std::uint8_t>(s[at])
                                << " runs past its container";
    if (at + 3 + len > to) return out;
    out[static_cast<std::uint8_t>(s[at])] = s.substr(at + 3, len);
    at += 3 + len;
  }
  EXPECT_EQ(at, to);
  return out;
}

ProxyV2Info info_with(std::size_t cert_size, std::size_t cn_size = 5) {
  ProxyV2Info info;
  info.source = tcp::endpoint(make_address("192.0.2.1"), 56324);
  info.destination = tcp::endpoint(make_address("192.0.2.2"), 443);
  info.cert_on_connection = info.cert_in_session = true;
  info.version = "TLSv1.3";
  info.cn = std::string(cn_size, 'c');
  info.cipher = "TLS_AES_128_GCM_SHA256";
  info.client_cert_der = std::string(cert_size, '\x30');
  info.authority = "app.example";
  return info;
}

// The header's length covers addresses and TLVs exactly, and the SSL TLV's sub-TLVs fill it.
std::map<std::uint8_t, std::string> consistent_ssl_subtlvs(const std::string& header) {
  EXPECT_GE(header.size(), 16u + 12u);
  EXPECT_EQ(16 + be16(header, 14), header.size()) << "the length field does not match the bytes sent";
  auto top = walk(header, 16 + 12, header.size());
  EXPECT_TRUE(top.count(kPp2TypeSsl));
  const std::string& ssl = top[kPp2TypeSsl];
  EXPECT_GE(ssl.size(), 5u);
  return walk(ssl, 5, ssl.size());
}

TEST(ProxyV2Limits, ACertificateOver64KiBIsLeftOutAndTheRestStaysConsistent) {
  std::vector<ProxyTlv> dropped;
  std::string header = encode_proxy_v2(info_with(70 * 1000), dropped);
  auto sub = consistent_ssl_subtlvs(header);
  EXPECT_FALSE(sub.count(kPp2SubtypeSslClientCert));
  EXPECT_EQ(sub[kPp2SubtypeSslCn], "ccccc");
  EXPECT_EQ(sub[kPp2SubtypeSslVersion], "TLSv1.3");
  EXPECT_EQ(dropped, std::vector<ProxyTlv>{ProxyTlv::ssl_client_cert});
  EXPECT_EQ(proxy_tlv_keyword(ProxyTlv::ssl_client_cert), "ssl_client_cert");
  // Small again once the certificate is out: our own reader takes it, and sees the client's address.
  auto parsed = parse_proxy_header(reinterpret_cast<const std::uint8_t*>(header.data()), header.size());
  ASSERT_EQ(parsed.status, ReceivedProxyHeader::Status::complete) << parsed.error;
  EXPECT_EQ(parsed.length, header.size());
  EXPECT_EQ(*parsed.source, info_with(0).source);
}

TEST(ProxyV2Limits, EverySizeAroundTheLimitGivesConsistentLengths) {
  // Sizes on both sides of where the certificate stops fitting (64 KiB less the other fields).
  for (std::size_t size :
       {1000u, 65000u, 65400u, 65450u, 65470u, 65480u, 65490u, 65500u, 65535u, 65536u, 70000u, 200000u}) {
    SCOPED_TRACE("certificate of " + std::to_string(size) + " bytes");
    std::vector<ProxyTlv> dropped;
    std::string header = encode_proxy_v2(info_with(size), dropped);
    EXPECT_LE(header.size(), 16u + 0xffffu);
    auto sub = consistent_ssl_subtlvs(header);
    const bool kept = sub.count(kPp2SubtypeSslClientCert) == 1;
    EXPECT_EQ(kept, dropped.empty());
    if (kept) {
      EXPECT_EQ(sub[kPp2SubtypeSslClientCert].size(), size);
    }
  }
}

TEST(ProxyV2Limits, AnOversizedCnAndCertificateAreBothLeftOut) {
  std::vector<ProxyTlv> dropped;
  std::string header = encode_proxy_v2(info_with(40000, 40000), dropped);
  auto sub = consistent_ssl_subtlvs(header);
  // The CN (first) fits, the certificate after it no longer does.
  EXPECT_EQ(sub[kPp2SubtypeSslCn].size(), 40000u);
  EXPECT_FALSE(sub.count(kPp2SubtypeSslClientCert));
  EXPECT_EQ(dropped, std::vector<ProxyTlv>{ProxyTlv::ssl_client_cert});

  dropped.clear();
  header = encode_proxy_v2(info_with(10, 70000), dropped);
  sub = consistent_ssl_subtlvs(header);
  EXPECT_FALSE(sub.count(kPp2SubtypeSslCn));
  EXPECT_EQ(sub[kPp2SubtypeSslClientCert].size(), 10u);
  EXPECT_EQ(dropped, std::vector<ProxyTlv>{ProxyTlv::ssl_cn});
}

}  // namespace
}  // namespace gatehouse::proxy
