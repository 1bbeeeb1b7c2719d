// The admin listener on its own: every status goes out with its own code and phrase (an unknown
// one used to go out as "503 Service Unavailable"), and out of file descriptors the accept loop
// waits between tries instead of spinning a core, then serves the client that waited.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "proxy/admin/admin_server.hpp"
#include "proxy/http/reason_phrase.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sanitized.hpp"
#include "tests/support/test_upstream.hpp"

namespace gatehouse::proxy::admin {
namespace {

// Answers GET /<code> with that status.
std::unique_ptr<AdminServer> serving_statuses() {
  auto made = AdminServer::create(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), "127.0.0.1",
                                  [](const std::string&, const std::string& path, const std::string&) {
                                    return Reply{std::stoi(path.substr(1)), "text/plain; charset=utf-8", "x\n"};
                                  });
  if (!made) {
    ADD_FAILURE() << made.error();
    return nullptr;
  }
  (*made)->start();
  return std::move(*made);
}

// The status line of the answer to GET `path` on a connected `fd`.
std::string status_line_of(int fd, const std::string& path) {
  if (fd < 0) return "(no connection)";
  test::write_all_fd(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string all = test::read_until_eof(fd);
  ::close(fd);
  return all.substr(0, all.find("\r\n"));
}

TEST(AdminStatus, EveryStatusGoesOutWithItsOwnCodeAndPhrase) {
  auto server = serving_statuses();
  ASSERT_TRUE(server);
  const std::pair<int, const char*> cases[] = {
      {200, "HTTP/1.1 200 OK"},
      {404, "HTTP/1.1 404 Not Found"},
      {422, "HTTP/1.1 422 Unprocessable Content"},
      {500, "HTTP/1.1 500 Internal Server Error"},
      {503, "HTTP/1.1 503 Service Unavailable"},
      {429, "HTTP/1.1 429 Too Many Requests"},
      {418, "HTTP/1.1 418 Client Error"},  // no phrase of its own: its class's, never another code
      {299, "HTTP/1.1 299 Successful"},
  };
  for (const auto& [code, line] : cases)
    EXPECT_EQ(status_line_of(test::connect_tcp(server->port()), "/" + std::to_string(code)), line);
  server->stop();
}

TEST(AdminStatus, ACodeOutsideHttpsRangeGoesOutAs500) {
  EXPECT_EQ(http::status_line(999), "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(http::status_line(42), "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(http::reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(http::reason_phrase(599), "Server Error");
}

// The handler gets the query apart from the path, and its extra headers go out (a partial
// /clients says so in one).
TEST(AdminStatus, TheQueryReachesTheHandlerAndItsHeadersGoOut) {
  auto made = AdminServer::create(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), "127.0.0.1",
                                  [](const std::string&, const std::string& path, const std::string& query) {
                                    Reply r{200, "text/plain; charset=utf-8", path + "|" + query + "\n"};
                                    r.headers.emplace_back("Gatehouse-Partial", "1 of 2 workers did not answer");
                                    return r;
                                  });
  ASSERT_TRUE(made) << made.error();
  auto& server = *made;
  server->start();
  int fd = test::connect_tcp(server->port());
  ASSERT_GE(fd, 0);
  test::write_all_fd(fd, "GET /clients?expiring=14d&x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string all = test::read_until_eof(fd);
  ::close(fd);
  EXPECT_NE(all.find("\r\nGatehouse-Partial: 1 of 2 workers did not answer\r\n"), std::string::npos) << all;
  EXPECT_NE(all.find("\r\n\r\n/clients|expiring=14d&x\n"), std::string::npos) << all;
  server->stop();
}

// In a child process (a death test), so the descriptor limit it lowers is its own.
TEST(AdminAcceptDeathTest, OutOfDescriptorsTheLoopWaitsInsteadOfSpinning) {
  if (test::kSanitized) GTEST_SKIP() << "descriptor exhaustion is tested on the plain build";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto child = [] {
    auto server = serving_statuses();
    int client = ::socket(AF_INET, SOCK_STREAM, 0);  // ours before the descriptors run out
    timeval patience{10, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = 256;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    std::vector<int> filler;
    for (int fd; (fd = ::dup(client)) >= 0;) filler.push_back(fd);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server->port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) std::_Exit(2);
    // The kernel completed the connection; the loop's accept() now fails with EMFILE.
    test::eventually([&] { return server->accept_errors() > 0; });  // checked below
    const auto first = server->accept_errors();
    // A window to count tries in: spinning makes thousands, a 100 ms pause about five.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto tries = server->accept_errors() - first;
    for (int fd : filler) ::close(fd);
    std::string line = status_line_of(client, "/200");  // served once descriptors are back
    std::fprintf(stderr, "first=%llu tries=%llu line=%s\n", static_cast<unsigned long long>(first),
                 static_cast<unsigned long long>(tries), line.c_str());
    std::_Exit(first > 0 && tries <= 15 && line == "HTTP/1.1 200 OK" ? 0 : 1);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "line=HTTP/1.1 200 OK");
}

}  // namespace
}  // namespace gatehouse::proxy::admin
