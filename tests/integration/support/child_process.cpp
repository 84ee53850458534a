#include "child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace pvekit::testing {

using namespace std::chrono_literals;

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path) {
  int fds[2] = {-1, -1};
  int log_fd = -1;
  if (log_path.empty()) {
    if (pipe2(fds, O_CLOEXEC) != 0) {
      error_ = "pipe failed";
      return;
    }
  } else {
    log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      error_ = "cannot open " + log_path;
      return;
    }
  }
  // Everything the child needs is prepared before fork(): only
  // async-signal-safe calls between fork and exec.
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    } else {
      dup2(fds[1], STDOUT_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  if (fds[1] >= 0) close(fds[1]);
  out_fd_ = fds[0];
  if (pid_ < 0) error_ = "fork failed";
}

ChildProcess::~ChildProcess() {
  if (out_fd_ >= 0) close(out_fd_);
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);  // a stopped child cannot act on SIGTERM
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(100ms);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

bool ChildProcess::wait_for_output(const std::regex& pattern, std::chrono::milliseconds timeout, std::smatch& match) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
    if (std::regex_search(seen_, match, pattern)) return true;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[512];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) break;
    seen_.append(buf, static_cast<size_t>(n));
  }
  if (std::regex_search(seen_, match, pattern)) return true;
  error_ = "the expected output did not come; output so far: " + seen_;
  return false;
}

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace pvekit::testing
