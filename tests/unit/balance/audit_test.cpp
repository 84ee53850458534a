// The audit log: the line of one migration, the plan id, and the file's
// behaviour under log rotation and concurrent writers.
#include "balance/audit.h"

#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace pvekit::balance {
namespace {

MoveResult migration(MoveOutcome outcome, std::string message = "") {
  Move m{.vmid = 104, .name = "db1", .type = GuestType::Lxc, .from = "pve1", .to = "pve3",
         .reason = MoveReason::Balance, .online = false, .memory_bytes = 2ull << 30, .local_disk_bytes = 1ull << 30};
  return MoveResult{m, outcome, "UPID:pve1:00001234:00000001:65700000:vzmigrate:104:root@pam:", std::move(message),
                    42.5};
}

const AuditContext kContext{.plan_id = "20261207T064852.123Z-0000abcd", .cluster = "prod", .by = "daemon"};

TEST(AuditRecord, ASucceededMigrationSaysWhatWhereWhyAndHowMuch) {
  auto j = audit_record(migration(MoveOutcome::Done), kContext, 1'765'090'132.25, 1'765'090'174.75);
  EXPECT_EQ(j["started"], "2025-12-07T06:48:52.250Z");
  EXPECT_EQ(j["finished"], "2025-12-07T06:49:34.750Z");
  EXPECT_EQ(j["cluster"], "prod");
  EXPECT_EQ(j["plan_id"], kContext.plan_id);
  EXPECT_EQ(j["by"], "daemon");
  EXPECT_EQ(j["vmid"], 104);
  EXPECT_EQ(j["name"], "db1");
  EXPECT_EQ(j["type"], "lxc");
  EXPECT_EQ(j["from"], "pve1");
  EXPECT_EQ(j["to"], "pve3");
  EXPECT_EQ(j["reason"], "balance");
  EXPECT_EQ(j["result"], "done");
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_DOUBLE_EQ(j["gib_moved"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["duration_seconds"].get<double>(), 42.5);
  EXPECT_EQ(j["upid"], "UPID:pve1:00001234:00000001:65700000:vzmigrate:104:root@pam:");
}

TEST(AuditRecord, AFailedMigrationCarriesItsErrorAndMovedNothing) {
  auto j = audit_record(migration(MoveOutcome::Failed, "migration aborted: guest is locked"), kContext, 10, 20);
  EXPECT_EQ(j["result"], "failed");
  EXPECT_EQ(j["error"], "migration aborted: guest is locked");
  EXPECT_EQ(j["gib_moved"], 0.0);
}

TEST(AuditRecord, HostileNamesStayOneJsonLine) {
  auto r = migration(MoveOutcome::Failed, "line one\nline two\r\n{\"fake\": true}");
  r.move.name = "evil\n{\"vmid\": 1}\x01\xff";
  std::string line = audit_record(r, kContext, 1, 2).dump(-1, ' ', false, core::Json::error_handler_t::replace);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = core::Json::parse(line);
  EXPECT_EQ(back["vmid"], 104);
}

TEST(PlanId, IsSortableTimeAndRandomBits) {
  std::string a = new_plan_id(1'765'090'132.25), b = new_plan_id(1'765'090'132.25);
  EXPECT_TRUE(std::regex_match(a, std::regex(R"(20251207T064852\.250Z-[0-9a-f]{8})"))) << a;
  EXPECT_NE(a, b);
}

TEST(Rfc3339Utc, RoundsMillisecondsWithoutShowingOneThousand) {
  EXPECT_EQ(rfc3339_utc(0.9996), "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(rfc3339_utc(86399.5), "1970-01-01T23:59:59.500Z");
}

class AuditLogTest : public ::testing::Test {
 protected:
  testing::TempDir dir_{"audit"};
  std::string path_ = dir_.path() + "/log/proxlb/audit.jsonl";

  std::vector<core::Json> lines(const std::string& rel = "log/proxlb/audit.jsonl") {
    std::vector<core::Json> out;
    std::istringstream in(dir_.read(rel));
    for (std::string line; std::getline(in, line);) out.push_back(core::Json::parse(line));
    return out;
  }
};

TEST_F(AuditLogTest, CreatesItsDirectoryAndAppendsOneLinePerRecord) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  ASSERT_TRUE((*log)->append({{"vmid", 1}}).ok());
  ASSERT_TRUE((*log)->append({{"vmid", 2}}).ok());
  auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["vmid"], 2);
  struct stat st{};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(AuditLogTest, FollowsLogRotationByRenameAndReopen) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->append({{"vmid", 1}}).ok());
  std::filesystem::rename(path_, path_ + ".1");  // logrotate without copytruncate
  ASSERT_TRUE((*log)->append({{"vmid", 2}}).ok());
  EXPECT_EQ(lines("log/proxlb/audit.jsonl.1").size(), 1u);
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_EQ(lines()[0]["vmid"], 2);
  std::filesystem::rename(path_, path_ + ".2");
  ASSERT_TRUE((*log)->reopen().ok());  // SIGHUP
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(AuditLogTest, ConcurrentWritersNeverInterleaveWithinALine) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) (void)(*log)->append({{"writer", t}, {"i", i}, {"pad", std::string(3000, 'x')}});
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(lines().size(), 200u);  // every line parses as JSON
}

TEST_F(AuditLogTest, ASymlinkAtThePathIsNotFollowed) {
  dir_.write("target", "keep");
  std::filesystem::create_directories(dir_.path() + "/log/proxlb");
  std::filesystem::create_symlink(dir_.path() + "/target", path_);
  auto log = AuditLog::open(path_);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().to_string().find(path_), std::string::npos);
  EXPECT_EQ(dir_.read("target"), "keep");
}

TEST_F(AuditLogTest, TailReturnsTheLastLinesOldestFirst) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->append({{"i", i}}).ok());
  auto tail = (*log)->tail(3);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ(core::Json::parse((*tail)[0])["i"], 7);
  EXPECT_EQ(core::Json::parse((*tail)[2])["i"], 9);
}

// Records what it is told, for the decorator's forwarding.
struct Recorder final : ProgressSink {
  int started = 0, finished = 0;
  void wave_started(size_t, size_t, size_t) override {}
  void move_started(const Move&, const std::string&) override { ++started; }
  void move_finished(const MoveResult&) override { ++finished; }
};

TEST_F(AuditLogTest, AuditingProgressWritesEndedMigrationsNotDryRunSkips) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log.ok());
  core::ManualClock clock(1'765'090'000.0);
  Recorder inner;
  AuditingProgress progress(inner, log->get(), kContext, clock);
  auto done = migration(MoveOutcome::Done);
  progress.move_started(done.move, done.upid);
  clock.advance(std::chrono::seconds(42));
  progress.move_finished(done);
  progress.move_finished(migration(MoveOutcome::Skipped, "dry run"));
  progress.move_finished(migration(MoveOutcome::Failed, "500 guest is locked"));  // refused at the request
  EXPECT_EQ(inner.started, 1);
  EXPECT_EQ(inner.finished, 3);
  auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["started"], "2025-12-07T06:46:40.000Z");
  EXPECT_EQ(all[0]["finished"], "2025-12-07T06:47:22.000Z");
  EXPECT_EQ(all[1]["result"], "failed");
}

}  // namespace
}  // namespace pvekit::balance
