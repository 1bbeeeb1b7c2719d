#include "bench/load.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <random>
#include <vector>

#include "bench/h2_load.hpp"
#include "common/deadline.hpp"
#include "tls/stream.hpp"

namespace gatehouse::bench {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kStallTimeout{std::chrono::seconds(10)};

// What the callbacks on the SSL_CTX learn about one connection.
struct ConnectionNotes {
  std::string alert;                      // the alert the server sent
  bssl::UniquePtr<SSL_SESSION>* session;  // where a ticket (a resumable session) goes
};

void on_info(const SSL* ssl, int where, int ret) {
  if (!(where & SSL_CB_READ_ALERT)) return;
  if (auto* notes = static_cast<ConnectionNotes*>(SSL_get_app_data(ssl)))
    notes->alert = SSL_alert_desc_string_long(ret);
}

// TLS 1.3 tickets arrive after the handshake; BoringSSL hands them over only here.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* notes = static_cast<ConnectionNotes*>(SSL_get_app_data(ssl));
  if (!notes || !notes->session) return 0;
  notes->session->reset(session);  // ours now
  return 1;
}

class Client {
 public:
  Client(asio::io_context& io, const LoadOptions& o, SSL_CTX* ctx, const tcp::endpoint& target, LoadControl& control,
         LoadStats& stats)
      : io_(io), o_(o), ctx_(ctx), target_(target), control_(control), stats_(stats) {}

  // Shares the thread's count of arrivals taken (open loop) with its other clients.
  void share_arrivals(std::uint64_t* taken) { arrivals_taken_ = taken; }

  asio::awaitable<void> run() { return o_.schedule ? run_open_loop() : run_closed_loop(); }

 private:
  asio::awaitable<void> run_closed_loop() {
    // h2, grpc with -n: once every request is sent, no more connections (each is CPU at the target).
    auto all_sent = [this] { return control_.max_operations && control_.claimed.load() >= control_.max_operations; };
    while (!control_.stop && !all_sent()) {
      const bool ok = co_await once(Clock::now());
      if (!ok) co_await pause_after_error();
    }
  }

  // Until the schedule runs out. A client busy past an arrival's due time starts it late, and
  // that lateness is part of its latency.
  asio::awaitable<void> run_open_loop() {
    while (!control_.stop && !schedule_done_) {
      if (o_.mode == Mode::requests) {  // the connection; its requests take the arrivals
        const bool ok = co_await once(Clock::now());
        if (!ok) co_await pause_after_error();
        continue;
      }
      auto due = co_await next_arrival();
      if (!due) break;
      co_await once(*due);
    }
  }

  // Do not spin on a refusing target.
  asio::awaitable<void> pause_after_error() {
    asio::steady_timer backoff(io_);
    backoff.expires_after(std::chrono::milliseconds(10));
    co_await backoff.async_wait(use_tuple);
  }

