#include "tls/ca/csr_names.hpp"

#include <arpa/inet.h>

#include "tls/identity.hpp"

namespace gatehouse::tls::ca {
namespace {

constexpr std::size_t kShownPerKind = 8;  // a 70 KB SAN list must not flood the terminal

std::optional<std::string> utf8_text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) {
    drain_errors();
    return std::nullopt;
  }
  bssl::UniquePtr<uint8_t> owned(utf8);
  return std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
}

std::optional<std::string> ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN];
  int len = ASN1_STRING_length(ip);
  int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
  if (!family || !inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

const char* general_name_kind(int type) {
  switch (type) {
    case GEN_OTHERNAME:
      return "otherName";
    case GEN_X400:
      return "x400Address";
    case GEN_DIRNAME:
      return "directoryName";
    case GEN_EDIPARTY:
      return "ediPartyName";
    case GEN_RID:
      return "registeredID";
    default:
      return "unknown";
  }
}

void read_subject(X509_REQ* csr, RequestedNames& out) {
  const X509_NAME* subject = X509_REQ_get_subject_name(csr);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    auto value = utf8_text(X509_NAME_ENTRY_get_data(entry));
    if (!value) {
      out.cannot_copy = NameProblem{NameRefusal::unreadable, "the CSR's subject holds a value that is not text"};
      continue;
    }
    if (nid == NID_commonName)
      out.names.cn.push_back(*value);
    else if (nid == NID_organizationName)
      out.names.o.push_back(*value);
    else if (nid == NID_organizationalUnitName)
      out.names.ou.push_back(*value);
    else {
      const char* sn = nid == NID_undef ? "unknown attribute" : OBJ_nid2sn(nid);
      out.other_attributes.push_back(std::string(sn) + "=" + *value);
    }
  }
}

void read_sans(X509_EXTENSION* ext, RequestedNames& out) {
  out.names.san_extension_bytes += static_cast<std::size_t>(ASN1_STRING_length(X509_EXTENSION_get_data(ext)));
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  if (!names) {
    drain_errors();
    out.cannot_copy = NameProblem{NameRefusal::unreadable, "the CSR's subjectAltName does not parse"};
    return;
  }
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    std::optional<std::string> san;
    if (gn->type == GEN_DNS)
      san = "dns:" + asn1_bytes(gn->d.dNSName);
    else if (gn->type == GEN_EMAIL)
      san = "email:" + asn1_bytes(gn->d.rfc822Name);
    else if (gn->type == GEN_URI)
      san = "uri:" + asn1_bytes(gn->d.uniformResourceIdentifier);
    else if (gn->type == GEN_IPADD) {
      if (auto ip = ip_text(gn->d.iPAddress)) san = "ip:" + *ip;
    }
    if (san) {
      out.names.sans.push_back(std::move(*san));
    } else if (!out.cannot_copy) {
      out.cannot_copy =
          NameProblem{NameRefusal::unsupported_san_kind,
                      std::string("the CSR asks for a SAN of a kind this CA does not issue (") +
                          (gn->type == GEN_IPADD ? "a malformed IP address" : general_name_kind(gn->type)) +
                          "); give the names with --cn and --san instead"};
    }
  }
}

void append_list(std::string& out, const char* label, const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < values.size() && i < kShownPerKind; ++i)
    out += std::string("  ") + label + ": " + printable(values[i]) + "\n";
  if (values.size() > kShownPerKind)
    out += std::string("  ") + label + ": ... and " + std::to_string(values.size() - kShownPerKind) + " more\n";
}

}  // namespace

RequestedNames requested_names(X509_REQ* csr) {
  RequestedNames out;
  read_subject(csr, out);
  bssl::UniquePtr<STACK_OF(X509_EXTENSION)> exts(X509_REQ_get_extensions(csr));
  drain_errors();
  int san_extensions = 0;
  for (size_t i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    if (++san_extensions > 1) {
      out.cannot_copy =
          NameProblem{NameRefusal::several_san_extensions,
                      "the CSR carries several subjectAltName extensions; programs disagree on which counts"};
      continue;
    }
    read_sans(ext, out);
  }
  return out;
}

std::string describe(const RequestedNames& requested) {
  std::string out;
  append_list(out, "CN", requested.names.cn);
  append_list(out, "O", requested.names.o);
  append_list(out, "OU", requested.names.ou);
  append_list(out, "SAN", requested.names.sans);
  append_list(out, "other (never copied)", requested.other_attributes);
  if (out.empty()) out = "  (no names)\n";
  return out;
}

}  // namespace gatehouse::tls::ca
