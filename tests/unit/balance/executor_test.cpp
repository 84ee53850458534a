#include "balance/executor.h"

#include <gtest/gtest.h>

#include "balance/fake_cluster.h"

namespace pvekit::balance {
namespace {

using testing::FakeCluster;

class RecordingProgress final : public ProgressSink {
 public:
  void wave_started(size_t wave, size_t, size_t) override { events.push_back("wave " + std::to_string(wave + 1)); }
  void move_started(const Move& m, const std::string&) override { events.push_back("start " + std::to_string(m.vmid)); }
  void move_finished(const MoveResult& r) override {
    events.push_back(std::string(to_string(r.outcome)) + " " + std::to_string(r.move.vmid));
  }
  std::vector<std::string> events;
};

Move move(uint32_t vmid, const std::string& from, const std::string& to, GuestType type = GuestType::Qemu,
          size_t wave = 0) {
  Move m;
  m.vmid = vmid;
  m.name = "guest" + std::to_string(vmid);
  m.type = type;
  m.from = from;
  m.to = to;
  m.online = true;
  m.wave = wave;
  return m;
}

Plan plan_of(std::vector<Move> moves) {
  Plan p;
  for (size_t i = 0; i < moves.size(); ++i) {
    if (p.waves.size() <= moves[i].wave) p.waves.resize(moves[i].wave + 1);
    p.waves[moves[i].wave].push_back(i);
  }
  p.moves = std::move(moves);
  return p;
}

// Three nodes, guests 101 (qemu) and 102 (lxc) on pve1, 103 on pve2.
FakeCluster& three_nodes(FakeCluster& c) {
  c.add_node("pve1");
  c.add_node("pve2");
  c.add_node("pve3");
  c.add_guest(101, {.node = "pve1"});
  c.add_guest(102, {.node = "pve1", .type = "lxc"});
  c.add_guest(103, {.node = "pve2"});
  return c;
}

ExecutorOptions fast_options() {
  ExecutorOptions o;
  o.poll_interval = std::chrono::seconds(1);
  o.job_timeout = std::chrono::seconds(60);
  return o;
}

TEST(Executor, DryRunTouchesNothing) {
  FakeCluster c;
  three_nodes(c);
  RecordingProgress progress;
  auto o = fast_options();
  o.dry_run = true;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(c.transport().requests().empty());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::Skipped);
  EXPECT_EQ(report->results[0].message, "dry run");
}

TEST(Executor, QemuMigratesOnlineAndContainersByRestart) {
  FakeCluster c;
  three_nodes(c);
  RecordingProgress progress;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3"), move(102, "pve1", "pve2", GuestType::Lxc, 1)}),
                        fast_options(), progress);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->done(), 2u);
  EXPECT_FALSE(report->stopped_early);
  ASSERT_EQ(c.started.size(), 2u);
  EXPECT_NE(c.started[0].find("online=1"), std::string::npos) << c.started[0];
  EXPECT_NE(c.started[0].find("with-conntrack-state=1"), std::string::npos) << c.started[0];
  EXPECT_NE(c.started[1].find("restart=1"), std::string::npos) << c.started[1];
  EXPECT_EQ(c.guests[101].node, "pve3");
  EXPECT_EQ(c.guests[102].node, "pve2");
  EXPECT_EQ(progress.events, (std::vector<std::string>{"wave 1", "start 101", "done 101", "wave 2", "start 102",
                                                       "done 102"}));
}

TEST(Executor, FailedMigrationStopsBeforeTheNextWave) {
  FakeCluster c;
  three_nodes(c);
  c.fail_migration[101] = "migration aborted";
  RecordingProgress progress;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3"), move(103, "pve2", "pve1", GuestType::Qemu, 1)}),
                        fast_options(), progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::Failed);
  EXPECT_NE(report->results[0].message.find("migration aborted"), std::string::npos);
  EXPECT_EQ(report->results[1].outcome, MoveOutcome::Skipped);
  EXPECT_TRUE(report->stopped_early);
  EXPECT_EQ(c.guests[101].node, "pve1");
  EXPECT_EQ(c.guests[103].node, "pve2");
}

TEST(Executor, LostQuorumStopsBeforeAnyMigration) {
  FakeCluster c;
  three_nodes(c);
  c.quorate = false;
  RecordingProgress progress;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), fast_options(), progress);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->quorum_lost);
  EXPECT_TRUE(report->stopped_early);
  EXPECT_TRUE(c.started.empty());
}

TEST(Executor, GuestThatMovedUnderThePlanStopsExecution) {
  FakeCluster c;
  three_nodes(c);
  c.guests[101].node = "pve2";
  RecordingProgress progress;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), fast_options(), progress);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->stopped_early);
  EXPECT_NE(report->stop_reason.find("guest 101 is on pve2, not pve1"), std::string::npos) << report->stop_reason;
  EXPECT_TRUE(c.started.empty());
}

TEST(Executor, LockedGuestStopsExecution) {
  FakeCluster c;
  three_nodes(c);
  c.guests[101].lock = "backup";
  RecordingProgress progress;
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), fast_options(), progress);
  ASSERT_TRUE(report.ok());
  EXPECT_NE(report->stop_reason.find("locked (backup)"), std::string::npos);
}

TEST(Executor, HonoursTheJobLimitPerNode) {
  struct Case {
    int jobs_per_node;
    int expected_peak;
  };
  for (const Case& tc : {Case{1, 1}, Case{2, 2}}) {
    FakeCluster c;
    three_nodes(c);
    c.task_polls = 3;
    RecordingProgress progress;
    auto o = fast_options();
    o.jobs_per_node = tc.jobs_per_node;
    auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3"), move(102, "pve1", "pve2", GuestType::Lxc)}),
                          o, progress);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->done(), 2u) << "jobs_per_node " << tc.jobs_per_node;
    EXPECT_EQ(c.peak_jobs_per_node, tc.expected_peak) << "jobs_per_node " << tc.jobs_per_node;
  }
}

