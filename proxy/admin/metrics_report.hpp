// What the admin endpoints report: the Prometheus families (per-worker counters summed now,
// at scrape time) and the /certs listing. Label values are names from the config and reason
// keywords only, never anything a client chose.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/admin/clients_report.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/worker_context.hpp"

namespace gatehouse::proxy::admin {

struct ServerFacts {
  std::uint64_t config_generation = 1;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_error = 0;
  std::uint64_t access_log_dropped = 0;
  std::uint64_t accept_errors = 0;
  SeenCounts seen_clients;  // from the workers' tables of client certificates seen lately
};

std::string metrics_text(const Snapshot& snapshot, const std::vector<const WorkerContext*>& workers,
                         const ServerFacts& facts);
// Every certificate, CA and CRL the listeners and upstreams loaded, with days left.
std::string certs_json(const Snapshot& snapshot);

}  // namespace gatehouse::proxy::admin
