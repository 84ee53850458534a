#pragma once

// Running external programs (ps, tar, pct, zfs, btrfs, criu) behind an
// interface, so their callers are unit-tested with a recording fake and run
// for real with ProcessRunner.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace pvekit::core {

struct CommandOutput {
  int exit_status = 0;  // exit code; 128+N when killed by signal N
  std::string out;      // standard output
  std::string err;      // standard error
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv (argv[0] is searched in PATH; no shell) and waits for it. System error when it cannot be started (not
  // found, not executable); any exit status is a value.
  virtual core::Result<CommandOutput> run(const std::vector<std::string>& argv) = 0;
};

// fork + execvp, capturing standard output and error. Standard input is
// `input` (from a memfd, so any size goes in without a writer to wait for),
// or /dev/null when it is empty.
class ProcessRunner final : public CommandRunner {
 public:
  explicit ProcessRunner(std::string input = {}) : input_(std::move(input)) {}
  core::Result<CommandOutput> run(const std::vector<std::string>& argv) override;

 private:
  std::string input_;
};

// SIGKILLs child `pid` and reaps it: what every failure path that must leave
// no process behind does with a child it forked.
void kill_and_reap(pid_t pid);

// Runs argv and returns its standard output; a non-zero exit is a Runtime
// error naming the command line, the status and the trimmed standard error.
core::Result<std::string> run_checked(CommandRunner& runner, const std::vector<std::string>& argv);

}  // namespace pvekit::core
