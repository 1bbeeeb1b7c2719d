// The admin listener ([admin] listen, loopback by default): plain HTTP/1.1 on its own thread
// and io_context, away from the workers, one request per connection. It serves what `handler`
// answers for a GET path (/metrics, /healthz, /readyz, /certs, /clients) and POST /reload, once
// admin_guard let the request through (Host, Origin, X-Gatehouse-Admin); served from our own Asio runtime
// because prometheus-cpp's pull Exposer (civetweb) would load the system OpenSSL next to BoringSSL.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace gatehouse::proxy::admin {

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more, written by us (never client bytes)
};

class AdminServer {
 public:
  // `query`: what followed the first '?' of the target, as sent (the handler validates it).
  using Handler = std::function<Reply(const std::string& method, const std::string& path, const std::string& query)>;
  // Binds now, so a taken port fails start-up with a clear message. `configured_host` is the
  // host of [admin] listen as written: with loopback names, a Host it answers to (admin_guard).
  static Result<std::unique_ptr<AdminServer>> create(const asio::ip::tcp::endpoint& address,
                                                     std::string configured_host, Handler handler);
  ~AdminServer();
  void start();
  void stop();
  std::uint16_t port() const { return port_; }
  // accept() calls that failed (out of descriptors, ...); each is followed by a pause.
  std::uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }

 private:
  AdminServer() = default;
  asio::awaitable<void> accept_loop();
  std::atomic<std::uint64_t> accept_errors_{0};
  asio::io_context io_{1};
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  Handler handler_;
  std::string configured_host_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace gatehouse::proxy::admin
