// `gatehouse run --user NAME`: after the listeners are bound (low ports need root) and every key
// is loaded, the process becomes NAME (its uid, gid and supplementary groups) for good.
#pragma once

#include <string>

namespace gatehouse::proxy {

// "" on success, else what went wrong in words. Refuses when not running as root, when NAME is
// unknown, and when root could be regained afterwards.
std::string drop_privileges(const std::string& user);

}  // namespace gatehouse::proxy
