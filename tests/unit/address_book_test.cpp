// Per-worker addresses (proxy/address_book.hpp, proxy/worker_state.hpp): the newest good answer
// wins wherever it lands, a failed lookup changes nothing, and what a worker learned survives
// binding the next snapshot. No sockets, no threads: the worker's side alone.
#include <gtest/gtest.h>

#include <chrono>

#include "proxy/snapshot.hpp"
#include "proxy/worker_state.hpp"

namespace gatehouse::proxy {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point kT0 = Clock::now();

Resolution answer(const char* ip, int seconds_after) {
  Addresses list{asio::ip::tcp::endpoint(asio::ip::make_address(ip), 8080)};
  return {std::make_shared<const Addresses>(std::move(list)), kT0 + std::chrono::seconds(seconds_after)};
}

std::string first_ip(const Resolution& r) { return r.empty() ? "" : r.addresses->front().address().to_string(); }

// A snapshot with one upstream whose one endpoint, "app.internal:8080", resolved to `loaded` at load.
std::shared_ptr<Snapshot> snapshot_with(const Resolution& loaded) {
  auto snap = std::make_shared<Snapshot>();
  UpstreamRuntime up;
  up.name = "app";
  Endpoint ep;
  ep.label = "app.internal:8080";
  ep.by_name = true;
  ep.resolved = loaded;
  up.endpoints.push_back(std::move(ep));
  snap->upstreams.push_back(std::move(up));
  return snap;
}

TEST(AddressBook, TheNewestGoodAnswerWinsAndAFailedLookupChangesNothing) {
  AddressBook book;
  EXPECT_TRUE(book.learn("a:1", Resolution{}).empty());  // known, never resolved
  EXPECT_TRUE(book.addresses("a:1")->empty());
  EXPECT_EQ(first_ip(book.learn("a:1", answer("10.0.0.1", 2))), "10.0.0.1");
  EXPECT_EQ(first_ip(book.learn("a:1", answer("10.0.0.2", 1))), "10.0.0.1") << "an older answer came late";
  EXPECT_EQ(first_ip(book.learn("a:1", Resolution{})), "10.0.0.1") << "a failed lookup";
  const auto held = book.addresses("a:1");  // as a connect walking the list holds it
  EXPECT_EQ(first_ip(book.learn("a:1", answer("10.0.0.3", 3))), "10.0.0.3");
  EXPECT_EQ(held->front().address().to_string(), "10.0.0.1") << "the list under a connect changed";
  EXPECT_TRUE(book.addresses("b:1")->empty());
}

TEST(AddressBook, AWorkerKeepsWhatItLearnedAcrossSnapshots) {
  WorkerState worker;
  auto first = worker.bind(*snapshot_with(answer("10.0.0.1", 1)));
  const Resolution* entry = first->upstreams[0].addresses[0];
  EXPECT_EQ(first_ip(*entry), "10.0.0.1");

  worker.learn_addresses("app.internal:8080", answer("10.0.0.2", 2));  // the monitor's post
  EXPECT_EQ(first_ip(*entry), "10.0.0.2") << "a connection on the first snapshot connects with today's answer";

  auto failed = worker.bind(*snapshot_with(Resolution{}));  // a reload whose lookup failed
  EXPECT_EQ(first_ip(*failed->upstreams[0].addresses[0]), "10.0.0.2");
  auto older = worker.bind(*snapshot_with(answer("10.0.0.9", 0)));  // built before the monitor's answer
  EXPECT_EQ(first_ip(*older->upstreams[0].addresses[0]), "10.0.0.2");
  auto newer = worker.bind(*snapshot_with(answer("10.0.0.3", 3)));  // a reload's fresh lookup
  EXPECT_EQ(first_ip(*newer->upstreams[0].addresses[0]), "10.0.0.3");
  EXPECT_EQ(first_ip(*entry), "10.0.0.3") << "one entry per endpoint, whichever snapshot bound it";
}

TEST(AddressBook, ABuiltInEndpointHasNoAddresses) {
  Snapshot snap;
  UpstreamRuntime up;
  up.name = "who";
  Endpoint ep;
  ep.kind = Endpoint::Kind::builtin_whoami;
  ep.label = "builtin:whoami";
  up.endpoints.push_back(std::move(ep));
  snap.upstreams.push_back(std::move(up));
  WorkerState worker;
  EXPECT_EQ(worker.bind(snap)->upstreams[0].addresses[0], nullptr);
}

}  // namespace
}  // namespace gatehouse::proxy
