#include "oci/linux/console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "oci/linux/sync.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

core::Result<UniqueFd> connect_console_socket(const std::string& path) {
  return connect_unix_socket(path, "--console-socket");
}

Status send_fd(int socket, int fd, const std::string& name) {
  return send_with_fd(socket, name.empty() ? std::string("fd") : name, fd).wrap("send the pty master");
}

core::Result<UniqueFd> recv_fd(int socket) {
  char body[4096];
  PVEKIT_ASSIGN(auto got, recv_with_fd(socket, body, sizeof body).wrap("receive the pty master"));
  if (got.fd.valid()) return std::move(got.fd);
  return Error(ErrorCategory::Runtime, got.size == 0 ? "the container exited before sending its pty master"
                                                     : "console message without a descriptor");
}

Status setup_console(int socket) {
  // /dev/ptmx is the container's (pts/ptmx of its devpts instance), so the
  // slave lives in the container and not on the host's devpts.
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return Error::system("open /dev/ptmx in the container", errno);
  if (::unlockpt(master.get()) != 0) return Error::system("unlockpt", errno);
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY));
  if (!slave.valid()) return Error::system("open the pty slave", errno);
  char name[64] = "";
  (void)::ptsname_r(master.get(), name, sizeof name);  // only a label for the receiver
  PVEKIT_TRY(send_fd(socket, master.get(), name));
  master.reset();
  if (::setsid() < 0 && errno != EPERM) return Error::system("setsid", errno);  // EPERM: already a leader
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return Error::system("make the pty the controlling terminal", errno);
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return Error::system("dup2 the pty slave", errno);
  return core::ok();
}

namespace {

// stdin in raw mode while the proxy runs, so keys reach the container as typed.
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void copy_window_size(int master) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

// false at EOF or error.
bool pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno != EINTR) return false;
    if (w > 0) off += w;
  }
  return true;
}

}  // namespace

core::Result<int> wait_forwarding(pid_t pid, int master) {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&set, s);
  sigset_t old;
  sigprocmask(SIG_BLOCK, &set, &old);
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals.valid()) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return Error::system("signalfd", errno);
  }
  std::optional<RawTerminal> raw;
  if (master >= 0) {
    raw.emplace();
    copy_window_size(master);
  }
  bool stdin_open = master >= 0;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      return Error::system("wait for process " + std::to_string(pid), errno);
    }
    pollfd fds[3] = {{signals.get(), POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    // The timeout covers a SIGCHLD that arrived before the mask was set.
    if (::poll(fds, 3, 100) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signals.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH && master >= 0) copy_window_size(master);
        else if (sig != SIGCHLD) ::kill(pid, sig);
      }
    }
    if (master >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) pump(master, 1);
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) stdin_open = pump(0, master);
  }
  if (master >= 0) {
    // What the process wrote just before exiting is still in the pty.
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    char buf[8192];
    ssize_t n;
    while ((n = ::read(master, buf, sizeof buf)) > 0)
      if (::write(1, buf, static_cast<size_t>(n)) < 0) break;
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace pvekit::oci::linux