  // Waits until this thread's next arrival is due; nullopt when the schedule is over.
  asio::awaitable<std::optional<Clock::time_point>> next_arrival() {
    const std::uint64_t k = o_.share.offset + *arrivals_taken_ * o_.share.stride;
    auto due = o_.schedule->due(k);
    // Past the schedule's end, what is left was due and never started: counted as such at the
    // end (count_not_started), not issued late into a window that is over.
    if (!due || control_.stop || Clock::now() >= schedule_end()) {
      schedule_done_ = true;
      co_return std::nullopt;
    }
    ++*arrivals_taken_;
    due_ = control_.schedule_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*due));
    if (due_ > Clock::now()) {
      asio::steady_timer wait(io_);
      wait.expires_at(due_);
      co_await wait.async_wait(use_tuple);
    }
    co_return due_;
  }

  Clock::time_point schedule_end() const {
    return control_.schedule_start +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.schedule->seconds()));
  }

  bool offer_session() {
    return o_.resume_share >= 1 || std::uniform_real_distribution<>(0, 1)(rng_) < o_.resume_share;
  }

  // Whether the operation under way counts: in the open loop by when it was due.
  bool measured() const { return o_.schedule ? due_ >= control_.measure_from : control_.measuring.load(); }
  SecondSlot& this_second() {
    return stats_.series
        [std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()];
  }

  // In TLS 1.3 a refusal's alert arrives after our side of the handshake: name it whenever seen.
  void error(const std::string& kind) {
    if (!measured()) return;
    ++stats_.errors[alert_ && !alert_->empty() ? "alert: " + *alert_ : kind];
    ++this_second().errors;
  }
  void done(Clock::time_point started, bool resumed) {
    control_.progress.fetch_add(1, std::memory_order_relaxed);
    if (!measured()) return;
    ++stats_.operations;
    stats_.resumed += resumed ? 1 : 0;
    auto micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
    stats_.latency.record(micros);
    auto& second = this_second();
    ++second.operations;
    ++second.latency[static_cast<std::uint32_t>(LatencyHistogram::index_of(micros))];
    if (control_.max_operations && control_.progress.load() >= control_.max_operations) control_.stop = true;
  }

  // One connection: connect, handshake, then the mode's work. False on an error. `started` is
  // when the operation began, or in the open loop when it was due.
  asio::awaitable<bool> once(Clock::time_point started) {
    tcp::socket socket(io_);
    Deadline deadline(io_.get_executor());
    deadline.arm(kStallTimeout, [&socket] { socket.cancel(); });
    auto [ec] = co_await socket.async_connect(target_, use_tuple);
    if (ec) {
      error(deadline.fired() ? "timeout: connect" : "connect: " + ec.message());
      co_return false;
    }
    socket.set_option(tcp::no_delay(true));
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx_));
    SSL_set_connect_state(ssl.get());
    if (!o_.sni.empty()) SSL_set_tlsext_host_name(ssl.get(), o_.sni.c_str());
    if (o_.identities && !o_.identities->present_next(ssl.get())) {
      error("identity: BoringSSL refused the certificate or key");
      co_return false;
    }
    if (session_ && offer_session()) SSL_set_session(ssl.get(), session_.get());
    ConnectionNotes notes{"", o_.resume_share > 0 ? &session_ : nullptr};
    SSL_set_app_data(ssl.get(), &notes);
    std::string& alert = notes.alert;
    alert_ = &alert;
    struct Forget {
      const std::string*& alert;
      ~Forget() { alert = nullptr; }
    } forget{alert_};
    tls::Stream stream(socket, std::move(ssl));
    if (auto hec = co_await stream.handshake()) {
      error(!alert.empty()                 ? "alert: " + alert
            : deadline.fired()             ? "timeout: handshake"
            : !stream.last_error().empty() ? "tls: " + stream.last_error()
                                           : "handshake: " + hec.message());
      co_return false;
    }
    const bool resumed = SSL_session_reused(stream.ssl());
    bool ok = true;
    switch (o_.mode) {
      case Mode::handshake:
      case Mode::resume:
        ok = co_await request(stream, deadline, true);  // a ticket comes with it (on_new_session)
        if (ok) done(started, resumed);
        break;
      case Mode::requests:
        while (ok && !control_.stop) {
          auto one = Clock::now();
          if (o_.schedule) {
            auto due = co_await next_arrival();
            if (!due) break;
            one = *due;
          }
          ok = co_await request(stream, deadline, false);
          if (ok) done(one, resumed);
        }
        break;
      case Mode::bulk:
        ok = co_await bulk(stream, deadline);
        if (ok) done(started, resumed);
        break;
      case Mode::h2:
      case Mode::grpc:
        ok = co_await run_h2_connection(stream, deadline, o_, control_, stats_);
        break;
      case Mode::hold:
        ++stats_.held;  // a gauge, warm-up included: the target holds all of them
        deadline.disarm();
        while (!control_.stop) {  // idle until the end; a close from the server is an error
          char byte;
          auto [rec, n] = co_await stream.read_some(&byte, 1);
          if (rec) {
            --stats_.held;
            error("closed while held");
            co_return false;
          }
        }
        break;
    }
    co_await stream.close_send();
    co_return ok;
  }

  // GET with a tiny answer; with `close` the server ends the connection after it.
  asio::awaitable<bool> request(tls::Stream& stream, Deadline& deadline, bool close) {
    deadline.arm(kStallTimeout, [&stream] { stream.socket().cancel(); });
    std::string req = "GET " + o_.path + " HTTP/1.1\r\nHost: " + (o_.sni.empty() ? o_.host : o_.sni) +
                      (close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
    if (co_await stream.write_all(req.data(), req.size())) {
      error("write failed");
      co_return false;
    }
    stats_.bytes_sent += control_.measuring ? req.size() : 0;
    std::string got;
    char buf[16384];
    std::size_t need = std::string::npos;
    for (;;) {
      auto [ec, n] = co_await stream.read_some(buf, sizeof buf);
      if (ec == asio::error::eof && close) break;
      if (ec) {
        error(deadline.fired() ? "timeout: response" : "read: " + ec.message());
        co_return false;
      }
      got.append(buf, n);
      auto end = got.find("\r\n\r\n");
      if (end != std::string::npos && need == std::string::npos) {
        if (got.rfind("HTTP/1.1 2", 0) != 0 && got.rfind("HTTP/1.0 2", 0) != 0) {
          error("status: " + got.substr(9, 3));
          co_return false;
        }
        auto cl = got.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) need = end + 4 + std::stoul(got.substr(cl + 16));
      }
      if (!close && need != std::string::npos && got.size() >= need) break;
    }
    if (control_.measuring) stats_.bytes_received += got.size();
    co_return true;
  }

  // Sends bulk_bytes to an echoing upstream while reading them back.
  asio::awaitable<bool> bulk(tls::Stream& stream, Deadline& deadline) {
    std::size_t sent = 0, received = 0;
    bool failed = false;
    std::vector<char> out(16384, 'b');
    auto writer = [&]() -> asio::awaitable<void> {
      while (sent < o_.bulk_bytes && !failed) {
        std::size_t n = std::min(out.size(), o_.bulk_bytes - sent);
        if (co_await stream.write_all(out.data(), n)) failed = true;
        sent += n;
        if (control_.measuring) stats_.bytes_sent += n;  // as it goes: CPU per byte needs the window's bytes
        deadline.arm(kStallTimeout, [&stream] { stream.socket().cancel(); });
      }
    };
    auto reader = [&]() -> asio::awaitable<void> {
      std::vector<char> in(16384);
      while (received < o_.bulk_bytes && !failed) {
        auto [ec, n] = co_await stream.read_some(in.data(), in.size());
        if (ec) failed = true;
        received += ec ? 0 : n;
        if (control_.measuring && !ec) stats_.bytes_received += n;
      }
    };
    co_await (writer() && reader());
    if (failed) error(deadline.fired() ? "timeout: bulk" : "bulk transfer failed");
    co_return !failed;
  }

  asio::io_context& io_;
  const LoadOptions& o_;
  SSL_CTX* ctx_;
  tcp::endpoint target_;
  LoadControl& control_;
  LoadStats& stats_;
  bssl::UniquePtr<SSL_SESSION> session_;
  const std::string* alert_ = nullptr;  // the current connection's alert, if any
  std::uint64_t* arrivals_taken_ = nullptr;
  bool schedule_done_ = false;
  Clock::time_point due_;  // open loop: when the operation under way was due
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace

