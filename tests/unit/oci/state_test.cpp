#include "oci/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "oci/status.h"

namespace pvekit::oci {
namespace {

using S = ContainerStatus;

TEST(Status, NamesRoundTrip) {
  for (auto s : {S::Creating, S::Created, S::Running, S::Paused, S::Stopped})
    EXPECT_EQ(parse_status(to_string(s)), s) << to_string(s);
  EXPECT_FALSE(parse_status("sleeping").has_value());
}

TEST(Status, AllowedOperationsFollowRunc) {
  struct Case {
    S status;
    bool start, kill, del, pause, resume, exec, exec_ignoring_paused;
  };
  const Case cases[] = {
      {S::Creating, false, false, false, false, false, false, false},
      {S::Created, true, true, true, true, false, true, true},
      {S::Running, false, true, false, true, false, true, true},
      {S::Paused, false, true, false, false, true, false, true},
      {S::Stopped, false, false, true, false, false, false, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(can_start(c.status), c.start) << to_string(c.status);
    EXPECT_EQ(can_kill(c.status), c.kill) << to_string(c.status);
    EXPECT_EQ(can_delete(c.status), c.del) << to_string(c.status);
    EXPECT_EQ(can_pause(c.status), c.pause) << to_string(c.status);
    EXPECT_EQ(can_resume(c.status), c.resume) << to_string(c.status);
    EXPECT_EQ(can_exec(c.status, false), c.exec) << to_string(c.status);
    EXPECT_EQ(can_exec(c.status, true), c.exec_ignoring_paused) << to_string(c.status);
  }
}

TEST(DeriveStatus, FromStoredStatusProcessAndFifo) {
  struct Case {
    S stored;
    bool alive, fifo;
    S expected;
  };
  const Case cases[] = {
      {S::Created, true, true, S::Created},   {S::Created, true, false, S::Running},
      {S::Created, false, true, S::Stopped},  {S::Running, true, false, S::Running},
      {S::Running, false, false, S::Stopped}, {S::Paused, true, false, S::Paused},
      {S::Paused, false, false, S::Stopped},  {S::Creating, true, true, S::Creating},
  };
  for (const auto& c : cases)
    EXPECT_EQ(derive_status(c.stored, c.alive, c.fifo), c.expected)
        << to_string(c.stored) << " alive=" << c.alive << " fifo=" << c.fifo;
}

TEST(ProcStat, ParsesStateAndStartTimeWithHostileComm) {
  std::string fields = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21";
  auto st = parse_proc_stat("42 (a) b)" + fields);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->start_time, 987654u);
  EXPECT_FALSE(parse_proc_stat("42 (short) S 1 2").has_value());
  EXPECT_FALSE(parse_proc_stat("garbage").has_value());
}

TEST(ProcessAlive, OwnProcessWithMatchingStartTimeOnly) {
  auto self = read_proc_stat(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_TRUE(process_alive(::getpid(), self->start_time));
  // Same pid, different start time: a reused pid reads as dead.
  EXPECT_FALSE(process_alive(::getpid(), self->start_time + 1));
  EXPECT_FALSE(process_alive(0, 0));
  EXPECT_FALSE(process_alive(999999999, 0));
}

TEST(StateJson, RoundTripsAndPrintsRuncFields) {
  ContainerState s;
  s.id = "c1";
  s.status = S::Running;
  s.pid = 1234;
  s.pid_start_time = 99;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-01-01T00:00:00.000000001Z";
  s.annotations = {{"k", "v"}};
  s.cgroup_path = "/lxcri/c1";
  auto back = state_from_json(state_to_json(s));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->pid_start_time, 99u);
  EXPECT_EQ(back->cgroup_path, "/lxcri/c1");
  EXPECT_EQ(back->annotations.at("k"), "v");

  auto runc = runc_state_json(s, S::Running);
  std::vector<std::string> keys;
  for (auto& [k, v] : runc.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                                            "owner", "annotations"}));
  EXPECT_EQ(runc["pid"], 1234);
  EXPECT_EQ(runc_state_json(s, S::Stopped)["pid"], 0);
  EXPECT_EQ(runc_state_json(s, S::Stopped)["status"], "stopped");
}

TEST(StateJson, MalformedIsAnError) {
  EXPECT_FALSE(state_from_json(core::Json::parse(R"({"id": 1})")).ok());
  auto j = state_to_json(ContainerState{});
  j["status"] = "dancing";
  EXPECT_FALSE(state_from_json(j).ok());
}

TEST(Rfc3339, HasNanosecondsAndZulu) {
  std::string t = rfc3339_now();
  ASSERT_EQ(t.size(), 30u) << t;
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t[19], '.');
  EXPECT_EQ(t.back(), 'Z');
}

}  // namespace
}  // namespace pvekit::oci
