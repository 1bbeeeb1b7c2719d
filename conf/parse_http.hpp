// The http-mode tables of a listener: [listener.http] (identity headers, request limits, refusal
// pages, trailers, upgrades) and [listener.http2] (HTTP/2 limits). Read by read_listener.
#pragma once

#include "conf/settings.hpp"
#include "conf/table_reader.hpp"

namespace gatehouse::conf {

void read_http(TableReader& r, HttpSettings& http);
void read_http2(TableReader& r, Http2Settings& h2);

}  // namespace gatehouse::conf
