// Deadline and IdleWatch moved to common/ (the TLS handshake uses them too).
#pragma once

#include "common/deadline.hpp"
#include "conf/settings.hpp"  // conf::Duration, which its users pass

namespace gatehouse::proxy {
using gatehouse::Deadline;
using gatehouse::IdleWatch;
}  // namespace gatehouse::proxy
