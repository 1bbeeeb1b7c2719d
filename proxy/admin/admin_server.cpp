#include "proxy/admin/admin_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proxy/admin/admin_guard.hpp"
#include "proxy/deadline.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/http/http_message.hpp"

namespace gatehouse::proxy::admin {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr conf::Duration kRequestTimeout{std::chrono::seconds(10)};

std::string status_text(int status) {
  switch (status) {
    case 200: return "200 OK";
    case 400: return "400 Bad Request";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 422: return "422 Unprocessable Content";
    default: return "503 Service Unavailable";
  }
}

asio::awaitable<void> serve(asio::ip::tcp::socket socket, const AdminServer::Handler& handler,
                            const std::string& configured_host) {
  asio::error_code local_error;
  const AdminSelf self{configured_host, socket.local_endpoint(local_error).address()};
  Deadline deadline(socket.get_executor());
  deadline.arm(kRequestTimeout, [&socket] { cancel_io(socket); });
  http::MessageParser parser(HTTP_REQUEST, {8192, 50});
  std::string body_ignored;
  char buf[4096];
  Reply reply{400, "text/plain; charset=utf-8", "bad request\n"};
  bool head_only = false;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) co_return;
    std::size_t used = 0;
    auto ev = parser.feed(buf, n, used, body_ignored);
    if (ev == http::MessageParser::Event::need_more) continue;
    if (ev == http::MessageParser::Event::head) {
      const auto& head = parser.head();
      head_only = head.method == "HEAD";
      std::string path = head.target.substr(0, head.target.find('?'));
      AdminVerdict verdict = judge_admin_request(head, self);
      reply = verdict == AdminVerdict::allowed
                  ? handler(head.method, path)
                  : Reply{403, "text/plain; charset=utf-8", admin_refusal_words(verdict, head)};
    }
    break;
  }
  std::string out = "HTTP/1.1 " + status_text(reply.status) + "\r\nContent-Type: " + reply.content_type +
                    "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + (head_only ? "" : reply.body);
  co_await asio::async_write(socket, asio::buffer(out), use_tuple);
  asio::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, const AdminServer::Handler& handler,
                                  const std::string& configured_host) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), handler, configured_host), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<AdminServer>> AdminServer::create(const asio::ip::tcp::endpoint& address,
                                                         std::string configured_host, Handler handler) {
  using R = Result<std::unique_ptr<AdminServer>>;
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->configured_host_ = std::move(configured_host);
  s->handler_ = std::move(handler);
  s->acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(s->io_);
  asio::error_code ec;
  s->acceptor_->open(address.protocol(), ec);
  if (!ec) s->acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_->bind(address, ec);
  if (!ec) s->acceptor_->listen(64, ec);
  if (ec) return R::failure("admin: cannot listen on " + address.address().to_string() + ":" +
                            std::to_string(address.port()) + ": " + ec.message() +
                            " (set [admin] listen to another address, or \"off\")");
  s->port_ = s->acceptor_->local_endpoint().port();
  return s;
}

void AdminServer::start() {
  asio::co_spawn(io_, accept_loop(*acceptor_, handler_, configured_host_), asio::detached);
  thread_ = std::thread([this] { run_event_loop(io_, "admin"); });
}

void AdminServer::stop() {
  asio::post(io_, [this] {
    asio::error_code ignored;
    acceptor_->close(ignored);
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

AdminServer::~AdminServer() { stop(); }

}  // namespace gatehouse::proxy::admin
