// PROXY protocol bytes checked against the layout in HAProxy's doc/proxy-protocol.txt:
// 12-byte signature, ver_cmd 0x21, family, length, addresses, then TLVs (type, 16-bit length,
// value); PP2_TYPE_SSL holds client (1 byte) + verify (4 bytes) + sub-TLVs.
#include <gtest/gtest.h>

#include "proxy/proxy_protocol.hpp"

namespace gatehouse::proxy {
namespace {

using asio::ip::make_address;
using asio::ip::tcp;

std::string tlv(std::uint8_t type, const std::string& value) {
  return std::string{static_cast<char>(type), static_cast<char>(value.size() >> 8),
                     static_cast<char>(value.size() & 0xff)} +
         value;
}

TEST(ProxyProtocol, V2LayoutMatchesTheSpecificationByteForByte) {
  ProxyV2Info info;
  info.source = tcp::endpoint(make_address("192.0.2.1"), 56324);
  info.destination = tcp::endpoint(make_address("192.0.2.2"), 443);
  info.cert_on_connection = info.cert_in_session = true;
  info.version = "TLSv1.3";
  info.cn = "alice";
  info.cipher = "TLS_AES_128_GCM_SHA256";
  info.sig_alg = "ecdsa-with-SHA256";
  info.key_alg = "EC256";
  info.client_cert_der = std::string("\x30\x03\x02\x01\x07", 5);
  info.authority = "app.example";
  info.alpn = "http/1.1";

  std::string ssl = std::string{0x07, 0, 0, 0, 0} +  // PP2_CLIENT_SSL|CERT_CONN|CERT_SESS, verify 0
                    tlv(0x21, "TLSv1.3") + tlv(0x22, "alice") + tlv(0x23, "TLS_AES_128_GCM_SHA256") +
                    tlv(0x24, "ecdsa-with-SHA256") + tlv(0x25, "EC256") + tlv(0x28, info.client_cert_der);
  std::string tlvs = tlv(0x01, "http/1.1") + tlv(0x02, "app.example") + tlv(0x20, ssl);
  std::string addresses = std::string("\xC0\x00\x02\x01\xC0\x00\x02\x02\xDC\x04\x01\xBB", 12);
  std::string body = addresses + tlvs;
  std::string expected = std::string("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12) + "\x21\x11" +
                         std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)} + body;
  EXPECT_EQ(encode_proxy_v2(info), expected);
}

TEST(ProxyProtocol, V2WithIpv6AndAFailedVerification) {
  ProxyV2Info info;
  info.source = tcp::endpoint(make_address("2001:db8::1"), 1);
  info.destination = tcp::endpoint(make_address("127.0.0.1"), 2);  // mixed: both sent as IPv6
  info.verify = 1;
  info.version = "TLSv1.2";
  std::string out = encode_proxy_v2(info);
  ASSERT_GE(out.size(), 16u + 36u);
  EXPECT_EQ(static_cast<uint8_t>(out[13]), 0x21);
  auto parsed = parse_proxy_header(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  ASSERT_EQ(parsed.status, ReceivedProxyHeader::Status::complete);
  EXPECT_EQ(parsed.length, out.size());
  EXPECT_EQ(*parsed.source, info.source);
  std::string ssl_tail = out.substr(16 + 36);
  EXPECT_EQ(ssl_tail, tlv(0x20, std::string{0x01, 0, 0, 0, 1} + tlv(0x21, "TLSv1.2")));
}

ReceivedProxyHeader parse(const std::string& s) {
  return parse_proxy_header(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(ProxyProtocol, ParsesVersionOneLines) {
  auto v4 = parse("PROXY TCP4 203.0.113.7 192.0.2.2 4242 443\r\n\x16\x03\x01");
  ASSERT_EQ(v4.status, ReceivedProxyHeader::Status::complete);
  EXPECT_EQ(v4.length, 43u);
  EXPECT_EQ(*v4.source, tcp::endpoint(make_address("203.0.113.7"), 4242));
  auto v6 = parse("PROXY TCP6 2001:db8::7 2001:db8::2 4242 443\r\n");
  ASSERT_EQ(v6.status, ReceivedProxyHeader::Status::complete);
  EXPECT_EQ(v6.source->address(), make_address("2001:db8::7"));
  auto unknown = parse("PROXY UNKNOWN\r\n");
  ASSERT_EQ(unknown.status, ReceivedProxyHeader::Status::complete);
  EXPECT_FALSE(unknown.source);
  EXPECT_EQ(parse("PROXY TCP4 203.0.113.7").status, ReceivedProxyHeader::Status::need_more);
  EXPECT_EQ(parse("PROXY TCP4 nonsense 1 2 3\r\n").status, ReceivedProxyHeader::Status::invalid);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n").status, ReceivedProxyHeader::Status::invalid);
  EXPECT_EQ(parse("PROXY " + std::string(120, 'x')).status, ReceivedProxyHeader::Status::invalid);
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x02\x00", 5)).status, ReceivedProxyHeader::Status::not_proxy);
}

TEST(ProxyProtocol, ParsesVersionTwoLocalAndRejectsNonsense) {
  std::string sig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);
  auto local = parse(sig + std::string("\x20\x00\x00\x00", 4));
  ASSERT_EQ(local.status, ReceivedProxyHeader::Status::complete);
  EXPECT_EQ(local.length, 16u);
  EXPECT_FALSE(local.source);
  EXPECT_EQ(parse(sig.substr(0, 7)).status, ReceivedProxyHeader::Status::need_more);
  EXPECT_EQ(parse(sig + std::string("\x21\x11\x00\x0c", 4) + "short").status, ReceivedProxyHeader::Status::need_more);
  EXPECT_EQ(parse(sig + std::string("\x31\x11\x00\x00", 4)).status, ReceivedProxyHeader::Status::invalid);
  EXPECT_EQ(parse(sig + std::string("\x21\x11\x00\x04", 4) + "abcd").status, ReceivedProxyHeader::Status::invalid);
  EXPECT_EQ(parse(sig + std::string("\x21\x11\xff\xff", 4)).status, ReceivedProxyHeader::Status::invalid);
}

}  // namespace
}  // namespace gatehouse::proxy
