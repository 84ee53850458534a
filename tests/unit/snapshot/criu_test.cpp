#include "snapshot/criu.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "fake_runner.h"

namespace pvekit::snapshot {
namespace {

std::string joined(const core::Result<std::vector<std::string>>& r) {
  return r.ok() ? core::join(*r, " ") : "error: " + r.error().to_string();
}

TEST(CriuArgs, DumpWithRuncDefaults) {
  EXPECT_EQ(joined(criu_dump_args("criu", 42, {})),
            "criu dump --tree 42 --images-dir checkpoint --work-dir checkpoint -v4 --log-file dump.log");
}

TEST(CriuArgs, DumpWithEveryFlag) {
  CriuOptions o{.image_path = "/img", .work_path = "/work", .parent_path = "../pre", .leave_running = true,
                .tcp_established = true, .ext_unix_sk = true, .shell_job = true, .file_locks = true,
                .auto_dedup = true, .lazy_pages = true, .manage_cgroups_mode = "full"};
  EXPECT_EQ(joined(criu_dump_args("/usr/sbin/criu", 7, o)),
            "/usr/sbin/criu dump --tree 7 --images-dir /img --work-dir /work --tcp-established --ext-unix-sk "
            "--shell-job --file-locks --auto-dedup --lazy-pages --manage-cgroups=full -v4 --log-file dump.log "
            "--prev-images-dir ../pre --leave-running");
}

TEST(CriuArgs, PreDumpTracksMemory) {
  EXPECT_EQ(joined(criu_dump_args("criu", 42, {.image_path = "p", .pre_dump = true})),
            "criu pre-dump --tree 42 --images-dir p --work-dir p -v4 --log-file pre-dump.log --track-mem");
}

TEST(CriuArgs, Restore) {
  CriuOptions o{.image_path = "/img", .tcp_established = true, .empty_ns = {"network"}};
  EXPECT_EQ(joined(criu_restore_args("criu", "/b/rootfs", "/run/x/pid", o)),
            "criu restore --restore-detached --root /b/rootfs --pidfile /run/x/pid --images-dir /img --work-dir /img "
            "--tcp-established -v4 --log-file restore.log --empty-ns net");
}

TEST(CriuArgs, InvalidCombinationsNameTheFlag) {
  struct Case {
    core::Result<std::vector<std::string>> got;
    const char* flag;
  } cases[] = {
      {criu_dump_args("criu", 1, {.manage_cgroups_mode = "loose"}), "--manage-cgroups-mode"},
      {criu_dump_args("criu", 1, {.empty_ns = {"network"}}), "--empty-ns"},
      {criu_dump_args("criu", 1, {.leave_running = true, .pre_dump = true}), "--leave-running"},
      {criu_dump_args("criu", 0, {}), "no running process"},
      {criu_restore_args("criu", "/r", "/p", {.leave_running = true}), "--leave-running"},
      {criu_restore_args("criu", "/r", "/p", {.parent_path = "x"}), "--parent-path"},
      {criu_restore_args("criu", "/r", "/p", {.pre_dump = true}), "--pre-dump"},
      {criu_restore_args("criu", "/r", "/p", {.empty_ns = {"pid"}}), "--empty-ns"},
  };
  for (const auto& c : cases) {
    ASSERT_FALSE(c.got.ok()) << c.flag;
    EXPECT_NE(c.got.error().to_string().find(c.flag), std::string::npos) << c.got.error().to_string();
  }
}

TEST(CriuArgs, OnlyFlagsListsWhatIsSet) {
  EXPECT_TRUE(criu_only_flags({.leave_running = true}).empty());
  EXPECT_EQ(criu_only_flags({.image_path = "x", .tcp_established = true, .empty_ns = {"network"}}),
            (std::vector<std::string>{"--image-path", "--tcp-established", "--empty-ns"}));
}

TEST(Criu, CheckFailureCarriesCriusReason) {
  testing::FakeRunner runner;
  runner.answer("criu check", 1, "", "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n");
  auto s = Criu(runner, "criu").check();
  ASSERT_FALSE(s.ok());
  const std::string text = s.error().to_string();
  EXPECT_NE(text.find("CRIU cannot checkpoint processes on this host"), std::string::npos) << text;
  EXPECT_NE(text.find("vdso symtable"), std::string::npos) << text;
}

TEST(Criu, DumpFailurePointsAtTheLog) {
  testing::FakeRunner runner;
  runner.answer("criu dump", 1, "", "");
  auto s = Criu(runner, "criu").dump(42, {.work_path = "/w"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("see /w/dump.log"), std::string::npos) << s.error().to_string();
  EXPECT_EQ(runner.calls.size(), 1u);
}

TEST(Criu, RestoreRunsCriu) {
  testing::FakeRunner runner;
  ASSERT_TRUE(Criu(runner, "criu").restore("/r", "/p", {.image_path = "/i"}).ok());
  ASSERT_EQ(runner.calls.size(), 1u);
  EXPECT_TRUE(core::starts_with(runner.calls[0], "criu restore --restore-detached --root /r --pidfile /p"));
}

}  // namespace
}  // namespace pvekit::snapshot
