#include "tls/ca/ca_index.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tls/pem_io.hpp"

namespace gatehouse::tls::ca {

using nlohmann::json;

std::optional<std::string> normalize_serial(const std::string& text) {
  std::string digits;
  std::string_view t = text;
  if (t.starts_with("0x") || t.starts_with("0X")) t.remove_prefix(2);
  for (char c : t) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (digits.empty()) return std::nullopt;
  if (digits.size() % 2) digits.insert(digits.begin(), '0');
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 2) out += (i ? ":" : "") + digits.substr(i, 2);
  return out;
}

Result<CaIndex> CaIndex::load(const std::filesystem::path& file) {
  CaIndex index;
  std::ifstream in(file);
  if (!in) return index;
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  auto damaged = [&](const std::string& what) {
    return Result<CaIndex>::failure(file.string() + " is damaged (" + what +
                                    "); nothing was changed. Restore it from a backup; every issued "
                                    "certificate is also in issued/.");
  };
  if (j.is_discarded() || !j.is_object()) return damaged("not valid JSON");
  try {
    index.crl_number_ = j.value("crl_number", std::int64_t{0});
    for (const auto& e : j.at("certificates")) {
      IndexEntry x;
      x.serial = e.at("serial").get<std::string>();
      x.name = e.at("name").get<std::string>();
      x.subject = e.at("subject").get<std::string>();
      x.issuer = e.value("issuer", "");
      x.profile = e.at("profile").get<std::string>();
      x.not_before = e.at("not_before").get<std::int64_t>();
      x.not_after = e.at("not_after").get<std::int64_t>();
      x.revoked = e.value("revoked", false);
      x.revoked_at = e.value("revoked_at", std::int64_t{0});
      x.reason = e.value("reason", "");
      index.entries_.push_back(std::move(x));
    }
  } catch (const json::exception& ex) {
    return damaged(ex.what());
  }
  return index;
}

Result<bool> CaIndex::save(const std::filesystem::path& file) const {
  json list = json::array();
  for (const auto& e : entries_) {
    json x = {{"serial", e.serial},         {"name", e.name},           {"subject", e.subject},
              {"issuer", e.issuer},         {"profile", e.profile},     {"not_before", e.not_before},
              {"not_after", e.not_after},   {"revoked", e.revoked}};
    if (e.revoked) {
      x["revoked_at"] = e.revoked_at;
      x["reason"] = e.reason;
    }
    list.push_back(std::move(x));
  }
  json j = {{"format", "gatehouse-ca-index/1"}, {"crl_number", crl_number_}, {"certificates", list}};
  return write_file_atomic(file, j.dump(2) + "\n", 0644);
}

IndexEntry* CaIndex::find_serial(const std::string& serial) {
  for (auto& e : entries_)
    if (e.serial == serial) return &e;
  return nullptr;
}

bool CaIndex::has_serial(const std::string& serial) const {
  for (const auto& e : entries_)
    if (e.serial == serial) return true;
  return false;
}

}  // namespace gatehouse::tls::ca
