// Which client certificates one worker saw lately (GET /clients, the client-certificate gauges):
// who actually uses the site, whose certificate expires soon, who keeps being refused.
//
// Written and read by its worker's thread only, so nothing on the connection path locks: the
// admin thread asks for a copy by posting to the worker (Worker::seen_clients).
//
// Bounded twice: an entry not seen for `window` (24 h) drops out, and at most `capacity` entries
// (4096) are kept, the least recently seen evicted first. Anyone can present a self-made
// certificate, so unverified entries may fill at most a quarter of the table, and a new entry in
// a full table evicts an unverified one before any verified one: a flood of strangers never
// pushes the testers out.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/reason.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy {

struct SeenClient {
  std::string fingerprint;  // SHA-256 of the DER leaf, lower-case hex: the key
  std::string subject;
  std::string issuer;
  std::string serial;
  std::int64_t not_after = 0;  // Unix seconds
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  std::string listener;  // where it was last seen
  std::uint64_t admitted = 0;
  std::uint64_t refused = 0;
  Reason last_reason = Reason::ok;
  // Whether the chain verified at the last sighting. False: the fields are only what the
  // certificate claims (as the access log's "unverified_certificate").
  bool verified = false;
};

class SeenClients {
 public:
  static constexpr std::size_t kCapacity = 4096;
  static constexpr std::chrono::seconds kWindow = std::chrono::hours(24);

  explicit SeenClients(std::size_t capacity = kCapacity, std::chrono::seconds window = kWindow);

  // A final verdict on a connection that presented `cert`: admitted (Reason::ok) or refused
  // for `reason`. `now` is Unix seconds (the caller's clock, so tests can choose it).
  void record(const tls::PeerIdentity& cert, bool verified, const std::string& listener, Reason reason,
              std::int64_t now);
  // The entries seen within the window before `now`, most recently seen first.
  std::vector<SeenClient> copy(std::int64_t now);
  std::size_t size() const { return index_.size(); }

 private:
  using List = std::list<SeenClient>;  // most recently seen at the front
  struct Slot {
    List* list;
    List::iterator at;
  };
  void forget_older_than(std::int64_t oldest);
  void evict_one(List& from);
  List& list_for(bool verified) { return verified ? verified_ : unverified_; }

  std::size_t capacity_;
  std::size_t unverified_capacity_;
  std::chrono::seconds window_;
  List verified_;
  List unverified_;
  std::unordered_map<std::string, Slot> index_;  // by fingerprint
};

}  // namespace gatehouse::proxy
