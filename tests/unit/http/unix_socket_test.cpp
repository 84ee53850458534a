// http::Server on a unix socket (proxlb's status API): the socket file's
// mode, a stale socket of a killed server, a live one, and paths an attacker
// could prepare (a symlink, a file in the way).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "http/server.h"
#include "support/temp_dir.h"

namespace pvekit::http {
namespace {

int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends `request` and reads until the server closes (Connection: close).
std::string round_trip(const std::string& path, const std::string& request) {
  int fd = connect_unix(path);
  if (fd < 0) return "";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) reply.append(chunk, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

class UnixSocketTest : public ::testing::Test {
 protected:
  core::Status start(Limits limits = {}) {
    server_ = std::make_unique<Server>(ServerOptions{.unix_socket = path_, .io_threads = 1, .worker_threads = 1,
                                                     .limits = limits},
                                       [](const Request& r) { return Response{.body = "you asked for " + r.path}; });
    auto bound = server_->bind();
    if (!bound) return std::move(bound).error();
    thread_ = std::thread([this] { (void)server_->serve(); });
    return core::ok();
  }
  void stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  void TearDown() override { stop(); }

  testing::TempDir dir_{"unix-socket"};
  std::string path_ = dir_.path() + "/run/status.sock";  // its directory is made by bind()
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(UnixSocketTest, ServesHttpWithMode0660AndRemovesTheSocketWhenDone) {
  auto started = start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  struct stat st{};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  auto reply = round_trip(path_, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK") << reply;
  EXPECT_NE(reply.find("you asked for /status"), std::string::npos);
  stop();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(UnixSocketTest, AStaleSocketOfAKilledServerIsReplaced) {
  std::filesystem::create_directories(dir_.path() + "/run");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // as a SIGKILL leaves it: the file stays, nobody listens
  auto started = start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  EXPECT_NE(round_trip(path_, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").find("you asked for /x"),
            std::string::npos);
}

TEST_F(UnixSocketTest, ASocketALiveServerAnswersOnIsRefused) {
  ASSERT_TRUE(start().ok());
  Server second(ServerOptions{.unix_socket = path_}, [](const Request&) { return Response{}; });
  auto bound = second.bind();
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().to_string().find("another process is serving on it"), std::string::npos)
      << bound.error().to_string();
  // The first server still has its socket.
  EXPECT_NE(round_trip(path_, "GET /y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").find("you asked for /y"),
            std::string::npos);
}

TEST_F(UnixSocketTest, ASymlinkAtThePathIsRefusedAndNotFollowed) {
  dir_.write("elsewhere/target", "precious");
  std::filesystem::create_directories(dir_.path() + "/run");
  std::filesystem::create_symlink(dir_.path() + "/elsewhere/target", path_);
  auto started = start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().to_string().find("symbolic link"), std::string::npos) << started.error().to_string();
  EXPECT_EQ(dir_.read("elsewhere/target"), "precious");
  EXPECT_TRUE(std::filesystem::is_symlink(path_));
}

TEST_F(UnixSocketTest, AFileInTheWayIsNotRemoved) {
  dir_.write("run/status.sock", "not a socket");
  auto started = start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().to_string().find("not a socket"), std::string::npos) << started.error().to_string();
  EXPECT_EQ(dir_.read("run/status.sock"), "not a socket");
}

TEST_F(UnixSocketTest, OversizedRequestsAreRefused) {
  Limits limits;
  limits.max_body_bytes = 4096;
  limits.max_header_bytes = 8192;
  ASSERT_TRUE(start(limits).ok());
  auto big_body = round_trip(path_, "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                                      std::string(100000, 'a'));
  EXPECT_EQ(big_body.substr(0, 12), "HTTP/1.1 413") << big_body.substr(0, 80);
  auto big_header = round_trip(path_, "GET /status HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(20000, 'b') +
                                        "\r\n\r\n");
  EXPECT_EQ(big_header.substr(0, 12), "HTTP/1.1 431") << big_header.substr(0, 80);
}

TEST_F(UnixSocketTest, APathTooLongForAUnixSocketIsAnError) {
  path_ = dir_.path() + "/" + std::string(120, 'p');
  auto started = start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().to_string().find("too long"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::http
