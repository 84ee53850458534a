#include "oci/proxmox/archive.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "oci/fd.h"

namespace pvekit::oci::proxmox {

using core::Error;
using core::ErrorCategory;

core::Status write_rootfs_archive(const std::string& rootfs, const std::string& path) {
  std::vector<std::string> words = {"tar", "--create", "--gzip", "--numeric-owner", "--file", path,
                                    "--directory", rootfs, "."};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  UniqueFd read_end(pipefd[0]);
  UniqueFd write_end(pipefd[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "tar", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error::system("run tar", rc);
  write_end.reset();
  std::string messages;
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    messages.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return core::ok();
  while (!messages.empty() && messages.back() == '\n') messages.pop_back();
  ::unlink(path.c_str());
  return Error(ErrorCategory::System, "tar of " + rootfs + " failed: " + messages);
}

}  // namespace pvekit::oci::proxmox
