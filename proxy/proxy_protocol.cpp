#include "proxy/proxy_protocol.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

namespace gatehouse::proxy {
namespace {

constexpr std::uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t kV1MaxLength = 107;
constexpr std::size_t kV2MaxLength = 16 + 4096;  // we never need more; a bigger header is refused
constexpr std::size_t kMaxLength16 = 0xffff;     // the header's and each TLV's length field
constexpr std::size_t kTlvHeader = 3;            // type and 16-bit length

void put16(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void tlv(std::string& out, std::uint8_t type, std::string_view value) {
  out += static_cast<char>(type);
  put16(out, value.size());
  out.append(value);
}

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<asio::ip::tcp::endpoint> parse_v1_endpoint(std::string_view addr, std::string_view port) {
  asio::error_code ec;
  auto a = asio::ip::make_address(std::string(addr), ec);
  unsigned p = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec || err != std::errc() || end != port.data() + port.size() || p > 65535) return std::nullopt;
  return asio::ip::tcp::endpoint(a, static_cast<unsigned short>(p));
}

ReceivedProxyHeader invalid(std::string why) {
  return {ReceivedProxyHeader::Status::invalid, 0, std::nullopt, std::move(why)};
}

ReceivedProxyHeader parse_v1(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), std::min(size, kV1MaxLength));
  auto end = text.find("\r\n");
  if (end == std::string_view::npos)
    return size >= kV1MaxLength ? invalid("a PROXY v1 line longer than 107 bytes")
                                : ReceivedProxyHeader{ReceivedProxyHeader::Status::need_more};
  std::vector<std::string_view> words;
  std::string_view line = text.substr(0, end);
  while (!line.empty()) {
    auto sp = line.find(' ');
    words.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  ReceivedProxyHeader h{ReceivedProxyHeader::Status::complete, end + 2};
  if (words.size() >= 2 && words[1] == "UNKNOWN") return h;
  if (words.size() != 6 || (words[1] != "TCP4" && words[1] != "TCP6")) return invalid("a malformed PROXY v1 line");
  h.source = parse_v1_endpoint(words[2], words[4]);
  if (!h.source || !parse_v1_endpoint(words[3], words[5])) return invalid("bad addresses in a PROXY v1 line");
  return h;
}

ReceivedProxyHeader parse_v2(const std::uint8_t* data, std::size_t size) {
  if (size < 16) return {ReceivedProxyHeader::Status::need_more};
  if ((data[12] & 0xF0) != 0x20) return invalid("PROXY v2 header with an unknown version");
  std::size_t length = 16 + (static_cast<std::size_t>(data[14]) << 8 | data[15]);
  if (length > kV2MaxLength) return invalid("PROXY v2 header larger than 4 KiB");
  if (size < length) return {ReceivedProxyHeader::Status::need_more};
  ReceivedProxyHeader h{ReceivedProxyHeader::Status::complete, length};
  std::uint8_t command = data[12] & 0x0F;
  if (command == 0x00) return h;  // LOCAL: the balancer's own health check
  if (command != 0x01) return invalid("PROXY v2 header with an unknown command");
  const std::uint8_t* addr = data + 16;
  auto port = [](const std::uint8_t* p) { return static_cast<unsigned short>(p[0] << 8 | p[1]); };
  switch (data[13]) {
    case 0x11:  // TCP over IPv4
      if (length < 16 + 12) return invalid("PROXY v2 header too short for IPv4 addresses");
      h.source = asio::ip::tcp::endpoint(
          asio::ip::address_v4(asio::ip::address_v4::bytes_type{addr[0], addr[1], addr[2], addr[3]}), port(addr + 8));
      return h;
    case 0x21: {  // TCP over IPv6
      if (length < 16 + 36) return invalid("PROXY v2 header too short for IPv6 addresses");
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), addr, 16);
      h.source = asio::ip::tcp::endpoint(asio::ip::address_v6(b), port(addr + 32));
      return h;
    }
    default:
      return h;  // UNSPEC or another family: keep the connection's own address
  }
}

}  // namespace

std::string_view proxy_tlv_keyword(ProxyTlv tlv) {
  static constexpr std::array<std::string_view, kProxyTlvCount> kNames = {
      "alpn",       "authority",   "ssl",         "ssl_version",    "ssl_cn",
      "ssl_cipher", "ssl_sig_alg", "ssl_key_alg", "ssl_client_cert"};
  return kNames[static_cast<std::size_t>(tlv)];
}

