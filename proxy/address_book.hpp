// What upstream names resolve to, as one thread knows it. Answers come from loading a config
// (each snapshot looks its names up once) and from the upstream monitor's re-resolution; wherever
// they land, the newest good answer wins and a failed lookup changes nothing. Entries are keyed
// by the endpoint as written ("app.internal:8080"), so an answer outlives the snapshot it came
// with: a reload neither forgets a newer answer nor empties a name its own lookup missed.
//
// Each worker owns one (proxy/worker_state.hpp) and the upstream monitor owns one: no lock, and
// new answers reach a worker as a post to its io_context.
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::proxy {

using Addresses = std::vector<asio::ip::tcp::endpoint>;

// One lookup's good answer and when it was made. The list is shared and never changed, so a
// connect walking through it keeps it while a newer answer replaces the book's entry.
struct Resolution {
  std::shared_ptr<const Addresses> addresses;  // null: no good answer yet
  std::chrono::steady_clock::time_point at{};

  static Resolution now(Addresses found) {
    if (found.empty()) return {};
    return {std::make_shared<const Addresses>(std::move(found)), std::chrono::steady_clock::now()};
  }
  bool empty() const { return !addresses || addresses->empty(); }
  bool newer_than(const Resolution& other) const { return !empty() && (other.empty() || at > other.at); }
};

class AddressBook {
 public:
  // The entry of `endpoint`, made on first use, after taking `answer` if it is good and newer.
  // The reference stays valid as long as the book: entries are never removed.
  const Resolution& learn(const std::string& endpoint, const Resolution& answer) {
    Resolution& entry = entries_[endpoint];
    if (answer.newer_than(entry)) entry = answer;
    return entry;
  }
  // The current list of `endpoint`; empty when it never resolved.
  std::shared_ptr<const Addresses> addresses(std::string_view endpoint) const {
    static const auto kNone = std::make_shared<const Addresses>();
    auto it = entries_.find(endpoint);
    return it == entries_.end() || it->second.empty() ? kNone : it->second.addresses;
  }

 private:
  std::map<std::string, Resolution, std::less<>> entries_;
};

}  // namespace gatehouse::proxy
