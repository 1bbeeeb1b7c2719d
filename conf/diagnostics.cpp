#include "conf/diagnostics.hpp"

namespace gatehouse::conf {

std::string Problem::to_string() const {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

std::string Diagnostics::to_string() const {
  std::string out;
  for (const auto& p : problems_) out += p.to_string() + "\n";
  return out;
}

std::string Diagnostics::warnings_to_string() const {
  std::string out;
  for (const auto& w : warnings_) out += "warning: " + w.to_string() + "\n";
  return out;
}

}  // namespace gatehouse::conf
