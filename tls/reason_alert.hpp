// The TLS alert a refused client receives for each reason.
#pragma once

#include <cstdint>

#include "common/reason.hpp"

namespace gatehouse::tls {

std::uint8_t reason_alert(Reason r);

}  // namespace gatehouse::tls
