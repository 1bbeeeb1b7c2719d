// The PROXY protocol (HAProxy's doc/proxy-protocol.txt). We send version 2 to upstreams, with
// the client's address and what the TLS handshake established (PP2_TYPE_SSL and its sub-TLVs,
// the client certificate as sub-TLV 0x28, the SNI as PP2_TYPE_AUTHORITY, ALPN), and we read
// version 1 or 2 from a trusted L4 load balancer in front of us.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::proxy {

inline constexpr std::uint8_t kPp2TypeAlpn = 0x01, kPp2TypeAuthority = 0x02, kPp2TypeSsl = 0x20;
inline constexpr std::uint8_t kPp2SubtypeSslVersion = 0x21, kPp2SubtypeSslCn = 0x22, kPp2SubtypeSslCipher = 0x23,
                              kPp2SubtypeSslSigAlg = 0x24, kPp2SubtypeSslKeyAlg = 0x25, kPp2SubtypeSslClientCert = 0x28;
inline constexpr std::uint8_t kPp2ClientSsl = 0x01, kPp2ClientCertConn = 0x02, kPp2ClientCertSess = 0x04;

struct ProxyV2Info {
  asio::ip::tcp::endpoint source;       // the client
  asio::ip::tcp::endpoint destination;  // the address it connected to
  bool cert_on_connection = false;      // PP2_CLIENT_CERT_CONN (a full handshake with a certificate)
  bool cert_in_session = false;         // PP2_CLIENT_CERT_SESS (a certificate in this TLS session)
  std::uint32_t verify = 0;             // 0: the certificate verified
  std::string version;                  // "TLSv1.3"
  std::string cn;
  std::string cipher;   // OpenSSL name, "TLS_AES_128_GCM_SHA256"
  std::string sig_alg;  // of our certificate, as HAProxy sends it
  std::string key_alg;
  std::string client_cert_der;
  std::string authority;  // SNI
  std::string alpn;
};

// The TLVs we send, as counted in gatehouse_proxy_tlv_dropped_total{tlv="..."}.
enum class ProxyTlv : std::uint8_t {
  alpn,
  authority,
  ssl,
  ssl_version,
  ssl_cn,
  ssl_cipher,
  ssl_sig_alg,
  ssl_key_alg,
  ssl_client_cert
};
inline constexpr std::size_t kProxyTlvCount = 9;
std::string_view proxy_tlv_keyword(ProxyTlv tlv);  // "ssl_client_cert"

// The header never exceeds its 16-bit length fields: a TLV (or a sub-TLV of PP2_TYPE_SSL) that
// does not fit is left out, as HAProxy does, and named in `dropped`; the rest stays consistent.
std::string encode_proxy_v2(const ProxyV2Info& info, std::vector<ProxyTlv>& dropped);
std::string encode_proxy_v2(const ProxyV2Info& info);  // for callers that need not count drops

struct ReceivedProxyHeader {
  enum class Status { not_proxy, need_more, invalid, complete } status = Status::not_proxy;
  std::size_t length = 0;                         // bytes to consume when complete
  std::optional<asio::ip::tcp::endpoint> source;  // absent for LOCAL / UNKNOWN
  std::string error;
};

// Looks at the first bytes of a connection (v1 text or v2 binary).
ReceivedProxyHeader parse_proxy_header(const std::uint8_t* data, std::size_t size);

}  // namespace gatehouse::proxy