std::string encode_proxy_v2(const ProxyV2Info& info, std::vector<ProxyTlv>& dropped) {
  asio::ip::address src = unmapped(info.source.address()), dst = unmapped(info.destination.address());
  std::string addresses;
  std::uint8_t family;
  if (src.is_v4() && dst.is_v4()) {
    family = 0x11;
    auto s = src.to_v4().to_bytes(), d = dst.to_v4().to_bytes();
    addresses.append(reinterpret_cast<const char*>(s.data()), 4).append(reinterpret_cast<const char*>(d.data()), 4);
  } else {  // mixed families: both as IPv6
    family = 0x21;
    auto v6 = [](const asio::ip::address& a) {
      return a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
    };
    auto s = v6(src).to_bytes(), d = v6(dst).to_bytes();
    addresses.append(reinterpret_cast<const char*>(s.data()), 16).append(reinterpret_cast<const char*>(d.data()), 16);
  }
  put16(addresses, info.source.port());
  put16(addresses, info.destination.port());

  // Everything after the 16 fixed bytes must fit the 16-bit length; each TLV takes from `room`.
  std::size_t room = kMaxLength16 - addresses.size();
  auto add = [&](std::string& out, ProxyTlv kind, std::uint8_t type, std::string_view value) {
    if (kTlvHeader + value.size() > room) {
      dropped.push_back(kind);
      return;
    }
    room -= kTlvHeader + value.size();
    tlv(out, type, value);
  };
  std::string tlvs;
  if (!info.alpn.empty()) add(tlvs, ProxyTlv::alpn, kPp2TypeAlpn, info.alpn);
  if (!info.authority.empty()) add(tlvs, ProxyTlv::authority, kPp2TypeAuthority, info.authority);
  constexpr std::size_t kSslFixed = 5;  // client flags and verify result
  if (kTlvHeader + kSslFixed > room) {
    dropped.push_back(ProxyTlv::ssl);
  } else {
    room -= kTlvHeader + kSslFixed;  // sub-TLVs take from the same room: they are inside the SSL TLV
    std::string ssl;
    std::uint8_t client = kPp2ClientSsl | (info.cert_on_connection ? kPp2ClientCertConn : 0) |
                          (info.cert_in_session ? kPp2ClientCertSess : 0);
    ssl += static_cast<char>(client);
    for (int shift = 24; shift >= 0; shift -= 8) ssl += static_cast<char>((info.verify >> shift) & 0xff);
    add(ssl, ProxyTlv::ssl_version, kPp2SubtypeSslVersion, info.version);
    if (!info.cn.empty()) add(ssl, ProxyTlv::ssl_cn, kPp2SubtypeSslCn, info.cn);
    if (!info.cipher.empty()) add(ssl, ProxyTlv::ssl_cipher, kPp2SubtypeSslCipher, info.cipher);
    if (!info.sig_alg.empty()) add(ssl, ProxyTlv::ssl_sig_alg, kPp2SubtypeSslSigAlg, info.sig_alg);
    if (!info.key_alg.empty()) add(ssl, ProxyTlv::ssl_key_alg, kPp2SubtypeSslKeyAlg, info.key_alg);
    if (!info.client_cert_der.empty())
      add(ssl, ProxyTlv::ssl_client_cert, kPp2SubtypeSslClientCert, info.client_cert_der);
    tlv(tlvs, kPp2TypeSsl, ssl);
  }

  std::string out(reinterpret_cast<const char*>(kV2Signature), sizeof kV2Signature);
  out += static_cast<char>(0x21);  // version 2, PROXY command
  out += static_cast<char>(family);
  put16(out, addresses.size() + tlvs.size());  // at most kMaxLength16 by construction
  return out + addresses + tlvs;
}

std::string encode_proxy_v2(const ProxyV2Info& info) {
  std::vector<ProxyTlv> dropped;
  return encode_proxy_v2(info, dropped);
}

ReceivedProxyHeader parse_proxy_header(const std::uint8_t* data, std::size_t size) {
  std::size_t sig = std::min(size, sizeof kV2Signature);
  if (std::memcmp(data, kV2Signature, sig) == 0)
    return size < sizeof kV2Signature ? ReceivedProxyHeader{ReceivedProxyHeader::Status::need_more}
                                      : parse_v2(data, size);
  constexpr std::string_view kV1 = "PROXY ";
  std::size_t prefix = std::min(size, kV1.size());
  if (std::memcmp(data, kV1.data(), prefix) == 0)
    return size < kV1.size() ? ReceivedProxyHeader{ReceivedProxyHeader::Status::need_more} : parse_v1(data, size);
  return {};
}

}  // namespace gatehouse::proxy
