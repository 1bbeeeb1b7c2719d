// The access log's queues and its writer thread (see AccessLog in access_log.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
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

int open_append(const std::string& path) { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640); }

struct FileTarget {
  explicit FileTarget(std::string p) : path(std::move(p)), fd(open_append(path)) {}
  ~FileTarget() {
    if (fd >= 0) ::close(fd);
  }
  // On the writer thread: a file handed over by retarget() first, else the same path again.
  void reopen() {
    std::unique_lock lock(handover);
    if (next_fd >= 0) {
      ::close(fd);
      fd = std::exchange(next_fd, -1);
      path = std::move(next_path);
      return;
    }
    lock.unlock();
    int fresh = open_append(path);
    if (fresh < 0) return;  // keep writing to the old file rather than losing lines
    ::close(fd);
    fd = fresh;
  }
  // On a reload's thread: opens the new file now (an error changes nothing), the writer switches.
  bool retarget(const std::string& to, std::string& error) {
    int fresh = open_append(to);
    if (fresh < 0) {
      error = "cannot open access log " + to + ": " + std::strerror(errno);
      return false;
    }
    std::lock_guard lock(handover);
    if (next_fd >= 0) ::close(next_fd);
    next_fd = fresh;
    next_path = to;
    return true;
  }
  std::string path;
  int fd;
  std::mutex handover;  // retarget() and the writer thread only
  int next_fd = -1;
  std::string next_path;
};

}  // namespace

// Single producer (a worker), single consumer (the writer thread): a ring of lines.
struct AccessLog::Writer::Queue {
  std::vector<std::string> slots = std::vector<std::string>(AccessLog::kQueueLines);
  std::atomic<std::uint64_t> head{0};  // next to write, advanced by the producer
  std::atomic<std::uint64_t> tail{0};  // next to read, advanced by the consumer
  std::atomic<std::uint64_t> dropped{0};
};

struct AccessLog::State {
  Sink sink;
  std::function<void()> on_reopen;
  std::function<bool(const std::string&, std::string&)> retarget;  // files only
  std::mutex mutex;  // queues list and wake-ups only; never taken by a worker writing a line
  std::condition_variable wake;
  std::vector<std::unique_ptr<Writer::Queue>> queues;
  std::atomic<bool> reopen_requested{false};
  bool stop = false;
  std::uint64_t flush_requested = 0;  // flush() waits until `flushed` reaches its number
  std::uint64_t flushed = 0;
  std::condition_variable flushed_cv;
  std::thread thread;

  // Moves every queued line into one batch for the sink.
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

  void run() {
    std::string batch;
    for (;;) {
      bool stopping;
      std::uint64_t flushing;
      {
        std::unique_lock lock(mutex);
        wake.wait_for(lock, kWriterPeriod,
                      [&] { return stop || reopen_requested.load() || flush_requested != flushed; });
        stopping = stop;
        flushing = flush_requested;
      }
      batch.clear();
      if (drain(batch)) sink(batch);
      {
        std::lock_guard lock(mutex);
        flushed = flushing;
      }
      flushed_cv.notify_all();
      // Lines queued before the signal went to the old file; the next ones go to the new.
      if (reopen_requested.exchange(false) && on_reopen) on_reopen();
      if (stopping) {
        batch.clear();
        if (drain(batch)) sink(batch);
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

AccessLog::AccessLog(Sink sink, std::function<void()> on_reopen) : state_(std::make_shared<State>()) {
  state_->sink = std::move(sink);
  state_->on_reopen = std::move(on_reopen);
  state_->thread = std::thread([state = state_.get()] { state->run(); });
}

AccessLog AccessLog::open(const std::string& target, std::string& error) {
  if (target == "off") return AccessLog();
  if (target == "stdout") return AccessLog([](std::string_view lines) { write_all(STDOUT_FILENO, lines); });
  auto file = std::make_shared<FileTarget>(target);
  if (file->fd < 0) {
    error = "cannot open access log " + target + ": " + std::strerror(errno);
    return AccessLog();
  }
  // Only the writer thread touches the descriptor, so it needs no lock.
  AccessLog log([file](std::string_view lines) { write_all(file->fd, lines); }, [file] { file->reopen(); });
  log.state_->retarget = [file](const std::string& to, std::string& e) { return file->retarget(to, e); };
  return log;
}

AccessLog::Writer AccessLog::writer() {
  Writer w;
  if (!state_) return w;
  auto queue = std::make_unique<Writer::Queue>();
  w.queue_ = queue.get();
  w.keep_ = state_;
  std::lock_guard lock(state_->mutex);
  state_->queues.push_back(std::move(queue));
  return w;
}

void AccessLog::Writer::write(const ConnectionRecord& record) {
  if (!queue_) return;
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

bool AccessLog::retarget(const std::string& path, std::string& error) {
  if (!state_ || !state_->retarget) {
    error = "the access log is not a file";
    return false;
  }
  if (!state_->retarget(path, error)) return false;
  reopen();
  return true;
}

void AccessLog::reopen() {
  if (!state_) return;
  state_->reopen_requested = true;
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
