// Reads one TOML table key by key, checks types and ranges, and reports keys nobody asked
// for (typos) when it is done. Private to conf/: only parse.cpp and this file see toml++.
#pragma once

#include <toml++/toml.h>
#include <filesystem>
#include <set>
#include <string>

#include "conf/diagnostics.hpp"
#include "conf/settings.hpp"

namespace gatehouse::conf {

struct ParseContext {
  std::string file;
  std::filesystem::path base_dir;
  Diagnostics diagnostics;
};

class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, ParseContext& ctx)
      : table_(table), path_(std::move(path)), ctx_(ctx) {}
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;
  ~TableReader();  // reports unknown keys

  std::optional<std::string> string(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<Duration> duration(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<FileRef> file(std::string_view key);
  // One of `choices`; the error lists them.
  std::optional<std::string> choice(std::string_view key, std::initializer_list<const char*> choices);
  std::optional<std::vector<std::string>> strings(std::string_view key);
  std::optional<std::vector<std::string>> string_or_strings(std::string_view key);  // "a" or ["a", "b"]
  const toml::array* array(std::string_view key);
  const toml::table* table(std::string_view key);

  void require(std::string_view key);  // error if absent
  bool has(std::string_view key) const { return table_.contains(key); }
  Source source_of(std::string_view key) const;
  Source source() const;
  std::string path_of(std::string_view key) const;
  void error(std::string_view key, std::string message);
  void error_at(const toml::node& node, std::string key_path, std::string message);
  ParseContext& context() { return ctx_; }

 private:
  const toml::node* take(std::string_view key);
  void type_error(std::string_view key, const toml::node& node, const char* expected);

  const toml::table& table_;
  std::string path_;
  ParseContext& ctx_;
  std::set<std::string, std::less<>> used_;
};

Source source_from(const toml::node& node, std::string key_path);

}  // namespace gatehouse::conf
