#include "proxy/worker_state.hpp"

#include "proxy/snapshot.hpp"

namespace gatehouse::proxy {
namespace {

template <typename Map, typename Key>
auto* find_or_make(Map& map, Key&& key) {
  auto& slot = map[std::forward<Key>(key)];
  if (!slot) slot = std::make_unique<typename Map::mapped_type::element_type>();
  return slot.get();
}

}  // namespace

std::shared_ptr<const SnapshotState> WorkerState::bind(const Snapshot& snapshot) {
  auto bound = std::make_shared<SnapshotState>();
  std::lock_guard lock(structure_);
  for (const auto& up : snapshot.upstreams) {
    std::vector<std::string> endpoints;
    for (const auto& ep : up.endpoints) endpoints.push_back(ep.label);
    PoolState* pool = find_or_make(pools_, std::pair{up.name, std::move(endpoints)});
    UpstreamState& state = bound->upstreams.emplace_back(UpstreamState{pool, find_or_make(upstreams_, up.name), {}});
    for (const auto& ep : up.endpoints)
      state.addresses.push_back(ep.kind == Endpoint::Kind::tcp ? &addresses_.learn(ep.label, ep.resolved) : nullptr);
  }
  for (const auto& listener : snapshot.listeners) {
    auto& slots = bound->routes.emplace_back();
    for (const auto& route : listener.settings.routes)
      slots.push_back(find_or_make(routes_, std::pair{listener.settings.name, route.name}));
    slots.push_back(find_or_make(routes_, std::pair{listener.settings.name, std::string()}));
  }
  return bound;
}

}  // namespace gatehouse::proxy
