#include "app/ready_line.hpp"

#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

namespace gatehouse::app {
namespace {

std::string address_text(const asio::ip::address& address, std::uint16_t port) {
  std::string host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::string ready_line(const proxy::Server& server, const proxy::Snapshot& serving, std::string_view event,
                       std::uint64_t generation) {
  nlohmann::json listeners = nlohmann::json::array();
  for (size_t i = 0; i < serving.listeners.size(); ++i) {
    const auto& l = serving.listeners[i];
    listeners.push_back({{"name", l.settings.name},
                         {"address", address_text(l.address.address(), server.port(i))},
                         {"mode", l.settings.mode == conf::ListenerMode::http ? "http" : "tcp"}});
  }
  nlohmann::json admin = nullptr;
  if (server.admin_port()) {
    // As configured ("127.0.0.1:0", "localhost:9901"), with the port it got.
    const std::string& listen = serving.settings.admin.listen;
    admin = listen.substr(0, listen.rfind(':')) + ":" + std::to_string(server.admin_port());
  }
  nlohmann::json line = {{"event", std::string(event)},
                         {"pid", ::getpid()},
                         {"generation", generation},
                         {"listeners", listeners},
                         {"admin", admin}};
  return line.dump();
}

void print_line(const std::string& line) {
  const std::string out = line + "\n";
  for (size_t done = 0; done < out.size();) {
    ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout closed: nobody to tell
    done += static_cast<size_t>(n);
  }
}

}  // namespace gatehouse::app
