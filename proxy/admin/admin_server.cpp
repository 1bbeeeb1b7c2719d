#include "proxy/admin/admin_server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/deadline.hpp"
#include "conf/settings.hpp"
#include "proxy/admin/admin_guard.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/reason_phrase.hpp"

namespace gatehouse::proxy::admin {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr conf::Duration kRequestTimeout{std::chrono::seconds(10)};
// After a failed accept (EMFILE, ENFILE, ENOMEM fail again at once): the wait before the next try.
constexpr conf::Duration kAcceptBackoff{std::chrono::milliseconds(100)};

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
      const auto question = head.target.find('?');
      std::string path = head.target.substr(0, question);
      std::string query = question == std::string::npos ? "" : head.target.substr(question + 1);
      AdminVerdict verdict = judge_admin_request(head, self);
      reply = verdict == AdminVerdict::allowed
                  ? handler(head.method, path, query)
                  : Reply{403, "text/plain; charset=utf-8", admin_refusal_words(verdict, head)};
    }
    break;
  }
  std::string extra;
  for (const auto& [name, value] : reply.headers) extra += "\r\n" + name + ": " + value;
  std::string out = http::status_line(reply.status) + "\r\nContent-Type: " + reply.content_type + extra +
                    "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + (head_only ? "" : reply.body);
  co_await asio::async_write(socket, asio::buffer(out), use_tuple);
  asio::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

// A request's coroutine ends here; what it threw (a handler's bug) is logged, not lost.
void log_failure(const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("admin: a request failed: {}", ex.what());
  } catch (...) {
    spdlog::error("admin: a request failed");
  }
}

}  // namespace

asio::awaitable<void> AdminServer::accept_loop() {
  asio::steady_timer pause(io_);
  std::uint64_t failed_in_a_row = 0;
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {
      // Out of descriptors, accept() fails at once and would again at once: wait instead of
      // spinning a core, and say so once rather than at every try.
      accept_errors_.fetch_add(1, std::memory_order_relaxed);
      if (failed_in_a_row++ == 0)
        spdlog::warn("admin: accept failed: {}; trying again every {} ms", ec.message(), kAcceptBackoff.count());
      pause.expires_after(kAcceptBackoff);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (failed_in_a_row > 0) spdlog::info("admin: accepting again after {} failed tries", failed_in_a_row);
    failed_in_a_row = 0;
    asio::co_spawn(io_, serve(std::move(socket), handler_, configured_host_), log_failure);
  }
}

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
  if (ec)
    return R::failure("admin: cannot listen on " + address.address().to_string() + ":" +
                      std::to_string(address.port()) + ": " + ec.message() +
                      " (set [admin] listen to another address, or \"off\")");
  auto bound = s->acceptor_->local_endpoint(ec);
  if (ec) return R::failure("admin: cannot read the port it listens on: " + ec.message());
  s->port_ = bound.port();
  return s;
}

void AdminServer::start() {
  asio::co_spawn(io_, accept_loop(), log_failure);
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
