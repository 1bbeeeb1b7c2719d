// Issue 16, "the identity boundary, proven": each HTTP attack of the attack pass, replayed byte
// for byte by a client holding a valid certificate (alice), through the real proxy, in front of
// three real upstreams: Node.js 20's `http` server, Python's `http.server` (as a small app uses
// it, lenient header parsing included) and a raw C++ upstream that records every byte and parses
// it with a strict reference parser. Each test asserts the client's answer, the access-log line,
// and that each upstream received exactly the requests Gatehouse authorized, each with one
// X-Client-CN (alice's) and none of the client's spoofed fields in any spelling.
//
// Against the old proxy (61f8a5a, http-parser, heads edited in place) these fail: it dropped a
// field named in Connection but kept forwarding the body it framed (the upstream read the body as
// a second request with the forged identity: SmugglingViaConnection*), accepted whitespace before
// the colon (http-parser's lenient header names), forwarded absolute-form targets with the
// client's Host, compared an untrimmed Host with the routes, forwarded trailers verbatim, only
// matched identity names with '-' (X_Client_CN went through), tunnelled any 101 and any Upgrade
// (h2c included) and forwarded Transfer-Encoding lists and HTTP/1.9 heads as they came.
//
// DesyncProperty: a few hundred generated client byte streams; what the raw upstream received
// must parse strictly into exactly the requests the access log says were forwarded.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "tests/support/proxy_harness.hpp"
#include "tests/support/reference_http.hpp"

namespace gatehouse::test {
namespace {

using namespace std::string_literals;

const std::string kSmuggled =
    "GET /smuggled HTTP/1.1\r\nHost: localhost\r\nX-Client-CN: bob-SPOOF\r\n"
    "X-Forwarded-Client-Cert: Hash=SPOOF;Subject=\"CN=bob\"\r\n\r\n";

std::string hex(std::size_t n) {
  std::ostringstream s;
  s << std::hex << n;
  return s.str();
}

// ---- What an upstream received, whichever upstream it was ----

struct Got {
  std::string method, target;
  FieldList headers, trailers;
  std::size_t body_bytes = 0;
  bool upgrade = false;

  std::vector<std::string> all(std::string_view normalized) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
      if (normalized_name(n) == normalized) out.push_back(v);
    return out;
  }
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual std::string endpoint() const = 0;
  virtual std::vector<Got> requests() const = 0;
  virtual std::vector<std::string> errors() const = 0;  // requests its parser refused
};

class RawUpstream : public Upstream {
 public:
  std::string endpoint() const override { return rec_.endpoint(); }
  std::vector<Got> requests() const override {
    std::vector<Got> out;
    for (const auto& c : rec_.connections())
      for (const auto& r : c.requests)
        out.push_back({r.method, r.target, r.headers, r.trailers, r.body.size(), r.upgrade});
    return out;
  }
  std::vector<std::string> errors() const override {
    std::vector<std::string> out;
    for (const auto& c : rec_.connections())
      if (!c.error.empty()) out.push_back(c.error + " in: " + c.bytes);
    return out;
  }

 private:
  RecordingUpstream rec_;
};

// node_recorder.js or python_recorder.py, started on port 0; killed by its PID at the end.
class ScriptUpstream : public Upstream {
 public:
  ScriptUpstream(const std::string& interpreter, const std::string& script) {
    record_ = dir_ / "requests.jsonl";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      std::string path = std::string(GATEHOUSE_SOURCE_DIR) + "/tests/upstreams/" + script;
      std::string rec = record_.string();
      ::execl(interpreter.c_str(), interpreter.c_str(), path.c_str(), rec.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos &&
           ::poll(&p, 1, 20000) > 0) {  // python starts slowly on a busy machine
      char buf[64];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (line.find('\n') != std::string::npos) port_ = std::stoi(line);
  }
  ~ScriptUpstream() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return port_ > 0; }
  std::string endpoint() const override { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(record_);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(nlohmann::json::parse(l));
    return out;
  }
  std::vector<Got> requests() const override {
    std::vector<Got> out;
    for (const auto& j : lines()) {
      if (j.contains("error")) continue;
      Got g{j["method"], j["url"], {}, {}, j["body_bytes"], j.value("upgrade", false)};
      for (const auto& h : j["headers"]) g.headers.emplace_back(h[0], h[1]);
      for (const auto& h : j["trailers"]) g.trailers.emplace_back(h[0], h[1]);
      out.push_back(std::move(g));
    }
    return out;
  }
  std::vector<std::string> errors() const override {
    std::vector<std::string> out;
    for (const auto& j : lines())
      if (j.contains("error")) out.push_back(j["error"].dump());
    return out;
  }

