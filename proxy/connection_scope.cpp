#include "proxy/connection_scope.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "proxy/revalidation.hpp"

namespace gatehouse::proxy {
namespace {

double ms_since(ConnectionScope::Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(ConnectionScope::Clock::now() - t).count();
}

std::string peer_text(const asio::ip::tcp::endpoint& ep) {
  if (ep.port() == 0) return "unknown";
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

}  // namespace

ConnectionScope::ConnectionScope(WorkerContext& worker, ConnectionMember& member, const SnapshotState& state,
                                 const ListenerRuntime& listener, const asio::ip::tcp::endpoint& client_address)
    : worker_(worker), member_(member), state_(state), counters_(worker.listener(listener.index)), listener_(listener) {
  worker_.counters.connections_total.add();
  worker_.counters.connections_active.add();
  counters_.connections_total.add();
  counters_.connections_active.add();
  rec_.id = fmt::format("{}-{:x}", worker_.index, ++worker_.connections_accepted);
  rec_.listener = listener.settings.name;
  rec_.client = peer_text(client_address);
}

ConnectionScope::~ConnectionScope() {
  if (!written_) finish(Close::terminated);
  // The member leaves its group only in the completion handler, posted after this frame is gone:
  // a reload's revalidation running in between must not reach the SSL the frame owned.
  member_.ssl = nullptr;
  member_.rules = nullptr;
  worker_.counters.connections_active.sub();
  counters_.connections_active.sub();
  counters_.connection_duration.observe(ms_since(started_) / 1000);
}

void ConnectionScope::count_refusal(Reason reason) {
  rec_.decision = "deny";
  rec_.reason = reason;
  worker_.counters.refused[static_cast<size_t>(reason)].add();
}

void ConnectionScope::client_via_proxy(const asio::ip::tcp::endpoint& client) {
  rec_.client = peer_text(client) + " via " + rec_.client;
}

void ConnectionScope::refuse_proxy_header(std::string detail) {
  count_refusal(Reason::protocol_error);
  rec_.detail = std::move(detail);
  counters_
      .handshakes[static_cast<size_t>(Reason::protocol_error)][static_cast<size_t>(metrics::TlsVersionSlot::none)][0]
      .add();
}

void ConnectionScope::handshake_done(const tls::Verdict& verdict, const tls::SessionFacts& session) {
  rec_.handshake_ms = ms_since(started_);
  rec_.sni = session.sni;
  rec_.tls_version = session.version;
  rec_.cipher = session.cipher;
  rec_.alpn = session.alpn;
  rec_.resumed = session.resumed;
  auto version = !session.completed ? metrics::TlsVersionSlot::none
                 : session.tls13    ? metrics::TlsVersionSlot::tls13
                                    : metrics::TlsVersionSlot::tls12;
  counters_.handshakes[static_cast<size_t>(verdict.reason)][static_cast<size_t>(version)][session.resumed ? 1 : 0]
      .add();
  counters_.handshake_duration.observe(rec_.handshake_ms / 1000);
  if (session.completed && (verdict.allowed() || listener_.tls->verify_optional()))
    worker_.counters.handshakes_ok.add();
  if (const tls::PeerIdentity* identity = verdict.identity()) {
    rec_.identity = identity;
    auto& route = state_.route(listener_.index, verdict.route);
    if (verdict.allowed())
      route.allowed.add();
    else if (!verdict.authorized)
      route.refused[static_cast<size_t>(verdict.reason)].add();
  } else if (verdict.presented) {
    rec_.unverified = &*verdict.presented;
  }
  rec_.rule = verdict.rule;
  // The verdict on this certificate is final here: admitted or refused (a client that walked
  // away before a decision is neither).
  if (verdict.presented && (verdict.allowed() || is_refusal(verdict.reason)))
    worker_.seen_clients.record(*verdict.presented, verdict.chain_verified, listener_.settings.name, verdict.reason,
                                std::time(nullptr));
  if (verdict.allowed()) return;
  if (!is_refusal(verdict.reason)) {  // the client left before any decision: not a refusal
    rec_.decision = "none";
    rec_.reason = verdict.reason;
    rec_.detail = verdict.detail;
    return;
  }
  count_refusal(verdict.reason);
  rec_.detail = verdict.detail;
  rec_.failed_issuer = verdict.failed_issuer;
  rec_.failed_depth = verdict.failed_depth;
}

void ConnectionScope::admit(const std::string& route, const std::string& upstream) {
  admitted_ = true;
  rec_.decision = "allow";
  rec_.route = route;
  rec_.upstream = upstream;
}

void ConnectionScope::upstream_unavailable(std::string detail) {
  rec_.reason = Reason::upstream_unavailable;
  rec_.detail = std::move(detail);
  worker_.counters.refused[static_cast<size_t>(Reason::upstream_unavailable)].add();
}

void ConnectionScope::finish(Close close, std::string detail) {
  if (written_) return;
  written_ = true;
  const bool ended = admitted_ && member_.ended_by_gatehouse();
  if (ended) {  // Gatehouse ended it: that is its close, with the reason
    close = *member_.ending();
    if (close == Close::reverified_closed) {
      rec_.decision = "deny";
      rec_.reason = member_.ending_reason();
    }
    rec_.detail = member_.ending_detail();
  } else if (member_.ending() == Close::terminated) {
    close = Close::terminated;
  } else if (!detail.empty() && rec_.detail.empty()) {
    rec_.detail = std::move(detail);
  }
  // http mode: the requests' lines tell the story, unless the connection's own end is news
  // (HTTP/2 abuse or a protocol error: GOAWAY).
  const bool news = close == Close::abuse || close == Close::protocol_error;
  if (request_lines_ > 0 && !ended && !news) return;
  rec_.close = close;
  rec_.duration_ms = ms_since(started_);
  worker_.access_log.write(rec_);
  if (!worker_.access_log.enabled() && rec_.decision == "deny")  // refusals are never only at debug
    spdlog::info("refused {} on {}: {} ({}) issuer '{}' depth {}", rec_.client, rec_.listener,
                 reason_keyword(rec_.reason), rec_.detail, rec_.failed_issuer, rec_.failed_depth);
}

}  // namespace gatehouse::proxy
