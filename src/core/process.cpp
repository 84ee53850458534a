#include "core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "core/fd.h"
#include "core/strings.h"

namespace pvekit::core {


namespace {

struct Pipe {
  UniqueFd read, write;
};

core::Result<Pipe> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  Pipe pipe;
  pipe.read = UniqueFd(p[0]);
  pipe.write = UniqueFd(p[1]);
  return pipe;
}

// Reads both pipes to their end; interleaved so neither can fill up and block the child.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

// The child's standard input: `input` in a memfd read from its start, or /dev/null.
core::Result<UniqueFd> open_input(const std::string& input) {
  if (input.empty()) {
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null.valid()) return Error::system("open /dev/null", errno);
    return null;
  }
  UniqueFd mem(::memfd_create("input", MFD_CLOEXEC));
  if (!mem.valid()) return Error::system("memfd_create", errno);
  for (size_t done = 0; done < input.size();) {
    ssize_t n = ::write(mem.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write a command's input to a memfd", errno);
    done += static_cast<size_t>(n);
  }
  if (::lseek(mem.get(), 0, SEEK_SET) != 0) return Error::system("rewind a command's input", errno);
  return mem;
}

}  // namespace

core::Result<CommandOutput> ProcessRunner::run(const std::vector<std::string>& argv_s) {
  if (argv_s.empty()) return Error(ErrorCategory::Internal, "run: empty command line");
  PVEKIT_ASSIGN(UniqueFd in, open_input(input_));
  PVEKIT_ASSIGN(Pipe out, make_pipe());
  PVEKIT_ASSIGN(Pipe err, make_pipe());
  // exec's errno comes back over this close-on-exec pipe; EOF means exec worked.
  PVEKIT_ASSIGN(Pipe exec_status, make_pipe());
  std::vector<std::string> args = argv_s;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Error::system("fork " + argv_s[0], errno);
  if (pid == 0) {
    ::dup2(in.get(), 0);
    ::dup2(out.write.get(), 1);
    ::dup2(err.write.get(), 2);
    ::execvp(argv[0], argv.data());
    int e = errno;
    (void)!::write(exec_status.write.get(), &e, sizeof e);
    _exit(127);
  }
  out.write.reset();
  err.write.reset();
  exec_status.write.reset();
  CommandOutput result;
  drain(out.read.get(), err.read.get(), result.out, result.err);
  int exec_errno = 0;
  ssize_t n;
  do n = ::read(exec_status.read.get(), &exec_errno, sizeof exec_errno);
  while (n < 0 && errno == EINTR);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof exec_errno)) return Error::system("cannot run " + argv_s[0], exec_errno);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

core::Result<std::string> run_checked(CommandRunner& runner, const std::vector<std::string>& argv) {
  const std::string line = core::join(argv, " ");
  PVEKIT_ASSIGN(auto r, runner.run(argv).wrap(line));
  if (r.exit_status != 0) {
    std::string detail(core::trim(r.err));
    if (detail.empty()) detail = std::string(core::trim(r.out));
    return Error(ErrorCategory::Runtime, line + ": exit status " + std::to_string(r.exit_status) +
                                             (detail.empty() ? "" : ": " + detail));
  }
  return std::move(r.out);
}

}  // namespace pvekit::core
