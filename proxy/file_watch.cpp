#include "proxy/file_watch.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "proxy/event_loop.hpp"

namespace gatehouse::proxy {

std::vector<std::filesystem::path> named_files(const conf::Settings& s) {
  std::vector<std::filesystem::path> out;
  if (!s.config_file.empty()) out.push_back(s.config_file);
  auto add = [&out](const std::optional<conf::FileRef>& f) {
    if (f && !f->path.empty()) out.push_back(f->path);
  };
  for (const auto& l : s.listeners) {
    for (const auto& c : l.tls.certificates) {
      add(c.cert);
      add(c.key);
    }
    add(l.tls.client_ca);
    add(l.tls.client_intermediates);
    add(l.tls.crl);
    add(l.tls.ticket_keys);
  }
  for (const auto& u : s.upstreams)
    if (u.tls) {
      add(u.tls->ca);
      add(u.tls->cert);
      add(u.tls->key);
    }
  return out;
}

FileWatch::FileWatch(std::function<std::vector<std::filesystem::path>()> files, std::function<void()> reload,
                     std::chrono::milliseconds debounce)
    : files_(std::move(files)), reload_(std::move(reload)), debounce_(debounce) {}

FileWatch::~FileWatch() { stop(); }

bool FileWatch::start(std::string& error) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    error = std::string("inotify: ") + std::strerror(errno);
    return false;
  }
  asio::error_code ec;
  inotify_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    error = "inotify: " + ec.message();
    return false;
  }
  watch_folders();
  last_ = fingerprint();
  read_events();
  thread_ = std::thread([this] { run_event_loop(io_, "watch"); });
  return true;
}

void FileWatch::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    asio::error_code ignored;
    quiet_.cancel();
    inotify_.close(ignored);
  });
  thread_.join();
}

void FileWatch::watch_folders() {
  for (const auto& [wd, folder] : folders_) ::inotify_rm_watch(inotify_.native_handle(), wd);
  folders_.clear();
  watched_ = files_();
  std::set<std::filesystem::path> folders;
  for (const auto& f : watched_) folders.insert(f.parent_path().empty() ? "." : f.parent_path());
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB;
  for (const auto& folder : folders) {
    int wd = ::inotify_add_watch(inotify_.native_handle(), folder.c_str(), kMask);
    if (wd < 0)
      spdlog::warn("watch: cannot watch {}: {}", folder.string(), std::strerror(errno));
    else
      folders_[wd] = folder;
  }
}

void FileWatch::read_events() {
  inotify_.async_read_some(asio::buffer(buffer_), [this](const asio::error_code& ec, std::size_t n) {
    if (ec) return;  // closed by stop()
    // IN_IGNORED only says a watch we replaced is gone; anything else: wait until the folders
    // are quiet, then look at the files themselves.
    bool changed = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer_ + at);
      changed |= (e->mask & IN_IGNORED) == 0;
      at += sizeof(inotify_event) + e->len;
    }
    if (changed) {
      quiet_.expires_after(debounce_);
      quiet_.async_wait([this](const asio::error_code& wait_ec) {
        if (!wait_ec) settle();
      });
    }
    read_events();
  });
}

void FileWatch::settle() {
  std::string now = fingerprint();
  if (now == last_) {
    spdlog::info("watch: files changed next to the config's files, none of its own: no reload");
    return;
  }
  spdlog::info("watch: a file the config names changed: reloading");
  last_ = now;  // what this reload reads; anything changed after it is seen next time
  const auto before = watched_;
  reload_();
  watch_folders();  // the new config may name other files
  if (watched_ != before) last_ = fingerprint();
}

std::string FileWatch::fingerprint() const {
  std::string out;
  for (const auto& f : watched_) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      out += f.string() + ":missing;";
      continue;
    }
    out += f.string() + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return out;
}

}  // namespace gatehouse::proxy
