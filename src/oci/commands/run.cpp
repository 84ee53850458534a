#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;

namespace {

// Forwards signals to the container's init until it exits; returns its
// status as a shell would (128+signal when killed).
core::Result<int> wait_forwarding(pid_t pid) {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&set, s);
  sigset_t old;
  sigprocmask(SIG_BLOCK, &set, &old);
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      return Error::system("wait for the container", errno);
    }
    timespec timeout{0, 100'000'000};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig > 0 && sig != SIGCHLD) ::kill(pid, sig);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

core::Result<int> cmd_run(Context& ctx, const RunOptions& o) {
  PVEKIT_TRY(cmd_create(ctx, o.create));
  core::Status started = cmd_start(ctx, StartOptions{o.create.id});
  if (!started.ok()) {
    if (auto c = load_container(ctx, o.create.id); c.ok()) (void)destroy_container(ctx, *c);  // report the start error
    return std::move(started).error();
  }
  if (o.detach) return 0;
  PVEKIT_ASSIGN(auto state, ctx.store.load(o.create.id));
  PVEKIT_ASSIGN(int code, wait_forwarding(state.pid));
  if (!o.keep) {
    PVEKIT_ASSIGN(auto c, load_container(ctx, o.create.id));
    PVEKIT_TRY(destroy_container(ctx, c));
  }
  return code;
}

}  // namespace pvekit::oci
