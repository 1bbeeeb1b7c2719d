// The embedded default behind `gatehouse run` with no -c: a dev PKI and the whoami upstream.
#pragma once

#include <filesystem>
#include <string>

namespace gatehouse::app {

inline constexpr const char* kDefaultListen = "127.0.0.1:8443";

// TOML whose relative paths point into the dev PKI folder.
std::string default_config_text();

}  // namespace gatehouse::app
