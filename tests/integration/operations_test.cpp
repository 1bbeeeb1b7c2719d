// Operating a running Gatehouse: dropping root after start-up, reloading on SIGHUP, POST
// /reload and file changes, and handing a port to a new instance without a failed connection.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/support/command.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/proxy_harness.hpp"
#include "tests/support/running_binary.hpp"
#include "tests/support/test_pki.hpp"

namespace gatehouse::test {
namespace {

const std::string kBinary = kGatehouseBinary;

TEST(Operations, RunDropsToTheGivenUserAfterLoadingRootOnlyKeys) {
  if (::geteuid() != 0) GTEST_SKIP() << "--user needs the test to run as root (CI does)";
  ProxyHarness h;
  std::string text = h.config_text(ProxyConfig{});
  text.replace(text.find("level = \"warn\""), 14, "level = \"info\"");
  auto file = h.dir().write("drop.toml", text);
  for (const auto& entry : std::filesystem::directory_iterator(h.dir().path()))
    if (entry.path().extension() == ".key") ::chmod(entry.path().c_str(), 0600);  // root's alone

  auto unknown = run_command(kBinary + " run -c " + file.string() + " --user no-such-user-here");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("no user named 'no-such-user-here'"), std::string::npos) << unknown.output;

  Running running;
  start_binary(file.string(), running, {"--user", "nobody"});
  ASSERT_GT(running.pid, 0);
  ASSERT_NE(running.port, 0) << running.seen;
  const std::string nobody = std::to_string(::getpwnam("nobody")->pw_uid);
  EXPECT_EQ(status_line(running.pid, "Uid"), "Uid:\t" + nobody + "\t" + nobody + "\t" + nobody + "\t" + nobody);
  EXPECT_TRUE(wait_for_output(running, "running as user 'nobody'")) << running.seen;