void LoadStats::merge(const LoadStats& o) {
  operations += o.operations;
  resumed += o.resumed;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  held += o.held;
  latency.merge(o.latency);
  for (const auto& [k, v] : o.errors) errors[k] += v;
  for (const auto& [second, slot] : o.series) series[second].merge(slot);
  not_started += o.not_started;
}

namespace {

// The arrivals of this thread's share, due in the measured window, that were never started.
std::uint64_t count_not_started(const LoadOptions& o, const LoadControl& control, std::uint64_t taken) {
  const double from = std::chrono::duration<double>(control.measure_from - control.schedule_start).count();
  std::uint64_t n = 0;
  for (std::uint64_t m = taken;; ++m) {
    auto due = o.schedule->due(o.share.offset + m * o.share.stride);
    if (!due) return n;
    n += *due >= from ? 1 : 0;
  }
}

}  // namespace

void run_load_thread(const LoadOptions& options, SSL_CTX* ctx, LoadControl& control, LoadStats& stats) {
  SSL_CTX_set_info_callback(ctx, &on_info);
  SSL_CTX_sess_set_new_cb(ctx, &on_new_session);
  // Declared before the io_context: its destructor destroys the suspended coroutines, which still
  // touch their Client.
  std::vector<std::unique_ptr<Client>> clients;
  asio::io_context io(1);
  tcp::resolver resolver(io);
  auto target = *resolver.resolve(options.host, options.port).begin();
  std::uint64_t arrivals_taken = 0;
  int running = options.connections;
  for (int i = 0; i < options.connections; ++i) {
    clients.push_back(std::make_unique<Client>(io, options, ctx, target.endpoint(), control, stats));
    clients.back()->share_arrivals(&arrivals_taken);
    asio::co_spawn(io, clients.back()->run(), [&running](const std::exception_ptr&) { --running; });
  }
  // Wake regularly to notice `stop` while connections are held or waiting.
  asio::steady_timer tick(io);
  std::function<void()> watch = [&] {
    tick.expires_after(std::chrono::milliseconds(50));
    tick.async_wait([&](const asio::error_code&) {
      if (control.stop || running == 0) {
        io.stop();
        return;
      }
      watch();
    });
  };
  watch();
  io.run();
  if (options.schedule) stats.not_started += count_not_started(options, control, arrivals_taken);
  ++control.threads_done;
}

}  // namespace gatehouse::bench
