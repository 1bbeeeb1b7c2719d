// `[server] watch = true`: reload when the config file or any file it names changes. inotify
// watches the folders that hold them (not the files: cert-manager and Kubernetes secrets replace
// files by renaming, or by swapping a `..data` symlink, which a watch on the old file never
// sees). Events are debounced (several files are usually replaced together), and a reload runs
// only when one of the named files really differs (size, time, inode, through symlinks), so
// other files in the same folders do not cause reloads. Runs on its own thread; the reload
// itself is Server::reload, the same as SIGHUP.
#pragma once

#include <sys/inotify.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "conf/settings.hpp"

namespace gatehouse::proxy {

// The config file and every file it names (certificates, keys, CAs, CRLs, ticket keys).
std::vector<std::filesystem::path> named_files(const conf::Settings& settings);

class FileWatch {
 public:
  // `files()` lists what to watch now (asked again after every reload); `reload()` reloads.
  FileWatch(std::function<std::vector<std::filesystem::path>()> files, std::function<void()> reload,
            std::chrono::milliseconds debounce = std::chrono::milliseconds(500));
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  bool start(std::string& error);  // false (and why) when inotify is unavailable
  void stop();

 private:
  void watch_folders();
  void read_events();
  void settle();
  std::string fingerprint() const;  // of every watched file, through symlinks

  std::function<std::vector<std::filesystem::path>()> files_;
  std::function<void()> reload_;
  std::chrono::milliseconds debounce_;
  asio::io_context io_{1};
  asio::posix::stream_descriptor inotify_{io_};
  asio::steady_timer quiet_{io_};
  std::map<int, std::filesystem::path> folders_;  // watch descriptor -> folder
  std::vector<std::filesystem::path> watched_;
  std::string last_;
  alignas(inotify_event) char buffer_[8192];
  std::thread thread_;
};

}  // namespace gatehouse::proxy
