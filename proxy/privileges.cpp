#include "proxy/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace gatehouse::proxy {

std::string drop_privileges(const std::string& user) {
  if (::geteuid() != 0)
    return "--user " + user + " needs root to start (running as uid " + std::to_string(::geteuid()) + ")";
  errno = 0;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int err = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (!found) return "no user named '" + user + "'" + (err ? std::string(": ") + std::strerror(err) : "");
  if (pw.pw_uid == 0) return "--user " + user + " is root: nothing would be dropped";
  // Groups first: once the uid is not root, they can no longer be changed.
  if (::initgroups(pw.pw_name, pw.pw_gid) != 0)
    return std::string("cannot set the groups of ") + user + ": " + std::strerror(errno);
  if (::setgid(pw.pw_gid) != 0)
    return std::string("cannot set gid ") + std::to_string(pw.pw_gid) + ": " + std::strerror(errno);
  if (::setuid(pw.pw_uid) != 0)
    return std::string("cannot set uid ") + std::to_string(pw.pw_uid) + ": " + std::strerror(errno);
  if (::setuid(0) == 0 || ::geteuid() == 0) return "root could be regained after dropping to " + user;
  return "";
}

}  // namespace gatehouse::proxy
