// A program started by a C++ integration test: fork/exec with
// PR_SET_PDEATHSIG (it dies with the test), its output in a pipe the test
// reads or in a log file, and SIGTERM then SIGKILL when it goes out of scope.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

namespace pvekit::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with `argv`. With an empty `log_path`, stdout
  // goes to a pipe read by wait_for_output() and stderr is inherited;
  // otherwise both go to `log_path`.
  explicit ChildProcess(std::vector<std::string> argv, std::string log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Reads stdout until `pattern` matches what was read so far; false (with
  // error() saying what was seen) on timeout or end of output.
  bool wait_for_output(const std::regex& pattern, std::chrono::milliseconds timeout, std::smatch& match);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string seen_;
  std::string error_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

}  // namespace pvekit::testing