 private:
  TempDir dir_;
  std::filesystem::path record_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// ---- Reading what the client got back ----

// The statuses of the responses in `text`, in order (bodies skipped by Content-Length; a 101
// or a response without a length ends the list).
std::vector<int> statuses(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos < text.size() && text.compare(pos, 7, "HTTP/1.") == 0) {
    auto end = text.find("\r\n\r\n", pos);
    if (end == std::string::npos) break;
    std::string head = text.substr(pos, end - pos);
    int status = std::atoi(head.c_str() + 9);
    out.push_back(status);
    if (status == 101) break;
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto cl = lower.find("\r\ncontent-length:");
    if (cl == std::string::npos) break;
    pos = end + 4 + std::stoull(lower.substr(cl + 17));
  }
  return out;
}

// Identity and framing names a client may never get to the upstream (normalized spellings).
const std::set<std::string> kSpoofable = {
    "x-client-cn",        "x-client-subject",  "x-client-fingerprint", "x-client-serial",
    "x-client-not-after", "x-client-issuer",   "x-client-san",         "x-forwarded-client-cert",
    "client-cert",        "client-cert-chain", "x-forwarded-for",      "x-forwarded-proto",
    "forwarded",          "x-real-ip",         "x-forwarded-host"};
const std::set<std::string> kNeverTrailers = {"host", "content-length", "transfer-encoding", "connection", "trailer",
                                              "te",   "upgrade"};

// Every check a forwarded request must pass: one Host, one X-Client-CN (alice), one XFCC of ours,
// no field a client spoofed (values carry "SPOOF") and no identity or framing trailer.
void expect_authorized_shape(const Got& g, const std::string& where) {
  SCOPED_TRACE(where + " " + g.method + " " + g.target);
  EXPECT_EQ(g.all("host").size(), 1u);
  EXPECT_EQ(g.all("x-client-cn"), std::vector<std::string>{"alice"});
  auto xfcc = g.all("x-forwarded-client-cert");
  ASSERT_EQ(xfcc.size(), 1u);
  EXPECT_TRUE(xfcc[0].starts_with("Hash=")) << xfcc[0];
  for (const auto& [n, v] : g.headers) {
    EXPECT_EQ(v.find("SPOOF"), std::string::npos) << n << ": " << v;
    if (kSpoofable.count(normalized_name(n))) {
      EXPECT_EQ(g.all(normalized_name(n)).size(), 1u) << n;
    }
  }
  for (const auto& [n, v] : g.trailers) {
    EXPECT_EQ(kSpoofable.count(normalized_name(n)) + kNeverTrailers.count(normalized_name(n)), 0u) << "trailer " << n;
    EXPECT_FALSE(normalized_name(n).starts_with("x-client-")) << "trailer " << n;
    EXPECT_EQ(v.find("SPOOF"), std::string::npos) << "trailer " << n << ": " << v;
  }
}

// ---- The fixture: one upstream of the kind under test, Gatehouse in http mode before it ----

class Boundary : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string kind = GetParam();
    if (kind == "raw") {
      up_ = std::make_unique<RawUpstream>();
    } else {
      std::string interp = kind == "node" ? "/usr/bin/node" : "/usr/bin/python3";
      if (::access(interp.c_str(), X_OK) != 0) GTEST_SKIP() << interp << " is not installed (scripts/install-deps.sh)";
      auto s = std::make_unique<ScriptUpstream>(interp, kind == "node" ? "node_recorder.js" : "python_recorder.py");
      ASSERT_TRUE(s->ok()) << kind << " upstream did not print its port";
      up_ = std::move(s);
    }
  }

  // Routes: "other.test" is a route of its own; everything else (SNI localhost) is the default.
  void start(const std::string& http_extra = "") {
    ProxyConfig c;
    c.endpoints = {up_->endpoint()};
    c.listener_extra = "mode = \"http\"";
    c.http_extra = http_extra;
    c.routes =
        "  [[listener.route]]\n  name = \"other\"\n  sni = [\"other.test\"]\n  upstream = \"app\"\n"
        "  [[listener.route]]\n  name = \"main\"\n  upstream = \"app\"\n";
    proxy_.start(c);
  }

  // Sends `bytes` on a new connection and reads until Gatehouse closes (or the guard fires).
  std::string exchange(const std::string& bytes, bool close_send = false) {
    TlsClient client(proxy_.client());
    EXPECT_TRUE(client.connect()) << client.error();
    client.send(bytes);
    if (close_send) client.close_send();
    std::string got;
    for (;;) {
      auto more = client.read_some();
      if (!more || more->empty()) break;
      got += *more;
    }
    return got;
  }

  // The next access-log line (after those already seen) whose close starts with `prefix`.
  nlohmann::json logged(const std::string& prefix) {
    for (std::size_t n = seen_ + 1;; ++n) {
      auto lines = proxy_.wait_for_log(n, 10000);
      if (lines.size() < n) break;
      for (std::size_t i = seen_; i < lines.size(); ++i) {
        std::string close = lines[i].value("close", "");
        if (close.starts_with(prefix)) {
          seen_ = i + 1;
          return lines[i];
        }
      }
    }
    ADD_FAILURE() << "no access-log line closing with \"" << prefix << "\"";
    return {};
  }

  // A refused attack: the answer's status (one of `allowed`), its words, its log line.
  void expect_refused(const std::string& bytes, const std::set<int>& allowed, const std::string& log_close,
                      const std::string& words = "", bool close_send = false) {
    std::string got = exchange(bytes, close_send);
    auto st = statuses(got);
    ASSERT_EQ(st.size(), 1u) << got;
    EXPECT_TRUE(allowed.count(st[0])) << got;
    if (!words.empty()) {
      EXPECT_NE(got.find(words), std::string::npos) << got;
    }
    auto line = logged(log_close);
    EXPECT_EQ(line.value("status", 0), st[0]);
    EXPECT_EQ(line.value("subject", ""), "CN=alice,OU=testers,O=Acme Test");
  }

  // A plain request after the attacks: answered by the upstream, and the list is not vacuous.
  void legit(const std::string& target) {
    std::string got = exchange("GET " + target +
                               " HTTP/1.1\r\nHost: localhost\r\nX-Client-CN: mallory-SPOOF\r\n"
                               "Connection: close\r\n\r\n");
    EXPECT_EQ(statuses(got), std::vector<int>{200}) << got;
    logged("done");
  }

  // The upstream got exactly these targets, in order, each with our identity and nothing spoofed.
  // `cut_short`: a request was cut off mid-body (Node reports that as HPE_INVALID_EOF_STATE).
  void expect_upstream_got(const std::vector<std::string>& targets, bool cut_short = false) {
    auto got = up_->requests();
    std::vector<std::string> seen;
    for (const auto& g : got) seen.push_back(g.target);
    EXPECT_EQ(seen, targets);
    for (const auto& g : got) expect_authorized_shape(g, GetParam());
    auto errors = up_->errors();
    if (cut_short)
      std::erase_if(errors, [](const std::string& e) { return e.find("HPE_INVALID_EOF_STATE") != std::string::npos; });
    EXPECT_EQ(errors, std::vector<std::string>{});
  }

  std::unique_ptr<Upstream> up_;
  ProxyHarness proxy_;
  std::size_t seen_ = 0;
};

