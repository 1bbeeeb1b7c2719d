#include "proxy/seen_clients.hpp"

#include <algorithm>

namespace gatehouse::proxy {
namespace {

// A subject is whatever the client's certificate says: a long one costs memory in every entry,
// so the table keeps its first KiB (JSON output replaces a cut UTF-8 sequence).
constexpr std::size_t kMaxNameBytes = 1024;

std::string bounded(const std::string& name) {
  return name.size() <= kMaxNameBytes ? name : name.substr(0, kMaxNameBytes) + "...";
}

}  // namespace

SeenClients::SeenClients(std::size_t capacity, std::chrono::seconds window)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      unverified_capacity_(std::max<std::size_t>(capacity_ / 4, 1)),
      window_(window) {}

void SeenClients::record(const tls::PeerIdentity& cert, bool verified, const std::string& listener, Reason reason,
                         std::int64_t now) {
  if (cert.fingerprint.empty()) return;  // nothing parsed: nothing to key on
  forget_older_than(now - window_.count());
  List& target = list_for(verified);
  auto found = index_.find(cert.fingerprint);
  if (found == index_.end()) {
    // Make room first, so that the new entry is never the one evicted.
    if (!verified && unverified_.size() >= unverified_capacity_) evict_one(unverified_);
    if (index_.size() >= capacity_) evict_one(unverified_.empty() ? verified_ : unverified_);
    SeenClient fresh;
    fresh.fingerprint = cert.fingerprint;
    fresh.subject = bounded(cert.subject);
    fresh.issuer = bounded(cert.issuer);
    fresh.serial = bounded(cert.serial);
    fresh.not_after = cert.not_after;
    fresh.first_seen = now;
    target.push_front(std::move(fresh));
    found = index_.emplace(cert.fingerprint, Slot{&target, target.begin()}).first;
  } else if (found->second.list != &target) {
    // Seen verified on one listener and unverified on another: it moves with its last sighting.
    if (!verified && unverified_.size() >= unverified_capacity_) evict_one(unverified_);
    target.splice(target.begin(), *found->second.list, found->second.at);
    found->second.list = &target;
  } else {
    target.splice(target.begin(), target, found->second.at);  // most recently seen first
  }
  SeenClient& entry = *found->second.at;
  entry.last_seen = now;
  entry.listener = listener;
  entry.last_reason = reason;
  entry.verified = verified;
  if (reason == Reason::ok)
    ++entry.admitted;
  else
    ++entry.refused;
}

std::vector<SeenClient> SeenClients::copy(std::int64_t now) {
  const std::int64_t oldest = now - window_.count();
  forget_older_than(oldest);
  std::vector<SeenClient> out;
  out.reserve(index_.size());
  for (const List* list : {&verified_, &unverified_})
    for (const SeenClient& entry : *list)
      if (entry.last_seen >= oldest) out.push_back(entry);  // the wall clock may have stepped back
  std::stable_sort(out.begin(), out.end(),
                   [](const SeenClient& a, const SeenClient& b) { return a.last_seen > b.last_seen; });
  return out;
}

void SeenClients::forget_older_than(std::int64_t oldest) {
  for (List* list : {&verified_, &unverified_})
    while (!list->empty() && list->back().last_seen < oldest) evict_one(*list);
}

void SeenClients::evict_one(List& from) {
  if (from.empty()) return;
  index_.erase(from.back().fingerprint);
  from.pop_back();
}

}  // namespace gatehouse::proxy
