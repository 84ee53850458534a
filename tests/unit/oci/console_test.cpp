#include "oci/linux/console.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pvekit::oci::linux {
namespace {

TEST(Console, DescriptorTravelsOverTheSocket) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  ASSERT_TRUE(send_fd(a.get(), wr.get(), "/dev/pts/0").ok());
  auto got = recv_fd(b.get());
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_NE(got->get(), wr.get());
  wr.reset();
  ASSERT_EQ(::write(got->get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(rd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x') << "the received descriptor is the pipe's write end";
}

TEST(Console, PeerClosingWithoutADescriptorIsAnError) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  a.reset();
  auto got = recv_fd(b.get());
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().to_string().find("exited before sending"), std::string::npos);
}

TEST(Console, ConnectToAMissingSocketNamesIt) {
  auto r = connect_console_socket("/nonexistent/console.sock");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("/nonexistent/console.sock"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci::linux
