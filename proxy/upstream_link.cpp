#include "proxy/upstream_link.hpp"

#include <chrono>

#include "common/deadline.hpp"

namespace gatehouse::proxy {

asio::awaitable<UpstreamLink::Opened> UpstreamLink::open(const UpstreamRuntime& up, const UpstreamState& state,
                                                         const std::string& preface) {
  close();
  Opened result;
  auto& counters = worker_.counters;
  auto& mine = *state.counters;
  PoolState& pool = *state.pool;
  const auto started = std::chrono::steady_clock::now();
  ConnectOutcome connected = co_await connect_upstream(up, state, socket_);
  counters.upstream_connect_failed.add(static_cast<uint64_t>(connected.failed_attempts));
  mine.connect_failed.add(static_cast<uint64_t>(connected.failed_attempts));
  if (connected.endpoint < 0) {
    // Refused promptly rather than left hanging: no endpoint is healthy, or none answered.
    result.close = Close::upstream_unreachable;
    result.detail = connected.none_eligible
                        ? "every endpoint of '" + up.name + "' is failing its health check or ejected"
                        : "no upstream endpoint answered: " + connected.failures;
    co_return result;
  }
  counters.upstream_connect_ok.add();
  mine.connect_ok.add();
  mine.connect_duration.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  pool_ = &pool;
  endpoint_ = connected.endpoint;
  const Endpoint& ep = up.endpoints[static_cast<size_t>(endpoint_)];
  result.endpoint = ep.label;
  if (!preface.empty()) {
    if (auto ec = co_await plain_.write_all(preface.data(), preface.size())) {
      result.close = Close::upstream_unreachable;
      result.detail = "could not send the PROXY header to " + ep.label + ": " + ec.message();
      close();
      co_return result;
    }
  }
  if (up.tls) {
    // Re-encryption: verify the upstream against its own CA and name, maybe with our client cert.
    auto ssl = up.tls->new_ssl(ep.host);
    if (!ssl) {
      result.close = Close::upstream_tls_failed;
      result.detail = "TLS to upstream " + ep.label + " not attempted: " + ssl.error();
      close();
      co_return result;
    }
    tls_ = std::make_unique<tls::Stream>(socket_, std::move(*ssl));
    Deadline deadline(socket_.get_executor());
    deadline.arm(up.settings.connect_timeout, [this] { cancel_io(socket_); });
    auto ec = co_await tls_->handshake();
    deadline.disarm();
    if (ec) {
      result.close = Close::upstream_tls_failed;
      result.detail = "TLS to upstream " + ep.label + " failed: " +
                      (deadline.fired() ? std::string("no handshake within connect_timeout")
                                        : tls::ClientContext::failure_detail(*tls_));
      if (up.settings.protocol == conf::UpstreamProtocol::h2 && tls::ClientContext::refused_our_protocols(*tls_))
        result.detail += " (it did not agree to HTTP/2 in ALPN; protocol = \"h2\" needs an HTTP/2 server)";
      close();
      co_return result;
    }
    if (up.settings.protocol == conf::UpstreamProtocol::h2) {
      const std::string chosen = tls::ClientContext::chosen_protocol(*tls_);
      if (chosen != "h2") {
        result.close = Close::upstream_tls_failed;
        result.detail = "upstream " + ep.label + " did not agree to HTTP/2 in ALPN; it " +
                        (chosen.empty() ? std::string("chose no protocol") : "chose \"" + chosen + "\"") +
                        " (protocol = \"h2\" needs an HTTP/2 server)";
        close();
        co_return result;
      }
    }
  }
  result.ok = true;
  co_return result;
}

void UpstreamLink::close() {
  if (endpoint_ >= 0) {  // by index: the pool's vectors may have been rebuilt meanwhile
    auto& eps = pool_->endpoints;
    if (static_cast<size_t>(endpoint_) < eps.size()) --eps[static_cast<size_t>(endpoint_)].active;
    endpoint_ = -1;
  }
  tls_.reset();
  asio::error_code ignored;
  if (socket_.is_open()) socket_.close(ignored);
}

asio::awaitable<std::tuple<std::error_code, size_t>> UpstreamLink::read_ready(void* data, size_t size) {
  if (tls_) co_return co_await tls_->read_ready(data, size);
  co_return co_await plain_.read_ready(data, size);
}

asio::awaitable<std::error_code> UpstreamLink::wait_readable() {
  if (tls_) co_return co_await tls_->wait_readable();
  co_return co_await plain_.wait_readable();
}

asio::awaitable<std::error_code> UpstreamLink::write_all(const void* data, size_t size) {
  if (tls_) co_return co_await tls_->write_all(data, size);
  co_return co_await plain_.write_all(data, size);
}

asio::awaitable<std::error_code> UpstreamLink::close_send() {
  if (tls_) co_return co_await tls_->close_send();
  co_return co_await plain_.close_send();
}

}  // namespace gatehouse::proxy