// 1. Connection naming a framing or routing field: the old proxy removed the field and kept the
// body, which the upstream then read as a second request carrying bob's identity.
TEST_P(Boundary, SmugglingViaConnectionNamingFramingOrHostIsRefused) {
  start();
  expect_refused("POST /a HTTP/1.1\r\nHost: localhost\r\nConnection: Content-Length\r\nContent-Length: " +
                     std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled,
                 {400}, "bad_request", "Connection may not name");
  expect_refused(
      "POST /a HTTP/1.1\r\nHost: localhost\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n" +
          hex(kSmuggled.size()) + "\r\n" + kSmuggled + "\r\n0\r\n\r\n",
      {400}, "bad_request", "Connection may not name");
  expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, Host\r\n\r\n", {400}, "bad_request",
                 "Connection may not name");
  expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: X_Client_CN\r\nX-Client-CN: bob-SPOOF\r\n\r\n",
                 {400}, "bad_request", "Connection may not name");
  legit("/after");
  expect_upstream_got({"/after"});
}

// 2. Whitespace between a field name and its colon (RFC 9112 5.1: MUST reject with 400).
TEST_P(Boundary, WhitespaceBeforeTheColonIsRefused) {
  start();
  expect_refused("POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length : " + std::to_string(kSmuggled.size()) +
                     "\r\n\r\n" + kSmuggled,
                 {400}, "bad_request");
  for (std::string name : {"X-Forwarded-Client-Cert", "Client-Cert", "Forwarded", "X-Forwarded-For", "X-Client-CN"}) {
    SCOPED_TRACE(name);
    expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\n" + name + " : SPOOF\r\nConnection: close\r\n\r\n", {400},
                   "bad_request");
    expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\n" + name + "\t: SPOOF\r\nConnection: close\r\n\r\n", {400},
                   "bad_request");
  }
  legit("/after");
  expect_upstream_got({"/after"});
}

// 5. Host and SNI: the absolute-form authority wins (and is what the route is checked against);
// a Host with trailing whitespace is the host without it; two Hosts are refused.
TEST_P(Boundary, AbsoluteFormAuthorityWinsOverHost) {
  start();
  std::string port = std::to_string(proxy_.port());
  std::string got = exchange("GET http://localhost:" + port +
                             "/abs?q=1 HTTP/1.1\r\nHost: other.test\r\n"
                             "Connection: close\r\n\r\n");
  EXPECT_EQ(statuses(got), std::vector<int>{200}) << got;
  auto line = logged("done");
  EXPECT_EQ(line.value("host", ""), "localhost");
  expect_refused("GET http://other.test/x HTTP/1.1\r\nHost: localhost\r\n\r\n", {421}, "misdirected_request");
  expect_refused("GET HTTP://OTHER.TEST./x HTTP/1.1\r\nHost: localhost\r\n\r\n", {421}, "misdirected_request");
  expect_upstream_got({"/abs?q=1"});
  auto req = up_->requests().at(0);
  EXPECT_EQ(req.all("host"), std::vector<std::string>{"localhost:" + port});
}

