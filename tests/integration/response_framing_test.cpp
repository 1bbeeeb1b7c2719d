// The response side of the boundary: whatever framing an upstream writes on a response that
// cannot have a body (1xx, 204, 304: RFC 9112 6.3), the client gets exactly one final response
// per request, and the next request on the connection is answered at once. Found by the red-team
// pass: llhttp 8.1 alone reads those lengths as bodies, so an upstream's "150 + Content-Length"
// turned one response into two for the client, and an honest "304 + Content-Length" stalled it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/support/command.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::test {
namespace {

// Answers every request head it reads with `answer`, on one kept-alive connection.
TestUpstream::Handler answer_each_request(const std::string& answer) {
  return [answer](int fd) {
    std::string pending;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      pending.append(buf, static_cast<std::size_t>(n));
      for (auto end = pending.find("\r\n\r\n"); end != std::string::npos; end = pending.find("\r\n\r\n")) {
        pending.erase(0, end + 4);
        write_all_fd(fd, answer);
      }
    }
  };
}

CommandResult two_requests(const ProxyHarness& proxy) {
  std::string d = proxy.dir().path().string();
  std::string base = "https://localhost:" + std::to_string(proxy.port());
  return run_command("curl -sS --max-time 10 --cacert " + d + "/root.pem --cert " + d + "/alice-chain.pem --key " + d +
                     "/alice.key -w ' %{http_code}|' " + base + "/1 " + base + "/2");
}

ProxyConfig to(const TestUpstream& upstream) {
  ProxyConfig c;
  c.endpoints = {upstream.endpoint()};
  c.listener_extra = "mode = \"http\"";
  return c;
}

TEST(ResponseFraming, AnInterimResponseWithALengthCannotBecomeTwoResponses) {
  for (const std::string interim : {"100 Continue", "150 X"}) {
    // One final response per request as the framing says: the bytes after FAKE are not a response.
    TestUpstream upstream(answer_each_request("HTTP/1.1 " + interim +
                                              "\r\nContent-Length: 42\r\n\r\n"
                                              "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAKE"
                                              "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"));
    ProxyHarness proxy;
    proxy.start(to(upstream));
    auto r = two_requests(proxy);
    EXPECT_EQ(r.output, "FAKE 200|FAKE 200|") << interim;
  }
}

TEST(ResponseFraming, NoContentAndNotModifiedWithALengthDoNotStallTheNextRequest) {
  // RFC 9110 allows a Content-Length on a 304 (the size the body would have): nothing follows it.
  for (const std::string answer : {"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n",
                                   "HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n"}) {
    TestUpstream upstream(answer_each_request(answer));
    ProxyHarness proxy;
    proxy.start(to(upstream));
    auto r = two_requests(proxy);
    std::string code = answer.substr(9, 3);
    EXPECT_EQ(r.output, " " + code + "| " + code + "|") << answer;
    EXPECT_EQ(upstream.accepted(), 1) << "both requests on one upstream connection";
  }
}

TEST(ResponseFraming, ABodyAfterANoContentIsNeverTakenForTheNextResponse) {
  TestUpstream upstream(
      answer_each_request("HTTP/1.1 204 No Content\r\nContent-Length: 42\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nFAKE"));
  ProxyHarness proxy;
  proxy.start(to(upstream));
  auto r = two_requests(proxy);
  // The extra bytes end that upstream connection; the second request gets a 204 of its own.
  EXPECT_EQ(r.output, " 204| 204|");
}

TEST(ResponseFraming, AnHttp10ClientGetsAChunkedAnswerAsItsBareBody) {
  TestUpstream upstream(
      answer_each_request("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  ProxyHarness proxy;
  proxy.start(to(upstream));
  std::string d = proxy.dir().path().string();
  auto r =
      run_command("curl -sS -i --http1.0 --max-time 10 --cacert " + d + "/root.pem --cert " + d +
                  "/alice-chain.pem --key " + d + "/alice.key https://localhost:" + std::to_string(proxy.port()) + "/");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("Transfer-Encoding"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Connection: close"), std::string::npos) << r.output;
  EXPECT_TRUE(r.output.ends_with("\r\n\r\nhello world")) << r.output;
}

}  // namespace
}  // namespace gatehouse::test
