// Problems found while reading a config, each with its place, collected rather than thrown
// so that `gatehouse check` can list every mistake at once.
#pragma once

#include <string>
#include <vector>

#include "conf/settings.hpp"

namespace gatehouse::conf {

struct Problem {
  std::string file;  // config file (or the file a key names)
  int line = 0;
  int column = 0;
  std::string key_path;
  std::string message;

  // "gatehouse.toml:12:3: listener[0].tls.client_ca: cannot read pki/root.pem: No such file"
  std::string to_string() const;
};

class Diagnostics {
 public:
  void add(Problem problem) { problems_.push_back(std::move(problem)); }
  void add(const std::string& file, const Source& where, std::string message) {
    problems_.push_back({file, where.line, where.column, where.key_path, std::move(message)});
  }
  bool empty() const { return problems_.empty(); }
  const std::vector<Problem>& problems() const { return problems_; }
  std::string to_string() const;

 private:
  std::vector<Problem> problems_;
};

}  // namespace gatehouse::conf