TEST_P(Boundary, HostWithTrailingWhitespaceOrTwiceCannotLeaveTheRoute) {
  start();
  expect_refused("GET /a HTTP/1.1\r\nHost: other.test \r\n\r\n", {421}, "misdirected_request");
  expect_refused("GET /a HTTP/1.1\r\nHost: other.test\t\r\n\r\n", {421}, "misdirected_request");
  expect_refused("GET /a HTTP/1.1\r\nHost: other.test.\r\n\r\n", {421}, "misdirected_request");
  expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\nHost: other.test\r\n\r\n", {400}, "bad_request", "one Host");
  expect_refused("GET /a HTTP/1.1\r\nHost: localhost, other.test\r\n\r\n", {400}, "bad_request");
  expect_refused("GET /a HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n", {400}, "bad_request", "one Host");
  // Issue 17: the names compare without case, and an HTTP/1.0 request is held to one Host too.
  expect_refused("GET /a HTTP/1.1\r\nhost: localhost\r\nHOST: other.test\r\n\r\n", {400}, "bad_request", "one Host");
  expect_refused("GET /a HTTP/1.0\r\nHost: localhost\r\nHost: other.test\r\n\r\n", {400}, "bad_request", "one Host");
  legit("/after");
  expect_upstream_got({"/after"});
}

// 6. Trailers: identity, Host and framing fields in a chunked body's trailers never arrive.
std::string chunked_with_trailers() {
  return "POST /t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
         "5\r\nhello\r\n0\r\nX-Client-CN: bob-SPOOF\r\nX_Client_CN: bob-SPOOF\r\nX-Forwarded-Client-Cert: SPOOF\r\n"
         "Host: other.test\r\nContent-Length: 999\r\nConnection: close\r\nX-Client-Subject: CN=bob-SPOOF\r\n"
         "X-Benign: yes\r\n\r\n";
}

TEST_P(Boundary, TrailersAreDroppedByDefault) {
  start();
  std::string got = exchange(chunked_with_trailers());
  EXPECT_EQ(statuses(got), std::vector<int>{200}) << got;
  logged("done");
  expect_upstream_got({"/t"});
  auto req = up_->requests().at(0);
  EXPECT_EQ(req.body_bytes, 5u);
  EXPECT_EQ(req.trailers, FieldList{});
}

TEST_P(Boundary, AllowedTrailersPassOnlyTheListedNeverTheProtected) {
  start("  allowed_trailers = [\"X-Benign\"]\n");
  std::string got = exchange(chunked_with_trailers());
  EXPECT_EQ(statuses(got), std::vector<int>{200}) << got;
  logged("done");
  expect_upstream_got({"/t"});
  auto req = up_->requests().at(0);
  EXPECT_EQ(req.body_bytes, 5u);
  EXPECT_EQ(req.trailers, (FieldList{{"X-Benign", "yes"}}));
}

// A Transfer-Encoding trailer is an error in llhttp (strict): the head went upstream already, so
// the exchange ends, at once. Found by DesyncProperty: when the whole body came with the head,
// the body failed before the response was awaited, the cancel missed it, and the connection hung
// until idle_timeout (5 min) with the upstream waiting for the rest of the body.
TEST_P(Boundary, InvalidTrailerEndsTheExchangeAtOnce) {
  start();
  TlsClient client(proxy_.client());
  ASSERT_TRUE(client.connect()) << client.error();
  client.send(
      "POST /t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
      "Transfer-Encoding: chunked\r\nX-Client-CN: bob-SPOOF\r\n\r\n");
  std::string got;
  for (;;) {  // the client's 10 s guard would end a hang; Gatehouse must close well before
    auto more = client.read_some();
    if (!more || more->empty()) break;
    got += *more;
  }
  EXPECT_TRUE(client.peer_closed()) << client.error();
  auto line = logged("client_error");
  EXPECT_NE(line.value("detail", "").find("bad request body"), std::string::npos) << line.dump();
  EXPECT_LT(line.value("duration_ms", 1e9), 5000.0) << line.dump();
  legit("/after");
  expect_upstream_got({"/after"}, true);  // the cut-short POST never completed upstream
}

