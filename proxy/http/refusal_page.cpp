#include "proxy/http/refusal_page.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "proxy/http/reason_phrase.hpp"
#include "tls/identity.hpp"

namespace gatehouse::proxy::http {
namespace {

struct Explanation {
  std::string title;
  std::string what_happened;
  std::string what_to_do;
  std::vector<std::string> steps;  // one line each, shown as a list
  std::string contact, reference;  // whom to ask and what to quote (refusals only)
};

std::string day(std::int64_t t) {
  std::string s = tls::iso8601(t);  // 2027-02-28T12:00:00Z
  return s.size() >= 16 ? s.substr(0, 10) + " " + s.substr(11, 5) + " UTC" : s;
}

Explanation explain(const Refusal& r) {
  using gatehouse::Reason;
  switch (r.reason) {
    case Reason::no_certificate:
      return {"A client certificate is needed",
              "This site only lets in people who have a certificate from its administrators, and your browser "
              "did not present one.",
              "Install the .p12 file you were sent (its password comes separately), restart the browser and open "
              "this page again. When the browser asks which certificate to use, pick that one.",
              // Each step is one string split over lines, not a missing comma.
              // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
              {"Chrome or Edge on Windows: double-click the .p12 file and follow the Certificate Import Wizard "
               "(Current User), entering the password.",
               "macOS (Safari, Chrome, Edge): double-click the .p12 file, add it to the \"login\" keychain and "
               "enter the password.",
               "Firefox: Settings > Privacy & Security > Certificates > View Certificates > Your Certificates > "
               "Import..., then choose the .p12 file.",
               "Chrome on Linux: Settings > Privacy and security > Security > Manage certificates > Your "
               "certificates > Import.",
               "curl: curl --cacert root.pem --cert you.pem --key you.key https://...",
               "Already installed it? Quit the browser completely and open it again: browsers remember the "
               "choice they made until then. If it still is not offered, look at it in the browser's certificate "
               "list: it may have expired, or have been made for another site."}};
    case Reason::expired:
      return {"Your certificate has expired",
              "The certificate your browser presented expired on " + day(r.not_after) + ".",
              "Ask the administrators of this site for a new certificate and install it as you did the first "
              "one. You can then remove the old one.",
              {}};
    case Reason::not_yet_valid:
      return {"Your certificate is not valid yet",
              "The certificate your browser presented is only valid from " + day(r.not_before) + ".",
              "Check that your computer's date and time are right. If they are, try again after that date or ask "
              "the administrators for a certificate that is valid now.",
              {}};
    case Reason::revoked:
      return {"Your certificate has been revoked",
              "The administrators of this site have withdrawn (revoked) the certificate your browser presented, "
              "so it no longer opens this site.",
              "If you were sent a new certificate, install it and choose it when the browser asks. If you think "
              "this is a mistake, contact the administrators.",
              {}};
    case Reason::crl_unavailable:
      return {"This site cannot check certificates right now",
              "This is not your fault: your certificate may well be fine, but the list of withdrawn certificates "
              "this site checks against is out of date, so it cannot let anyone in at the moment.",
              "Try again later. If it lasts, tell the administrators of this site that its certificate "
              "revocation list (CRL) needs renewing.",
              {}};
    case Reason::untrusted_issuer:
      return {"This certificate is from another organisation",
              "The certificate your browser presented was issued by " +
                  (r.issuer.empty() ? std::string("a certificate authority") : "\"" + r.issuer + "\"") +
                  ", which this site does not accept.",
              "You probably picked the wrong certificate. Restart the browser, open this page again and choose the "
              "certificate you received from this site's administrators.",
              {}};
    case Reason::incomplete_chain:
      return {"Part of your certificate is missing",
              "The certificate your browser presented was issued by an intermediate authority that this site "
              "cannot find; the certificate file you installed is probably incomplete.",
              "Install the full .p12 file you were sent (it contains the intermediate), or ask the administrators "
              "for one.",
              {}};
    case Reason::wrong_usage:
      return {"This certificate is not meant for logging in",
              "The certificate your browser presented is not made for identifying a person or service to a website "
              "(it lacks the \"client authentication\" usage).",
              "Choose the certificate you received from this site's administrators, or ask them for one.",
              {}};
    case Reason::policy_denied:
      return {"You are not allowed on this service",
              "Your certificate is valid, but it does not give access to " +
                  (r.path.empty() ? std::string() : "\"" + r.path + "\" on ") +
                  (r.route.empty() ? std::string("this address") : "the service \"" + r.route + "\"") + ".",
              "If you need access, ask the administrators of this site to grant it to you.",
              {}};
    default:
      return {"Your certificate cannot be used here",
              "The certificate your browser presented could not be checked (" +
                  std::string(gatehouse::reason_keyword(r.reason)) + ").",
              "Ask the administrators of this site for a new certificate.",
              {}};
  }
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string phrase(int status) { return std::string(reason_phrase(status)); }

// Whom to ask and what to quote, so the administrators find the log line at once.
std::string help_paragraph(const Explanation& e) {
  if (e.reference.empty()) return "";
  std::string ask = e.contact.empty() ? "If you ask the administrators of this site for help"
                                      : "If you need help, ask " + html_escape(e.contact) + " and";
  return "<p class=\"ref\">" + ask + (e.contact.empty() ? ", quote: " : " quote: ") + "<code>" +
         html_escape(e.reference) + "</code></p>\n";
}

std::string page(int status, const std::string& keyword, const Explanation& e) {
  std::string steps;
  for (const auto& s : e.steps) steps += "<li>" + html_escape(s) + "</li>\n";
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>" +
         html_escape(e.title) +
         "</title>\n"
         "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}"
         "h1{font-size:1.4em}.why{background:#f4f4f4;border-left:4px solid #b33;padding:.5em 1em}"
         "footer{margin-top:2em;color:#777;font-size:.85em}</style></head>\n<body>\n"
         "<h1>" +
         html_escape(e.title) + "</h1>\n<p class=\"why\">" + html_escape(e.what_happened) +
         "</p>\n"
         "<p>" +
         html_escape(e.what_to_do) + "</p>\n" + (steps.empty() ? "" : "<ul>\n" + steps + "</ul>\n") +
         help_paragraph(e) + "<footer>Gatehouse &middot; " + std::to_string(status) + " &middot; reason: <code>" +
         html_escape(keyword) + "</code></footer>\n</body></html>\n";
}

Response make(int status, const std::string& keyword, const Explanation& e, bool json) {
  Response r{status, phrase(status), "", "", e.title + ": " + e.what_happened};
  if (!e.what_to_do.empty()) r.summary += " " + e.what_to_do;
  if (!e.reference.empty())
    r.summary += (e.contact.empty() ? " Reference: " : " Ask " + e.contact + ", quoting: ") + e.reference;
  if (json) {
    nlohmann::ordered_json j{{"status", status},
                             {"reason", keyword},
                             {"title", e.title},
                             {"message", e.what_happened},
                             {"what_to_do", e.what_to_do}};
    if (!e.steps.empty()) j["steps"] = e.steps;
    if (!e.contact.empty()) j["contact"] = e.contact;
    if (!e.reference.empty()) j["reference"] = e.reference;
    r.content_type = "application/json";
    r.body = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    r.content_type = "text/html; charset=utf-8";
    r.body = page(status, keyword, e);
  }
  return r;
}

}  // namespace

int refusal_status(gatehouse::Reason reason, conf::RefusalCodes codes) {
  if (codes == conf::RefusalCodes::always_403 || reason == gatehouse::Reason::policy_denied) return 403;
  if (reason == gatehouse::Reason::crl_unavailable) return 503;  // ours to fix, not the client's certificate
  return reason == gatehouse::Reason::no_certificate ? 496 : 495;
}

Response refusal_response(const Refusal& refusal, conf::RefusalCodes codes, bool json) {
  Explanation e = explain(refusal);
  e.contact = refusal.contact;
  e.reference = refusal.reference;
  return make(refusal_status(refusal.reason, codes), std::string(gatehouse::reason_keyword(refusal.reason)), e, json);
}

std::string refusal_reference(std::int64_t when, const std::string& connection_id) {
  return day(when) + ", ref " + connection_id;
}

Response error_response(int status, const std::string& keyword, const std::string& message, bool json) {
  return make(status, keyword, Explanation{phrase(status), message, "", {}}, json);
}

std::string serialize(const Response& r, bool close) {
  return "HTTP/1.1 " + std::to_string(r.status) + " " + r.reason_phrase + "\r\nContent-Type: " + r.content_type +
         "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nCache-Control: no-store\r\n" +
         (close ? "Connection: close\r\n" : "") + "Server: gatehouse\r\n\r\n" + r.body;
}

bool wants_json(const std::string* accept) {
  if (!accept) return false;
  auto json = accept->find("application/json");
  auto html = accept->find("text/html");
  return json != std::string::npos && (html == std::string::npos || json < html);
}

}  // namespace gatehouse::proxy::http
