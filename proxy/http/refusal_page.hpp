// What an http-mode client is told when Gatehouse answers instead of the upstream: with
// verify = "optional", why its certificate was not accepted and what to do, in plain words
// (HTML for browsers, JSON for API clients); and the protocol errors (400, 408, 421, 431, 502).
// The reason keyword is the one in the access log and the metrics. Nothing about the policy
// (rules, other users) is shown.
#pragma once

#include <cstdint>
#include <string>

#include "common/reason.hpp"
#include "conf/settings.hpp"

namespace gatehouse::proxy::http {

struct Refusal {
  gatehouse::Reason reason = gatehouse::Reason::no_certificate;
  std::string route;            // the service the client asked for (policy_denied)
  std::string issuer;           // who issued the certificate it sent, if any
  std::int64_t not_before = 0;  // of the certificate it sent
  std::int64_t not_after = 0;
  std::string contact;    // [listener.http] contact: whom to ask
  std::string reference;  // "2026-12-05 14:03 UTC, ref 1-2f": what to quote (the log line's time and id)
  std::string path;       // the path a per-request rule refused (policy_denied), else empty
};

struct Response {
  int status = 0;
  std::string reason_phrase;
  std::string content_type;
  std::string body;
  std::string summary;  // the same in one line of plain words (a gRPC client's grpc-message)
};

int refusal_status(gatehouse::Reason reason, conf::RefusalCodes codes);
Response refusal_response(const Refusal& refusal, conf::RefusalCodes codes, bool json);
// "2026-12-05 14:03 UTC, ref 1-2f": the time and the access log's connection id.
std::string refusal_reference(std::int64_t when, const std::string& connection_id);
// A short page for an error Gatehouse answers itself; `keyword` names it in the JSON form.
Response error_response(int status, const std::string& keyword, const std::string& message, bool json);
// The whole HTTP/1.1 response; `close` adds "Connection: close".
std::string serialize(const Response& response, bool close);
// True when the Accept header prefers JSON over HTML.
bool wants_json(const std::string* accept);

}  // namespace gatehouse::proxy::http
