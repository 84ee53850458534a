#include "oci/linux/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "core/process.h"
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

// On failure the errno goes to the parent through `err_fd` (close-on-exec:
// nothing arrives when execve succeeds).
[[noreturn]] void exec_hook(const Hook& hook, int stdin_fd, int err_fd) {
  ::dup2(stdin_fd, 0);
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  ::execve(hook.path.c_str(), argv.data(), envp.data());
  int err = errno;
  (void)!::write(err_fd, &err, sizeof err);
  _exit(127);
}

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Feeds `state` to the hook's stdin and waits for it to exit; kills it when
// `timeout` seconds (0: none) pass first, whether it is stuck reading, not
// reading, or running. The write never blocks: a hook that does not read a
// state larger than the pipe cannot hold us past the timeout.
core::Result<int> feed_and_wait(pid_t pid, UniqueFd stdin_fd, const std::string& state, int timeout) {
  double deadline = now_seconds() + timeout;
  size_t written = 0;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return Error::system("waitpid hook", errno);
    if (timeout > 0 && now_seconds() > deadline) {
      core::kill_and_reap(pid);
      return Error(ErrorCategory::Runtime, "timed out after " + std::to_string(timeout) + "s");
    }
    if (stdin_fd.valid() && written < state.size()) {
      ssize_t n = ::write(stdin_fd.get(), state.data() + written, state.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) stdin_fd.reset();  // EPIPE: it closed its stdin
    }
    if (stdin_fd.valid() && written == state.size()) stdin_fd.reset();  // EOF for the hook
    pollfd p{stdin_fd.get(), POLLOUT, 0};
    ::poll(&p, stdin_fd.valid() ? 1 : 0, 10);
  }
}

}  // namespace

Status run_hook(const Hook& hook, const std::string& state_json) {
  int p[2], e[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  UniqueFd rd(p[0]), wr(p[1]);
  if (::pipe2(e, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  UniqueFd err_rd(e[0]), err_wr(e[1]);
  // A hook that does not read its stdin must not fail the write with SIGPIPE.
  sighandler_t old = ::signal(SIGPIPE, SIG_IGN);
  pid_t pid = ::fork();
  if (pid == 0) {
    // A hook must not outlive a runtime that was killed while waiting for it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::signal(SIGPIPE, SIG_DFL);
    exec_hook(hook, rd.get(), err_wr.get());
  }
  int fork_errno = errno;
  rd.reset();
  err_wr.reset();
  if (pid < 0) {
    ::signal(SIGPIPE, old);
    return Error::system("fork hook", fork_errno);
  }
  ::fcntl(wr.get(), F_SETFL, O_NONBLOCK);
  auto status = feed_and_wait(pid, std::move(wr), state_json, hook.timeout.value_or(0));
  ::signal(SIGPIPE, old);
  int exec_errno = 0;
  if (::read(err_rd.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno)
    return Error::system("run " + hook.path, exec_errno);
  if (!status.ok()) return status.error();
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return core::ok();
  if (WIFEXITED(*status))
    return Error(ErrorCategory::Runtime, hook.path + " exited with status " + std::to_string(WEXITSTATUS(*status)));
  return Error(ErrorCategory::Runtime, hook.path + " killed by signal " + std::to_string(WTERMSIG(*status)));
}

Status run_hooks(const std::vector<Hook>& hooks, const std::string& stage, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    PVEKIT_TRY(run_hook(hooks[i], state_json).wrap(stage + " hook #" + std::to_string(i)));
  return core::ok();
}

}  // namespace pvekit::oci::linux
