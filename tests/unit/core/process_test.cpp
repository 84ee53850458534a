#include "core/process.h"

#include <gtest/gtest.h>

namespace pvekit::core {
namespace {

TEST(ProcessRunner, CapturesOutputErrorAndStatus) {
  ProcessRunner runner;
  auto r = runner.run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->exit_status, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(ProcessRunner, ArgumentsAreNotInterpretedByAShell) {
  ProcessRunner runner;
  auto r = runner.run({"echo", "$HOME;", "a b"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$HOME; a b\n");
}

TEST(ProcessRunner, LargeOutputOnBothStreamsDoesNotBlock) {
  ProcessRunner runner;
  auto r = runner.run({"sh", "-c", "head -c 200000 /dev/zero; head -c 200000 /dev/zero >&2"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 200000u);
  EXPECT_EQ(r->err.size(), 200000u);
}

TEST(ProcessRunner, InputOfAnySizeIsStandardInput) {
  // More than a pipe holds: the child reads it from a memfd, nobody waits on a writer.
  const std::string input(1 << 20, 'x');
  ProcessRunner runner(input);
  auto r = runner.run({"sh", "-c", "wc -c; cat >/dev/null"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->out, std::to_string(input.size()) + "\n");
  ProcessRunner without;
  auto empty = without.run({"wc", "-c"});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->out, "0\n");
}

TEST(ProcessRunner, MissingProgramIsASystemError) {
  ProcessRunner runner;
  auto r = runner.run({"/nonexistent/zfs", "list"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), core::ErrorCategory::System);
  EXPECT_EQ(r.error().sys_errno(), ENOENT);
  EXPECT_NE(r.error().to_string().find("/nonexistent/zfs"), std::string::npos);
}

TEST(RunChecked, NonZeroExitNamesCommandStatusAndStderr) {
  ProcessRunner runner;
  auto r = run_checked(runner, {"sh", "-c", "echo 'cannot open tank: dataset does not exist' >&2; exit 1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), core::ErrorCategory::Runtime);
  const std::string text = r.error().to_string();
  EXPECT_NE(text.find("sh -c"), std::string::npos) << text;
  EXPECT_NE(text.find("exit status 1"), std::string::npos) << text;
  EXPECT_NE(text.find("cannot open tank: dataset does not exist"), std::string::npos) << text;
}

}  // namespace
}  // namespace pvekit::core