  ClientOptions opt = h.client();
  opt.port = running.port;
  TlsClient client(opt);
  ASSERT_TRUE(client.connect()) << client.error();  // the keys were loaded before the drop
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_NE(client.read_all().value_or("").find("Hello, alice"), std::string::npos);
}

TEST(Operations, RunReloadsOnSighupAndOnPostReload) {
  ProxyHarness h;
  ProxyConfig deny;
  deny.routes = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";
  auto file = h.dir().write("reload.toml", info_level(h.config_text(ProxyConfig{})));
  Running running;
  start_binary(file.string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  ASSERT_NE(running.admin_port, 0) << running.ready.dump();
  const std::string admin_port = std::to_string(running.admin_port);
  auto alice_gets_in = [&] { return alice_visits(h, running.port) != "refused"; };
  ASSERT_TRUE(alice_gets_in());

  h.dir().write("reload.toml", info_level(h.config_text(deny)));
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(running.wait_for_event("reloaded", 2)) << running.seen;
  EXPECT_FALSE(alice_gets_in());

  h.dir().write("reload.toml", "[[listener]\n");  // broken: POST /reload says so, nothing changes
  auto post = [&] {
    return run_command("curl -s -w ' HTTP %{http_code}' -X POST -H 'X-Gatehouse-Admin: 1' http://127.0.0.1:" +
                       admin_port + "/reload")
        .output;
  };
  std::string refused = post();
  EXPECT_NE(refused.find("HTTP 422"), std::string::npos) << refused;
  EXPECT_NE(refused.find("reload failed, still serving generation 2"), std::string::npos) << refused;
  EXPECT_NE(refused.find("reload.toml:1"), std::string::npos) << refused;
  EXPECT_FALSE(alice_gets_in());

  h.dir().write("reload.toml", info_level(h.config_text(ProxyConfig{})));
  std::string ok = post();
  EXPECT_NE(ok.find("reloaded: serving generation 3\n HTTP 200"), std::string::npos) << ok;
  EXPECT_TRUE(alice_gets_in());
}

// Zero-downtime upgrades rely on the kernel handing a closing listener's queued connections to
// the other listeners on the port (net.ipv4.tcp_migrate_req, Linux 5.14+): set for the test and
// put back after it.
struct MigrateRequests {
  static constexpr const char* kPath = "/proc/sys/net/ipv4/tcp_migrate_req";
  std::string before;
  bool on = false;
  MigrateRequests() {
    std::ifstream(kPath) >> before;
    std::ofstream(kPath) << "1";
    std::string now;
    std::ifstream(kPath) >> now;
    on = now == "1";
  }
  ~MigrateRequests() {
    if (!before.empty()) std::ofstream(kPath) << before;
  }
};

TEST(Operations, AReloadMovesTheAccessLogToAnotherFileOrTurnsItOffAndOn) {
  ProxyHarness h;
  auto with_log = [&](const std::string& file) {
    std::string text = info_level(h.config_text(ProxyConfig{}));
    return text.replace(text.find("level = \"info\""), 14, "level = \"info\"\naccess = \"" + file + "\"");
  };
  auto config = h.dir().write("log.toml", with_log("first.log"));
  Running running;
  start_binary(config.string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  auto request = [&] { return alice_visits(h, running.port) != "refused"; };
  auto count_lines = [&](const std::string& name) {
    std::ifstream in(h.dir().path() / name);
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  };
  auto lines_in = [&](const std::string& name, size_t want) {  // the writer thread's batch comes within 20 ms
    eventually([&] { return count_lines(name) >= want; }, std::chrono::seconds(5));
    return count_lines(name);
  };
  ASSERT_TRUE(request());
  EXPECT_EQ(lines_in("first.log", 1), 1u);

  h.dir().write("log.toml", with_log("second.log"));
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(running.wait_for_event("reloaded", 2)) << running.seen;
  ASSERT_TRUE(request());
  EXPECT_EQ(lines_in("second.log", 1), 1u);
  EXPECT_EQ(lines_in("first.log", 1), 1u);  // nothing more went to the old file

  h.dir().write("log.toml", with_log("no-such-folder/third.log"));  // cannot be opened: refused
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(wait_for_output(running, "cannot open access log")) << running.seen;
  ASSERT_TRUE(request());
  EXPECT_EQ(lines_in("second.log", 2), 2u);

  // Off, then on again, without a restart.
  std::string off = info_level(h.config_text(ProxyConfig{}));
  h.dir().write("log.toml", off.replace(off.find("level = \"info\""), 14, "level = \"info\"\naccess = \"off\""));
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(running.wait_for_event("reloaded", 3)) << running.seen;
  ASSERT_TRUE(request());
  h.dir().write("log.toml", with_log("third.log"));
  ::kill(running.pid, SIGHUP);
  ASSERT_TRUE(running.wait_for_event("reloaded", 4)) << running.seen;
  ASSERT_TRUE(request());
  EXPECT_EQ(lines_in("third.log", 1), 1u);   // only the request made after it was turned on
  EXPECT_EQ(lines_in("second.log", 2), 2u);  // and nothing while it was off
}

TEST(Operations, ANewInstanceTakesOverThePortWithoutAFailedConnection) {
  MigrateRequests migrate;
  if (!migrate.on) GTEST_SKIP() << "cannot set net.ipv4.tcp_migrate_req (needs root and Linux 5.14+)";
  ProxyHarness h;
  Running old_one;
  start_binary(h.dir().write("old.toml", info_level(h.config_text(ProxyConfig{}))).string(), old_one);
  ASSERT_NE(old_one.port, 0) << old_one.seen;

  // Continuous handshakes and requests from two threads while the new instance comes and the
  // old one goes.
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::string first_failure;
  std::mutex failure_mutex;
  auto client_loop = [&] {
    while (!stop) {
      ClientOptions opt = h.client();
      opt.port = old_one.port;
      TlsClient client(opt);
      bool good = client.connect() && client.send("GET / HTTP/1.0\r\n\r\n") &&
                  client.read_all().value_or("").find("Hello, alice") != std::string::npos;
      if (good) {
        ++ok;
      } else {
        std::lock_guard lock(failure_mutex);
        if (failed++ == 0) first_failure = client.error();
      }
    }
  };
  auto wait_for_more = [&](int more) {
    const int target = ok + more;
    eventually([&] { return ok >= target || failed != 0; });
  };
  std::thread a(client_loop), b(client_loop);
  wait_for_more(50);

  ProxyConfig same_port;
  same_port.listen = "127.0.0.1:" + std::to_string(old_one.port);
  Running new_one;
  start_binary(h.dir().write("new.toml", info_level(h.config_text(same_port))).string(), new_one);
  EXPECT_EQ(new_one.port, old_one.port) << new_one.seen;  // serving at once, next to the old one
  wait_for_more(50);

  ::kill(old_one.pid, SIGTERM);  // stops accepting, drains, exits
  int status = 0;
  EXPECT_EQ(::waitpid(old_one.pid, &status, 0), old_one.pid);
  old_one.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  wait_for_more(100);  // all of these on the new instance
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GE(ok.load(), 200);
}

TEST(Operations, WatchReloadsWhenFilesAreRenamedIntoPlaceOrTheirSymlinksSwapped) {
  ProxyHarness h;
  namespace fs = std::filesystem;
  const fs::path dir = h.dir().path();
  // The server certificate the Kubernetes way: secret/tls.crt -> ..data/tls.crt, ..data -> v1.
  fs::create_directories(dir / "secret" / "v1");
  fs::copy_file(dir / "server-ecdsa.pem", dir / "secret" / "v1" / "tls.crt");
  fs::copy_file(dir / "server-ecdsa.key", dir / "secret" / "v1" / "tls.key");
  fs::create_directory_symlink("v1", dir / "secret" / "..data");
  fs::create_symlink("..data/tls.crt", dir / "secret" / "tls.crt");
  fs::create_symlink("..data/tls.key", dir / "secret" / "tls.key");
  auto text = [&](const ProxyConfig& c) {
    std::string t = info_level(h.config_text(c));
    t.replace(t.find("[server]\n"), 9, "[server]\nwatch = true\n");
    const std::string cert = "\"server-ecdsa.pem\", key = \"server-ecdsa.key\"";
    return t.replace(t.find(cert), cert.size(), "\"secret/tls.crt\", key = \"secret/tls.key\"");
  };
  auto config = h.dir().write("watch.toml", text(ProxyConfig{}));
  Running running;
  start_binary(config.string(), running);
  ASSERT_NE(running.port, 0) << running.seen;
  auto server_subject = [&] { return alice_visits(h, running.port); };
  ASSERT_NE(server_subject(), "refused");

  // 1. The config itself, written elsewhere and renamed over the old one.
  ProxyConfig deny;
  deny.routes = "  [[listener.route]]\n  upstream = \"app\"\n  deny = [ { cn = \"alice\" } ]\n";
  h.dir().write("watch.toml.new", text(deny));
  fs::rename(dir / "watch.toml.new", config);
  ASSERT_TRUE(running.wait_for_event("reloaded", 2)) << running.seen;
  EXPECT_EQ(server_subject(), "refused");
  h.dir().write("watch.toml.new", text(ProxyConfig{}));
  fs::rename(dir / "watch.toml.new", config);
  ASSERT_TRUE(running.wait_for_event("reloaded", 3)) << running.seen;

  // 2. A new certificate: a new folder, then the ..data symlink swapped atomically.
  tls::pki::CertSpec spec{.cn = "localhost",
                          .o = {"Rotated"},
                          .sans = {"dns:localhost", "ip:127.0.0.1"},
                          .purpose = tls::pki::Purpose::server};
  Cert next = make_leaf(spec, &h.intermediate());
  fs::create_directories(dir / "secret" / "v2");
  write_chain(h.dir(), "secret/v2/tls.crt", {&next, &h.intermediate()});
  write_key(h.dir(), "secret/v2/tls.key", next);
  fs::create_directory_symlink("v2", dir / "secret" / "..data_tmp");
  fs::rename(dir / "secret" / "..data_tmp", dir / "secret" / "..data");
  ASSERT_TRUE(running.wait_for_event("reloaded", 4)) << running.seen;
  EXPECT_NE(server_subject().find("O=Rotated"), std::string::npos);

  // 3. Files nobody named change in the same folders: no reload.
  h.dir().write("unrelated.txt", "hello");
  ASSERT_TRUE(wait_for_output(running, "none of its own: no reload")) << running.seen;
  ::kill(running.pid, SIGTERM);
  ASSERT_TRUE(wait_for_output(running, "stopped")) << running.seen;
  EXPECT_EQ(running.seen.find("generation 5"), std::string::npos) << running.seen;
  EXPECT_EQ(running.events().back()["generation"], 4) << running.events().back().dump();
}

}  // namespace
}  // namespace gatehouse::test