// The daemon's check (still leader, not shutting down) runs before every
// wave and every migration; once it says no, nothing more starts and the
// migrations already running are awaited.
TEST(Executor, BeforeStartRefusalStopsNewMigrationsAndAwaitsRunningOnes) {
  FakeCluster c;
  three_nodes(c);
  c.task_polls = 3;
  RecordingProgress progress;
  auto o = fast_options();
  o.jobs_per_node = 1;
  int asked = 0;
  o.before_start = [&]() -> core::Status {
    // Wave 1 may start (1st ask), its first move may start (2nd); then leadership is lost.
    if (++asked <= 2) return core::ok();
    return core::Error(core::ErrorCategory::Conflict, "no longer leader");
  };
  // 101 and 102 share pve1, so with one job per node 102 waits for 101.
  auto report = execute(c.client(),
                        plan_of({move(101, "pve1", "pve3"), move(102, "pve1", "pve2", GuestType::Lxc),
                                 move(103, "pve2", "pve3", GuestType::Qemu, 1)}),
                        o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::Done);  // running: awaited to its end
  EXPECT_EQ(report->results[1].outcome, MoveOutcome::Skipped);
  EXPECT_EQ(report->results[1].message, "not started: no longer leader");
  EXPECT_EQ(report->results[2].outcome, MoveOutcome::Skipped);
  EXPECT_TRUE(report->stopped_early);
  EXPECT_EQ(report->stop_reason, "during wave 1: no longer leader");
  EXPECT_EQ(c.started.size(), 1u);
  EXPECT_EQ(c.guests[101].node, "pve3");
  EXPECT_EQ(c.guests[102].node, "pve1");
}

TEST(Executor, BeforeStartRefusalBeforeAWaveStartsNothing) {
  FakeCluster c;
  three_nodes(c);
  RecordingProgress progress;
  auto o = fast_options();
  o.before_start = [] { return core::Status(core::Error(core::ErrorCategory::Conflict, "shutting down (SIGTERM)")); };
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->stopped_early);
  EXPECT_EQ(report->stop_reason, "before wave 1: shutting down (SIGTERM)");
  EXPECT_TRUE(c.started.empty());
  EXPECT_TRUE(progress.events.empty());
}

TEST(Executor, MigrationThatNeverEndsFailsAtTheDeadline) {
  FakeCluster c;
  three_nodes(c);
  c.task_polls = 1'000'000;
  RecordingProgress progress;
  auto o = fast_options();
  o.job_timeout = std::chrono::seconds(10);
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3")}), o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::TimedOut);
  EXPECT_EQ(report->timed_out(), 1u);
  EXPECT_NE(report->results[0].message.find("max_job_validation (10 s)"), std::string::npos);
}

TEST(Executor, TimedOutMigrationKeepsItsJobSlotsUntilItsTaskEnds) {
  // One job per node; 101 and 102 both leave pve1. 101's task outlives the
  // 5 s timeout and ends at its 9th poll: 102 may start only then.
  FakeCluster c;
  three_nodes(c);
  c.task_polls_of[101] = 8;
  RecordingProgress progress;
  auto o = fast_options();
  o.job_timeout = std::chrono::seconds(5);
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3"), move(102, "pve1", "pve2", GuestType::Lxc)}),
                        o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::TimedOut);
  EXPECT_NE(report->results[0].message.find("stay taken"), std::string::npos) << report->results[0].message;
  EXPECT_EQ(report->results[1].outcome, MoveOutcome::Done) << report->results[1].message;
  EXPECT_EQ(c.peak_jobs_per_node, 1);
  EXPECT_EQ(progress.events,
            (std::vector<std::string>{"wave 1", "start 101", "timed out 101", "start 102", "done 102"}));
  EXPECT_EQ(c.guests[101].node, "pve3") << "PVE finished it after the timeout";
}

TEST(Executor, MovesBlockedByATimedOutMigrationAreSkippedAfterAnotherTimeout) {
  FakeCluster c;
  three_nodes(c);
  c.task_polls_of[101] = 1'000'000;
  RecordingProgress progress;
  auto o = fast_options();
  o.job_timeout = std::chrono::seconds(5);
  auto report = execute(c.client(), plan_of({move(101, "pve1", "pve3"), move(102, "pve1", "pve2", GuestType::Lxc)}),
                        o, progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->results[0].outcome, MoveOutcome::TimedOut);
  EXPECT_EQ(report->results[1].outcome, MoveOutcome::Skipped);
  EXPECT_NE(report->results[1].message.find("pve1 is still busy"), std::string::npos) << report->results[1].message;
  EXPECT_EQ(c.started.size(), 1u);
  EXPECT_EQ(c.peak_jobs_per_node, 1);
}

TEST(Executor, MigrationsRunningBeforeThePlanHoldTheirSlots) {
  // A proxlb killed mid-wave left 103 migrating pve2 -> pve3; the new plan
  // moves 101 to pve3, which must wait for that task to end.
  FakeCluster c;
  three_nodes(c);
  std::string upid = c.add_running_migration(103, "pve3", 4);
  Plan p = plan_of({move(101, "pve1", "pve3")});
  p.running.push_back({103, InFlightMigration{.source = "pve2", .target = "pve3", .upid = upid}});
  RecordingProgress progress;
  auto report = execute(c.client(), p, fast_options(), progress);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->done(), 1u);
  EXPECT_EQ(c.peak_jobs_per_node, 1);
  EXPECT_EQ(c.guests[103].node, "pve3");
}

}  // namespace
}  // namespace pvekit::balance
