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
  // Something that still works but will not for long (a certificate about to expire).
  void warn(const std::string& file, const Source& where, std::string message) {
    warnings_.push_back({file, where.line, where.column, where.key_path, std::move(message)});
  }
  bool empty() const { return problems_.empty(); }  // no errors; warnings do not count
  const std::vector<Problem>& problems() const { return problems_; }
  const std::vector<Problem>& warnings() const { return warnings_; }
  std::string to_string() const;           // the errors, one per line
  std::string warnings_to_string() const;  // "warning: ..." lines

 private:
  std::vector<Problem> problems_;
  std::vector<Problem> warnings_;
};

}  // namespace gatehouse::conf