// 7. Upgrades: h2c never; a 101 naming a protocol nobody asked for is not tunnelled; WebSocket is.
TEST_P(Boundary, H2cUpgradeIsRefused) {
  start();
  expect_refused(
      "GET /h2 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      {400}, "bad_request", "h2c");
  expect_refused("GET /h2 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket, h2c\r\n\r\n", {400},
                 "bad_request", "h2c");
  legit("/after");
  expect_upstream_got({"/after"});
}

const std::string kWebSocketHead =
    "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nX-Client-CN: bob-SPOOF\r\nX_Client_CN: bob-SPOOF\r\n\r\n";

TEST_P(Boundary, UpgradeAnsweredWithAnotherProtocolIsNotTunnelled) {
  start();
  // What follows the head would be HTTP/2 frames in the hijacked tunnel.
  std::string got = exchange("GET /wrong-upgrade HTTP/1.1\r\n" + kWebSocketHead);
  EXPECT_EQ(statuses(got), std::vector<int>{502}) << got;
  auto line = logged("upstream_error");
  EXPECT_NE(line.value("detail", "").find("to a protocol the request did not ask for"), std::string::npos)
      << line.dump();
  expect_upstream_got({"/wrong-upgrade"});
}

TEST_P(Boundary, WebSocketStillTunnels) {
  start();
  TlsClient client(proxy_.client());
  ASSERT_TRUE(client.connect()) << client.error();
  ASSERT_TRUE(client.send("GET /ws HTTP/1.1\r\n" + kWebSocketHead));
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) {
    auto more = client.read_some();
    ASSERT_TRUE(more && !more->empty()) << client.error() << got;
    got += *more;
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 101", 0), 0u) << got;
  EXPECT_NE(got.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << got;
  std::string rest = got.substr(got.find("\r\n\r\n") + 4);
  const std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";  // masked "Hello" (RFC 6455 5.7)
  ASSERT_TRUE(client.send(frame));
  while (rest.size() < frame.size()) {
    auto more = client.read_some();
    ASSERT_TRUE(more && !more->empty()) << client.error();
    rest += *more;
  }
  EXPECT_EQ(rest, frame);  // these upstreams echo the tunnel's bytes
  client.close_send();
  logged("");
  expect_upstream_got({"/ws"});
}

// 11. Underscore spellings of identity fields never arrive (CGI, WSGI, PHP, Rack read them as
// X-Client-CN); invalid Transfer-Encoding and other HTTP versions are refused before anything
// goes upstream.
TEST_P(Boundary, UnderscoreIdentitySpellingsAreNeverForwarded) {
  start();
  std::string got = exchange(
      "GET /u HTTP/1.1\r\nHost: localhost\r\nX_Client_CN: admin-SPOOF\r\n"
      "X_Forwarded_Client_Cert: Hash=SPOOF\r\nx_client_subject: CN=admin-SPOOF\r\n"
      "X-CLIENT-cn: admin-SPOOF\r\nClient_Cert: :SPOOF:\r\nX_Forwarded_For: SPOOF\r\n"
      "X_Real_IP: SPOOF\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statuses(got), std::vector<int>{200}) << got;
  logged("done");
  expect_upstream_got({"/u"});
}

TEST_P(Boundary, InvalidTransferEncodingIsRefusedBeforeAnythingIsForwarded) {
  start();
  std::string body = hex(kSmuggled.size()) + "\r\n" + kSmuggled + "\r\n0\r\n\r\n";
  for (std::string te :
       {"gzip, chunked", "chunked, chunked", "identity", "chunked, identity", "chunked\r\nTransfer-Encoding: chunked",
        "gzip\r\nTransfer-Encoding: chunked", "xchunked", "chunked\r\nContent-Length: 3"}) {
    SCOPED_TRACE(te);
    expect_refused("POST /te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: " + te + "\r\n\r\n" + body, {400, 501},
                   "bad_request");
  }
  legit("/after");
  expect_upstream_got({"/after"});
}

TEST_P(Boundary, OtherHttpVersionsAreRefused) {
  start();
  expect_refused("GET / HTTP/1.9\r\nHost: localhost\r\n\r\n", {505, 400}, "bad_request");
  expect_refused("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", {505, 400}, "bad_request");
  expect_refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {505, 400}, "bad_request");
  expect_refused("GET / HTTP/0.9\r\nHost: localhost\r\n\r\n", {505, 400}, "bad_request");
  expect_refused("GET /\r\n\r\n", {505, 400}, "bad_request", "", true);  // HTTP/0.9's simple request
  legit("/after");
  expect_upstream_got({"/after"});
}

INSTANTIATE_TEST_SUITE_P(Upstreams, Boundary, ::testing::Values("node", "python", "raw"),
                         [](const auto& param_info) { return param_info.param; });

// ---- The no-desync property ----

// Client byte streams from a grammar of pipelined requests, odd framing and spoofed identity.
class StreamGrammar {
 public:
  StreamGrammar(std::uint64_t seed, std::uint16_t port) : rng_(seed), port_(std::to_string(port)) {}

  std::string stream() {
    std::string out;
    int n = 1 + pick(4);
    for (int i = 0; i < n; ++i) out += request(i == n - 1);
    return out;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return pick(100) < percent; }
  template <typename T>
  const T& one(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))];
  }

  std::string smuggle_body(std::size_t n) {
    std::string b = kSmuggled;
    while (b.size() < n) b += kSmuggled;
    return b.substr(0, n);
  }

  std::string chunked_body(const std::string& data) {
    std::string out;
    std::size_t pos = 0;
    while (pos < data.size()) {
      std::size_t len = std::min<std::size_t>(data.size() - pos, 1 + static_cast<std::size_t>(pick(20)));
      out += hex(len) + (chance(10) ? ";ext=1" : "") + "\r\n" + data.substr(pos, len) + "\r\n";
      pos += len;
    }
    out += "0\r\n";
    int trailers = chance(40) ? 1 + pick(3) : 0;
    for (int i = 0; i < trailers; ++i)
      out += one<std::string>({"X-Benign", "X-Client-CN", "X_Client_CN", "Host", "Content-Length", "Transfer-Encoding",
                               "X-Forwarded-Client-Cert", "Connection", "x-client-subject"}) +
             ": SPOOF-" + std::to_string(pick(1000)) + "\r\n";
    return out + "\r\n";
  }

  std::string spoofed_field() {
    std::string name =
        one<std::string>({"X-Client-CN", "x_client_cn", "X-CLIENT-CN", "X-Client_Subject", "X-Forwarded-Client-Cert",
                          "x_forwarded_client_cert", "Client-Cert", "Client_Cert", "X-Forwarded-For", "Forwarded",
                          "X-Real-IP", "X-Client-Fingerprint", "X-Forwarded-Proto", "x-client-verified"});
    return name + (chance(5) ? " :" : ":") + (chance(50) ? " " : "") + "SPOOF-" + std::to_string(pick(1000)) + "\r\n";
  }

  std::string garbage() {
    switch (pick(9)) {
      case 0:
        return "GET / HTTP/1.9\r\nHost: localhost\r\n\r\n";
      case 1:
        return "GET /\r\n\r\n";
      case 2:
        return "GET / HTTP/1.1\nHost: localhost\n\n";
      case 3:
        return "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\n folded\r\n\r\n";
      case 4:
        return "\x16\x03\x01\x00\x05hello"s;
      case 5:
        return "GET / HTTP/1.1\r\nHost: localhost\rX-A: 1\r\n\r\n";
      case 6:
        return "G\0T / HTTP/1.1\r\nHost: localhost\r\n\r\n"s;
      case 7:
        return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      default: {
        std::string s;
        for (int i = 0, n = 1 + pick(40); i < n; ++i) s += static_cast<char>(pick(256));
        return s + "\r\n\r\n";
      }
    }
  }

  std::string request(bool last) {
    if (chance(5)) return garbage();
    std::string method =
        one<std::string>({"GET", "GET", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT"});
    std::string version = chance(90) ? "HTTP/1.1" : one<std::string>({"HTTP/1.0", "HTTP/1.0", "HTTP/1.9", "HTTP/2.0"});
    std::string target = "/p" + std::to_string(pick(1000)) + (chance(30) ? "?q=" + std::to_string(pick(100)) : "");
    if (chance(15))
      target = one<std::string>({"http://localhost:" + port_ + target, "http://LOCALHOST" + target,
                                 "http://other.test" + target, "https://localhost." + target,
                                 "http://user@localhost" + target, "http://localhost", "http://localhost?x=1",
                                 "ftp://localhost/x"});
    if (method == "OPTIONS" && chance(30)) target = "*";
    std::string head = method + " " + target + " " + version + "\r\n";
    std::vector<std::string> fields;
    switch (pick(12)) {
      case 0:
        break;  // no Host
      case 1:
        fields.push_back("Host: other.test\r\n");
        break;
      case 2:
        fields.push_back(
            one<std::string>({"Host: other.test \r\n", "Host: other.test\t\r\n", "Host: OTHER.test.\r\n"}));
        break;
      case 3:
        fields.push_back("Host: localhost\r\n");
        fields.push_back("Host: " + one<std::string>({"localhost", "other.test"}) + "\r\n");
        break;
      case 4:
        fields.push_back("Host: localhost:" + port_ + "\r\n");
        break;
      case 5:
        fields.push_back(
            one<std::string>({"Host : localhost\r\n", "Host: local host\r\n", "Host: [::1]\r\n", "Host:\r\n"}));
        break;
      default:
        fields.push_back("Host: localhost\r\n");
    }
    for (int i = 0, n = chance(50) ? 1 + pick(3) : 0; i < n; ++i) fields.push_back(spoofed_field());
    if (chance(30)) fields.push_back("X-Request: " + std::to_string(pick(1000)) + "\r\n");
    std::string connection;
    if (chance(25)) {
      std::vector<std::string> tokens = {
          "close",       "keep-alive",  "X-Request", "Content-Length", "Transfer-Encoding", "Host",
          "X-Client-CN", "x_client_cn", "TE",        "Upgrade",        "Trailer",           "X-Forwarded-For"};
      for (int i = 0, n = 1 + pick(2); i < n; ++i) connection += (connection.empty() ? "" : ", ") + one(tokens);
    }
    if (last && chance(50)) connection += std::string(connection.empty() ? "" : ", ") + "close";
    std::string body;
    bool upgrade = false;
    int framing = pick(100);
    std::string data = smuggle_body(static_cast<std::size_t>(pick(3) == 0 ? 0 : pick(120)));
    if (framing < 35) {
      // no body
    } else if (framing < 55) {
      fields.push_back("Content-Length: " + std::to_string(data.size()) + "\r\n");
      body = data;
    } else if (framing < 70) {
      fields.push_back(one<std::string>(
          {"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: Chunked\r\n", "transfer-encoding:chunked \r\n"}));
      body = chunked_body(data);
    } else if (framing < 92) {
      std::string n = std::to_string(data.size());
      switch (pick(16)) {
        case 0:
          fields.push_back("Content-Length: " + n + "\r\nContent-Length: " + n + "\r\n");
          body = data;
          break;
        case 1:
          fields.push_back("Content-Length: " + n + "\r\nContent-Length: " + std::to_string(data.size() / 2) + "\r\n");
          body = data;
          break;
        case 2:
          fields.push_back("Content-Length: " + n + "\r\nTransfer-Encoding: chunked\r\n");
          body = chunked_body(data);
          break;
        case 3:
          fields.push_back("Transfer-Encoding: " +
                           one<std::string>({"gzip, chunked", "chunked, chunked", "identity", "chunked, gzip",
                                             "xchunked", "chunked;q=1"}) +
                           "\r\n");
          body = chunked_body(data);
          break;
        case 4:
          fields.push_back("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n");
          body = chunked_body(data);
          break;
        case 5:
          fields.push_back("Content-Length : " + n + "\r\n");
          body = data;
          break;
        case 6:
          fields.push_back("Content_Length: " + n + "\r\n");
          body = data;
          break;
        case 7:
          fields.push_back("Transfer_Encoding: chunked\r\n");
          body = chunked_body(data);
          break;
        case 8:
          fields.push_back("Content-Length: +" + n + "\r\n");
          body = data;
          break;
        case 9:
          fields.push_back("Content-Length: " + n + ", " + n + "\r\n");
          body = data;
          break;
        case 10:
          fields.push_back("Content-Length: 0x" + hex(data.size()) + "\r\n");
          body = data;
          break;
        case 11:
          fields.push_back("Transfer-Encoding: chunked\r\n");
          body = " " + hex(data.size() + 1) + " \r\n" + data + "\r\n0\r\n\r\n";
          break;
        case 12:
          fields.push_back("Transfer-Encoding: chunked\r\n");
          body = "ffffffffffffffffffff\r\n" + data;
          break;
        case 13:
          fields.push_back("Transfer-Encoding: chunked\r\n");
          body = hex(data.size()) + "\n" + data + "\n0\n\n";
          break;
        case 14:
          fields.push_back("Content-Length: " + n + "\r\n");
          body = data + "\r\n";
          break;
        default:
          fields.push_back("Transfer-Encoding:\tchunked\r\n");
          body = chunked_body(data);
          break;
      }
    } else {
      upgrade = true;
      std::string proto = one<std::string>({"websocket", "websocket", "h2c", "WebSocket/13", "foo"});
      fields.push_back("Upgrade: " + proto + "\r\n");
      connection += std::string(connection.empty() ? "" : ", ") +
                    one<std::string>({"Upgrade", "upgrade", "Upgrade, HTTP2-Settings"});
      if (proto == "h2c") fields.push_back("HTTP2-Settings: AAMAAABkAAQAAP__\r\n");
      fields.push_back("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
      if (chance(20)) {
        fields.push_back("Content-Length: " + std::to_string(data.size()) + "\r\n");
        body = data;
      }
    }
    if (!connection.empty()) fields.push_back("Connection: " + connection + "\r\n");
    std::shuffle(fields.begin(), fields.end(), rng_);
    for (const auto& f : fields) head += f;
    (void)upgrade;
    return head + "\r\n" + body;
  }

  std::mt19937_64 rng_;
  std::string port_;
};

// The origin-form Gatehouse forwards for a logged target.
std::string origin_form(const std::string& method, const std::string& target) {
  auto scheme = target.find("://");
  if (target.starts_with("/") || target == "*" || scheme == std::string::npos) return target;
  auto path = target.find_first_of("/?", scheme + 3);
  if (path == std::string::npos) return method == "OPTIONS" ? "*" : "/";
  std::string rest = target.substr(path);
  return rest.front() == '?' ? "/" + rest : rest;
}

std::string host_of(const std::string& authority) {
  std::string h = authority.starts_with("[") ? authority.substr(0, authority.find(']') + 1)
                                             : authority.substr(0, authority.rfind(':'));
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h.size() > 1 && h.back() == '.') h.pop_back();
  return h;
}

// Log closes of requests Gatehouse answered itself: nothing of them went upstream.
const std::set<std::string> kNotForwarded = {
    "bad_request", "misdirected_request", "method_not_allowed", "request_head_too_large", "head_timeout", "refused"};

TEST(DesyncProperty, UpstreamSeesExactlyTheRequestsTheLogAuthorized) {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("GATEHOUSE_DESYNC_SEED")) seed = std::stoull(s);
    // About 30 s for 300 streams on 2 busy cores; sanitizer builds run fewer to stay under ctest's 120 s.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const int default_streams = 100;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  const int default_streams = 100;
#else
  const int default_streams = 300;
#endif
#else
  const int default_streams = 300;
#endif
  const char* streams_env = std::getenv("GATEHOUSE_DESYNC_STREAMS");
  const int streams = streams_env ? std::atoi(streams_env) : default_streams;
  RecordingUpstream up;
  ProxyHarness proxy;
  ProxyConfig c;
  c.endpoints = {up.endpoint()};
  c.listener_extra = "mode = \"http\"";
  c.routes =
      "  [[listener.route]]\n  name = \"other\"\n  sni = [\"other.test\"]\n  upstream = \"app\"\n"
      "  [[listener.route]]\n  name = \"main\"\n  upstream = \"app\"\n";
  proxy.start(c);
  StreamGrammar grammar(seed, proxy.port());
  std::size_t seen = 0;
  int forwarded_total = 0, refused_total = 0;
  for (int iteration = 0; iteration < streams && !::testing::Test::HasFailure(); ++iteration) {
    std::string stream = grammar.stream();
    SCOPED_TRACE("GATEHOUSE_DESYNC_SEED=" + std::to_string(seed) + " stream " + std::to_string(iteration) + ":\n" +
                 stream);
    {
      TlsClient client(proxy.client());
      ASSERT_TRUE(client.connect()) << client.error();
      client.send(stream);
      client.close_send();
      for (;;) {
        auto more = client.read_some();
        if (!more || more->empty()) break;
      }
    }
    ASSERT_TRUE(proxy.wait_until_no_connections());
    // A sentinel request marks the end of this stream's log lines (one worker, one queue).
    std::string sentinel = "/sentinel-" + std::to_string(iteration);
    {
      TlsClient client(proxy.client());
      ASSERT_TRUE(client.connect()) << client.error();
      client.send("GET " + sentinel + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      auto got = client.read_all();
      ASSERT_TRUE(got && got->starts_with("HTTP/1.1 200")) << (got ? *got : client.error());
    }
    std::vector<nlohmann::json> lines;
    for (std::size_t n = seen + 1;; ++n) {
      lines = proxy.wait_for_log(n, 10000);
      ASSERT_GE(lines.size(), n) << "the sentinel's log line never came";
      if (lines.back().value("target", "") == sentinel) break;
    }
    ASSERT_TRUE(up.wait_all_closed());
    std::vector<nlohmann::json> authorized;
    for (std::size_t i = seen; i + 1 < lines.size(); ++i) {
      const auto& l = lines[i];
      if (!l.contains("method")) continue;  // a connection without a request
      if (kNotForwarded.count(l.value("close", ""))) {
        ++refused_total;
        continue;
      }
      authorized.push_back(l);
    }
    seen = lines.size();
    // What the upstream parsed, connection by connection, plus a cut-short request at the end.
    struct Item {
      RefRequest request;
      bool complete;
    };
    std::vector<Item> received;
    for (const auto& conn : up.connections()) {
      EXPECT_EQ(conn.error, "") << "the upstream could not parse what it received:\n" << conn.bytes;
      for (const auto& r : conn.requests)
        if (!r.target.starts_with("/sentinel-")) received.push_back({r, true});
      if (!conn.leftover.empty()) {
        RefRequest partial;
        std::string why;
        std::size_t pos = 0;
        ref_parse(conn.leftover, pos, partial, why);
        received.push_back({partial, false});
      }
    }
    up.clear();
    ASSERT_EQ(received.size(), authorized.size()) << [&] {
      std::string s = "authorized by the log:\n";
      for (const auto& l : authorized) s += "  " + l.dump() + "\n";
      s += "received upstream:\n";
      for (const auto& r : received)
        s += "  " + r.request.method + " " + r.request.target + (r.complete ? "\n" : " (cut short)\n");
      return s;
    }();
    for (std::size_t i = 0; i < received.size(); ++i) {
      const auto& log = authorized[i];
      const auto& r = received[i].request;
      SCOPED_TRACE("request " + std::to_string(i) + " logged as " + log.dump());
      EXPECT_EQ(r.method, log.value("method", ""));
      EXPECT_EQ(r.target, origin_form(log.value("method", ""), log.value("target", "")));
      auto hosts = r.all("host");
      ASSERT_EQ(hosts.size(), 1u);
      EXPECT_EQ(host_of(hosts[0]), log.value("host", ""));
      std::string close = log.value("close", "");
      if (received[i].complete) {
        if (!r.upgrade) {
          EXPECT_EQ(close, "done");
          EXPECT_EQ(r.wire_body, log.value("bytes_client_to_upstream", 0u));
        }
      } else {
        EXPECT_NE(close, "done") << "the log says done; the upstream got it cut short";
      }
      Got g{r.method, r.target, r.headers, r.trailers, r.body.size(), r.upgrade};
      expect_authorized_shape(g, "desync");
      ++forwarded_total;
    }
  }
  std::cout << "seed " << seed << ": " << streams << " streams, " << forwarded_total << " requests forwarded, "
            << refused_total << " refused\n";
  // The grammar is not vacuous: on average about a third of the streams' requests get through and
  // as many are refused. The floor sits far below that mean (seed 3062660758 forwarded 22 of 100
  // streams under ASan), so only a grammar that stopped producing one kind can trip it.
  EXPECT_GT(forwarded_total, streams / 10);
  EXPECT_GT(refused_total, streams / 10);
}

}  // namespace
}  // namespace gatehouse::test
