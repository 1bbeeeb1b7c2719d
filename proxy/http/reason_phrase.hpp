// The reason phrase of a status code (RFC 9110, section 15). A code without its own phrase here
// gets its class's name ("Client Error"): generic, but never another code's words.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse::proxy::http {

std::string_view reason_phrase(int status);

// "HTTP/1.1 404 Not Found". A code outside 100..599 is our bug, not a status: it goes out as
// 500 Internal Server Error rather than as a line no client can read.
std::string status_line(int status);

}  // namespace gatehouse::proxy::http
