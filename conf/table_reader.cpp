#include "conf/table_reader.hpp"

#include "conf/duration.hpp"

namespace gatehouse::conf {

Source source_from(const toml::node& node, std::string key_path) {
  const auto& begin = node.source().begin;
  return Source{std::move(key_path), static_cast<int>(begin.line), static_cast<int>(begin.column)};
}

TableReader::~TableReader() {
  for (const auto& [key, node] : table_) {
    if (used_.contains(key.str())) continue;
    Source where{path_of(key.str()), static_cast<int>(key.source().begin.line),
                 static_cast<int>(key.source().begin.column)};
    ctx_.diagnostics.add(ctx_.file, where, "unknown key '" + std::string(key.str()) + "'");
  }
}

std::string TableReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Source TableReader::source() const { return source_from(table_, path_); }

Source TableReader::source_of(std::string_view key) const {
  if (const auto* node = table_.get(key)) return source_from(*node, path_of(key));
  return Source{path_of(key), source().line, source().column};
}

void TableReader::error(std::string_view key, std::string message) {
  ctx_.diagnostics.add(ctx_.file, source_of(key), std::move(message));
}

void TableReader::error_at(const toml::node& node, std::string key_path, std::string message) {
  ctx_.diagnostics.add(ctx_.file, source_from(node, std::move(key_path)), std::move(message));
}

void TableReader::require(std::string_view key) {
  if (!table_.contains(key)) {
    ctx_.diagnostics.add(ctx_.file, source(), "missing required key '" + path_of(key) + "'");
  }
}

const toml::node* TableReader::take(std::string_view key) {
  used_.emplace(key);
  return table_.get(key);
}

void TableReader::type_error(std::string_view key, const toml::node& node, const char* expected) {
  std::ostringstream got;
  got << node.type();
  error(key, std::string("expected ") + expected + ", found " + got.str());
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const auto* node = take(key);
  if (!node) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  type_error(key, *node, "a string");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const auto* node = take(key);
  if (!node) return std::nullopt;
  const auto* i = node->as_integer();
  if (!i) {
    type_error(key, *node, "an integer");
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", found " +
                   std::to_string(i->get()));
    return std::nullopt;
  }
  return i->get();
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const auto* node = take(key);
  if (!node) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  type_error(key, *node, "true or false");
  return std::nullopt;
}

std::optional<Duration> TableReader::duration(std::string_view key) {
  auto text = string(key);
  if (!text) return std::nullopt;
  auto d = parse_duration(*text);
  if (!d) error(key, "'" + *text + "' is not a duration (use e.g. \"250ms\", \"10s\", \"5m\", \"1h\")");
  return d;
}

std::optional<FileRef> TableReader::file(std::string_view key) {
  auto text = string(key);
  if (!text) return std::nullopt;
  if (text->empty()) {
    error(key, "must name a file");
    return std::nullopt;
  }
  std::filesystem::path p(*text);
  if (p.is_relative()) p = ctx_.base_dir / p;
  return FileRef{p.lexically_normal(), source_of(key)};
}

std::optional<std::string> TableReader::choice(std::string_view key, std::initializer_list<const char*> choices) {
  auto text = string(key);
  if (!text) return std::nullopt;
  std::string listed;
  for (const char* c : choices) {
    if (*text == c) return text;
    listed += std::string(listed.empty() ? "" : ", ") + "\"" + c + "\"";
  }
  error(key, "'" + *text + "' is not one of " + listed);
  return std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key) {
  const auto* arr = array(key);
  if (!arr) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto& node = (*arr)[i];
    if (const auto* s = node.as_string()) {
      out.push_back(s->get());
    } else {
      error_at(node, path_of(key) + "[" + std::to_string(i) + "]", "expected a string");
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<std::string>> TableReader::string_or_strings(std::string_view key) {
  if (const auto* node = table_.get(key); node && node->is_string()) return std::vector<std::string>{*string(key)};
  return strings(key);
}

const toml::array* TableReader::array(std::string_view key) {
  const auto* node = take(key);
  if (!node) return nullptr;
  if (const auto* a = node->as_array()) return a;
  type_error(key, *node, "an array");
  return nullptr;
}

const toml::table* TableReader::table(std::string_view key) {
  const auto* node = take(key);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) return t;
  type_error(key, *node, "a table");
  return nullptr;
}

}  // namespace gatehouse::conf
