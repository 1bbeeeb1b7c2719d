// gtest prints a Close by its keyword, so a failed comparison of two reasons reads as words.
#pragma once

#include <ostream>

#include "proxy/close_reason.hpp"

namespace gatehouse::proxy {

inline void PrintTo(Close close, std::ostream* os) { *os << close_keyword(close); }

}  // namespace gatehouse::proxy
