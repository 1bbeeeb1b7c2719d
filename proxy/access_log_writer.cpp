// The access log's queues and its writer thread (see AccessLog in access_log.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/access_log.hpp"

namespace gatehouse::proxy {
namespace {

constexpr auto kWriterPeriod = std::chrono::milliseconds(20);  // the most a line waits

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not take the proxy down
    data.remove_prefix(static_cast<size_t>(n));
  }
}

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

// A file the log appends to; only the writer thread touches the descriptor.
struct AppendFile {
  AppendFile(std::string p, int opened) : path(std::move(p)), fd(opened) {}
  ~AppendFile() { ::close(fd); }
  void reopen() {  // logrotate renamed it: the same path again
    int fresh = open_append(path);
    if (fresh < 0) return;  // keep writing to the old file rather than losing lines
    ::close(fd);
    fd = fresh;
  }
  std::string path;
  int fd;
};

}  // namespace

// Where batches go: nowhere (off), standard output, a file, or a test's sink.
struct AccessLog::Output {
  Sink sink;  // empty when off
  std::function<void()> reopen;

  static std::optional<Output> open(const std::string& target, std::string& error) {
    if (target == "off") return Output{};
    if (target == "stdout") return Output{[](std::string_view lines) { write_all(STDOUT_FILENO, lines); }, nullptr};
    int fd = open_append(target);
    if (fd < 0) {
      error = "cannot open access log " + target + ": " + std::strerror(errno);
      return std::nullopt;
    }
    auto file = std::make_shared<AppendFile>(target, fd);
    return Output{[file](std::string_view lines) { write_all(file->fd, lines); }, [file] { file->reopen(); }};
  }
};

// Single producer (a worker), single consumer (the writer thread): a ring of lines.
struct AccessLog::Writer::Queue {
  std::vector<std::string> slots = std::vector<std::string>(AccessLog::kQueueLines);
  std::atomic<std::uint64_t> head{0};  // next to write, advanced by the producer
  std::atomic<std::uint64_t> tail{0};  // next to read, advanced by the consumer
  std::atomic<std::uint64_t> dropped{0};
};

struct AccessLog::State {
  Output output;                     // the writer thread's, once it runs
  std::atomic<bool> enabled{false};  // workers queue lines only while the output is not off
  std::mutex mutex;                  // queues list, hand-overs and wake-ups; never taken by a worker writing a line
  std::condition_variable wake;
  std::vector<std::unique_ptr<Writer::Queue>> queues;
  std::optional<Output> next_output;  // handed over by retarget(), taken by the writer thread
  bool reopen_requested = false;
  bool stop = false;
  std::uint64_t flush_requested = 0;  // flush() waits until `flushed` reaches its number
  std::uint64_t flushed = 0;
  std::condition_variable flushed_cv;
  std::thread thread;

  // Moves every queued line into one batch for the output.
  bool drain(std::string& batch) {
    std::vector<Writer::Queue*> snapshot;
    {
      std::lock_guard lock(mutex);
      for (auto& q : queues) snapshot.push_back(q.get());
    }
    for (auto* q : snapshot) {
      std::uint64_t tail = q->tail.load(std::memory_order_relaxed);
      std::uint64_t head = q->head.load(std::memory_order_acquire);
      for (; tail != head; ++tail) {
        std::string line;
        line.swap(q->slots[tail % q->slots.size()]);  // an idle log holds no old lines
        batch += line;
        batch += '\n';
      }
      q->tail.store(tail, std::memory_order_release);
    }
    return !batch.empty();
  }

  void write_out(std::string& batch) {
    batch.clear();
    if (drain(batch) && output.sink) output.sink(batch);
  }

  void run() {
    std::string batch;
    for (;;) {
      bool stopping, reopening;
      std::uint64_t flushing;
      std::optional<Output> switching;
      {
        std::unique_lock lock(mutex);
        auto due = [&] { return stop || reopen_requested || next_output || flush_requested != flushed; };
        if (output.sink)
          wake.wait_for(lock, kWriterPeriod, due);
        else
          wake.wait(lock, due);  // off: nothing to write until someone asks
        stopping = stop;
        flushing = flush_requested;
        reopening = std::exchange(reopen_requested, false);
        switching = std::exchange(next_output, std::nullopt);
      }
      // Lines queued before a reopen or a switch go to the old output; the next ones to the new.
      write_out(batch);
      if (reopening && output.reopen) output.reopen();
      if (switching) {
        output = std::move(*switching);
        enabled.store(output.sink != nullptr, std::memory_order_relaxed);
      }
      {
        std::lock_guard lock(mutex);
        flushed = flushing;
      }
      flushed_cv.notify_all();
      if (stopping) {
        write_out(batch);
        return;
      }
    }
  }

  ~State() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
  }
};

AccessLog::AccessLog(Sink sink, std::function<void()> on_reopen)
    : AccessLog(Output{std::move(sink), std::move(on_reopen)}) {}

AccessLog::AccessLog(Output output) : state_(std::make_shared<State>()) {
  state_->enabled = output.sink != nullptr;
  state_->output = std::move(output);
  state_->thread = std::thread([state = state_.get()] { state->run(); });
}

AccessLog AccessLog::open(const std::string& target, std::string& error) {
  auto output = Output::open(target, error);
  if (!output) return AccessLog();
  return AccessLog(std::move(*output));
}

AccessLog::Writer AccessLog::writer() {
  Writer w;
  if (!state_) return w;
  auto queue = std::make_unique<Writer::Queue>();
  w.queue_ = queue.get();
  w.enabled_ = &state_->enabled;
  w.keep_ = state_;
  std::lock_guard lock(state_->mutex);
  state_->queues.push_back(std::move(queue));
  return w;
}

bool AccessLog::Writer::enabled() const { return enabled_ && enabled_->load(std::memory_order_relaxed); }

void AccessLog::Writer::write(const ConnectionRecord& record) {
  if (!enabled()) return;
  std::uint64_t head = queue_->head.load(std::memory_order_relaxed);
  if (head - queue_->tail.load(std::memory_order_acquire) >= queue_->slots.size()) {
    queue_->dropped.store(queue_->dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  queue_->slots[head % queue_->slots.size()] = format_access_line(record);
  queue_->head.store(head + 1, std::memory_order_release);
}

void AccessLog::flush() {
  if (!state_) return;
  std::unique_lock lock(state_->mutex);
  std::uint64_t mine = ++state_->flush_requested;
  state_->wake.notify_all();
  state_->flushed_cv.wait(lock, [&] { return state_->flushed >= mine || state_->stop; });
}

bool AccessLog::retarget(const std::string& target, std::string& error) {
  if (!state_) {
    error = "this access log cannot be switched";
    return false;
  }
  auto output = Output::open(target, error);
  if (!output) return false;
  // Turning it off stops the queuing now; turning it on waits for the writer to hold the output.
  if (!output->sink) state_->enabled.store(false, std::memory_order_relaxed);
  {
    std::lock_guard lock(state_->mutex);
    state_->next_output = std::move(output);
  }
  state_->wake.notify_all();
  return true;
}

void AccessLog::reopen() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->reopen_requested = true;
  }
  state_->wake.notify_all();
}

std::uint64_t AccessLog::dropped() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  std::uint64_t n = 0;
  for (const auto& q : state_->queues) n += q->dropped.load(std::memory_order_relaxed);
  return n;
}

}  // namespace gatehouse::proxy
