#include "oci/linux/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

namespace {

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void exec_hook(const Hook& hook, int stdin_fd) {
  ::dup2(stdin_fd, 0);
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  ::execve(hook.path.c_str(), argv.data(), envp.data());
  _exit(127);
}

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Waits for `pid`; kills it when `timeout` seconds (0: none) pass first.
core::Result<int> wait_with_timeout(pid_t pid, int timeout) {
  double deadline = now_seconds() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, timeout > 0 ? WNOHANG : 0);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return Error::system("waitpid hook", errno);
    if (timeout > 0 && now_seconds() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Error(ErrorCategory::Runtime, "timed out after " + std::to_string(timeout) + "s");
    }
    if (timeout > 0) ::poll(nullptr, 0, 10);
  }
}

}  // namespace

Status run_hook(const Hook& hook, const std::string& state_json) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::system("fork hook", errno);
  if (pid == 0) exec_hook(hook, rd.get());
  rd.reset();
  // A hook that does not read its stdin must not fail the write with SIGPIPE.
  sighandler_t old = ::signal(SIGPIPE, SIG_IGN);
  (void)!::write(wr.get(), state_json.data(), state_json.size());
  ::signal(SIGPIPE, old);
  wr.reset();
  PVEKIT_ASSIGN(int status, wait_with_timeout(pid, hook.timeout.value_or(0)));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return core::ok();
  if (WIFEXITED(status))
    return Error(ErrorCategory::Runtime, hook.path + " exited with status " + std::to_string(WEXITSTATUS(status)));
  return Error(ErrorCategory::Runtime, hook.path + " killed by signal " + std::to_string(WTERMSIG(status)));
}

Status run_hooks(const std::vector<Hook>& hooks, const std::string& stage, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    PVEKIT_TRY(run_hook(hooks[i], state_json).wrap(stage + " hook #" + std::to_string(i)));
  return core::ok();
}

}  // namespace pvekit::oci::linux
