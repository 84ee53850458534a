#include "oci/linux/sync.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace pvekit::oci::linux {
namespace {

TEST(Sync, MessagesCrossARealSocketpair) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(send_sync(pair->parent.get(), {SyncType::Go, 0, ""}).ok());
  auto msg = recv_sync(pair->child.get());
  ASSERT_TRUE(msg.ok()) << msg.error().to_string();
  EXPECT_EQ(msg->type, SyncType::Go);
  EXPECT_TRUE(msg->payload.empty());
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Ready, 0, ""}).ok());
  EXPECT_TRUE(expect_sync(pair->parent.get(), SyncType::Ready).ok());
}

TEST(Sync, ChildErrorArrivesWithErrnoAndMessage) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    send_sync_error(pair->child.get(), core::Error::system("mount proc on /proc", EPERM).wrap("rootfs"));
    _exit(1);
  }
  pair->child.reset();
  auto s = expect_sync(pair->parent.get(), SyncType::Ready);
  ::waitpid(pid, nullptr, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno(), EPERM);
  EXPECT_EQ(s.error().to_string(), "rootfs: mount proc on /proc: Operation not permitted");
}

TEST(Sync, PeerExitWithoutReportIsAnError) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  pair->child.reset();
  auto s = expect_sync(pair->parent.get(), SyncType::Ready);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("init exited without reporting"), std::string::npos);
}

TEST(Sync, UnexpectedTypeIsAnError) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Go, 0, ""}).ok());
  auto s = expect_sync(pair->parent.get(), SyncType::Ready);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("expected ready, got go"), std::string::npos);
}

TEST(Sync, TruncatedAndGarbageMessagesAreErrors) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  uint32_t header[3] = {3, 0, 100};  // promises 100 bytes, sends 4
  ASSERT_EQ(::write(pair->child.get(), header, sizeof header), static_cast<ssize_t>(sizeof header));
  ASSERT_EQ(::write(pair->child.get(), "abcd", 4), 4);
  pair->child.reset();
  EXPECT_FALSE(recv_sync(pair->parent.get()).ok());

  auto pair2 = make_sync_pair();
  uint32_t bad[3] = {77, 0, 0};
  ASSERT_EQ(::write(pair2->child.get(), bad, sizeof bad), static_cast<ssize_t>(sizeof bad));
  auto m = recv_sync(pair2->parent.get());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().to_string().find("unknown message type 77"), std::string::npos);
}

TEST(Sync, LongPayloadIsCapped) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  std::string big(kMaxSyncPayload + 10, 'x');
  pid_t pid = ::fork();
  if (pid == 0) {
    (void)send_sync(pair->child.get(), {SyncType::Error, 0, big});
    _exit(0);
  }
  auto m = recv_sync(pair->parent.get());
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->payload.size(), kMaxSyncPayload);
}

}  // namespace
}  // namespace pvekit::oci::linux
