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

namespace {

const char* type_name(const json& v) {
  return v.is_null()      ? "null"
         : v.is_boolean() ? "a boolean"
         : v.is_number()  ? "a number"
         : v.is_string()  ? "a string"
         : v.is_array()   ? "a list"
                          : "an object";
}

// Reads the fields of one entry; the first problem is kept in `problem`, worded with its place.
struct EntryReader {
  const json& e;
  std::string where;
  std::string problem;

  const json* field(const char* key, bool (json::*is)() const noexcept, const char* wanted) {
    auto it = e.find(key);
    if (it == e.end()) {
      if (problem.empty()) problem = where + "." + key + " is missing";
      return nullptr;
    }
    if (!((*it).*is)()) {
      if (problem.empty()) problem = where + "." + key + " must be " + wanted + ", not " + type_name(*it);
      return nullptr;
    }
    return &*it;
  }
  std::string text(const char* key) {
    const json* v = field(key, &json::is_string, "a string");
    return v ? v->get<std::string>() : "";
  }
  std::int64_t number(const char* key) {
    const json* v = field(key, &json::is_number_integer, "a whole number");
    return v ? v->get<std::int64_t>() : 0;
  }
  bool flag(const char* key) {
    const json* v = field(key, &json::is_boolean, "true or false");
    return v && v->get<bool>();
  }
};

std::string entry_problem(const IndexEntry& x, const std::string& where) {
  if (normalize_serial(x.serial) != x.serial)
    return where + ".serial '" + x.serial + "' is not a serial (like 4F:2A:...)";
  if (x.profile != "client" && x.profile != "server" && x.profile != "intermediate")
    return where + ".profile must be client, server or intermediate, not '" + x.profile + "'";
  if (x.name.empty()) return where + ".name is empty";
  // The CRL of an entry is chosen by its issuer: without one, its revocation would be listed nowhere.
  if (x.issuer.empty()) return where + ".issuer is empty";
  if (x.revoked && x.reason.empty()) return where + " is revoked without a reason";
  return "";
}

}  // namespace

Result<CaIndex> CaIndex::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in)
    return Result<CaIndex>::failure(file.string() +
                                    " is missing or unreadable, but the CA folder is there: "
                                    "without it this CA would forget what it issued and revoked. Nothing was "
                                    "changed. Restore it from a backup");
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  auto damaged = [&](const std::string& what) {
    return Result<CaIndex>::failure(file.string() + " is damaged (" + what +
                                    "); nothing was changed. Restore it from a backup; every issued "
                                    "certificate is also in issued/.");
  };
  if (j.is_discarded()) return damaged("not valid JSON");
  if (!j.is_object()) return damaged(std::string("the top level must be an object, not ") + type_name(j));
  if (j.value("format", json()) != "gatehouse-ca-index/1") return damaged("format must be \"gatehouse-ca-index/1\"");
  CaIndex index;
  if (auto it = j.find("crl_number"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
      return damaged("crl_number must be a whole number >= 0");
    index.legacy_crl_number_ = it->get<std::int64_t>();
  }
  auto list = j.find("certificates");
  if (list == j.end()) return damaged("certificates is missing");
  if (!list->is_array()) return damaged(std::string("certificates must be a list, not ") + type_name(*list));
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    std::string where = "certificates[" + std::to_string(i) + "]";
    if (!e.is_object()) return damaged(where + " must be an object, not " + type_name(e));
    EntryReader r{e, where, ""};
    IndexEntry x{r.text("serial"),  r.text("name"),         r.text("subject"),     r.text("issuer"),
                 r.text("profile"), r.number("not_before"), r.number("not_after"), r.flag("revoked")};
    if (x.revoked) {
      x.revoked_at = r.number("revoked_at");
      x.reason = r.text("reason");
    }
    if (!r.problem.empty()) return damaged(r.problem);
    if (auto bad = entry_problem(x, where); !bad.empty()) return damaged(bad);
    if (index.has_serial(x.serial)) return damaged(where + ".serial " + x.serial + " appears twice");
    index.entries_.push_back(std::move(x));
  }
  return index;
}

Result<bool> CaIndex::save(const std::filesystem::path& file) const {
  json list = json::array();
  for (const auto& e : entries_) {
    json x = {{"serial", e.serial},       {"name", e.name},       {"subject", e.subject},
              {"issuer", e.issuer},       {"profile", e.profile}, {"not_before", e.not_before},
              {"not_after", e.not_after}, {"revoked", e.revoked}};
    if (e.revoked) {
      x["revoked_at"] = e.revoked_at;
      x["reason"] = e.reason;
    }
    list.push_back(std::move(x));
  }
  json j = {{"format", "gatehouse-ca-index/1"}, {"certificates", list}};
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
