// The admin port has no authentication, so its one write endpoint, PUT
// /debug/loglevel, answers only loopback clients unless serve is started with
// --admin-remote-writes. Checked over real sockets: the server listens on every
// address and the test connects once through loopback and once through one of the
// machine's own non-loopback addresses.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

// The first up, non-loopback IPv4 address of this machine, or nullopt.
std::optional<in_addr> own_non_loopback_address() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<in_addr> found;
  for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const in_addr a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    if ((ntohl(a.s_addr) >> 24) != 127) found = a;
  }
  ::freeifaddrs(list);
  return found;
}

struct plain_answer {
  int status = 0;
  std::string text;
};

// One HTTP/1.1 request with `Connection: close`, read to the end.
plain_answer request(in_addr host, std::uint16_t port, const std::string& method, const std::string& target) {
  plain_answer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr = host;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string rq = method + " " + target + " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n";
    if (::send(fd, rq.data(), rq.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(rq.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (answer.text.rfind("HTTP/1.1 ", 0) == 0) answer.status = std::stoi(answer.text.substr(9, 3));
  return answer;
}

in_addr loopback() {
  in_addr a{};
  a.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

class AdminWrites : public ::testing::Test {
 protected:
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
    const auto own = own_non_loopback_address();
    if (!own) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to connect from";
    remote_ = *own;
  }

  std::unique_ptr<server_process> start(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--threads", "1", "--admin-listen", "0.0.0.0:0", "--log-level", "info"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = std::make_unique<server_process>(args, dir_.path() / ("server" + std::to_string(++started_)));
    EXPECT_TRUE(server->wait_ready()) << server->log();
    return server;
  }

  temp_dir dir_;
  in_addr remote_{};
  int started_ = 0;
};

TEST_F(AdminWrites, OnlyLoopbackMayChangeTheLogLevelByDefault) {
  const auto server = start({});
  const std::uint16_t port = server->admin_port();

  plain_answer a = request(remote_, port, "PUT", "/debug/loglevel?level=debug");
  EXPECT_EQ(a.status, 403) << a.text;
  EXPECT_NE(a.text.find("--admin-remote-writes"), std::string::npos) << a.text;
  a = request(remote_, port, "GET", "/debug/loglevel");  // reading stays open
  EXPECT_EQ(a.status, 200) << a.text;
  EXPECT_NE(a.text.find("\"level\":\"info\""), std::string::npos) << "the refused PUT changed the level\n" << a.text;

  a = request(loopback(), port, "PUT", "/debug/loglevel?level=debug");
  EXPECT_EQ(a.status, 200) << a.text;
  a = request(remote_, port, "GET", "/debug/loglevel");
  EXPECT_NE(a.text.find("\"level\":\"debug\""), std::string::npos) << a.text;
}

TEST_F(AdminWrites, TheFlagOpensThemToEveryClient) {
  const auto server = start({"--admin-remote-writes"});
  const plain_answer a = request(remote_, server->admin_port(), "PUT", "/debug/loglevel?level=warn");
  EXPECT_EQ(a.status, 200) << a.text;
  EXPECT_NE(a.text.find("\"level\":\"warn\""), std::string::npos) << a.text;
}

}  // namespace
}  // namespace meshinject::test
