#pragma once

// CRIU process checkpoints with runc's options: command lines (pure) and the
// calls through a core::CommandRunner.

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "core/process.h"

namespace pvekit::snapshot {

// runc's checkpoint/restore flags that go to CRIU.
struct CriuOptions {
  std::string image_path;   // empty: ./checkpoint, as runc
  std::string work_path;    // empty: the image path
  std::string parent_path;  // checkpoint only: previous pre-dump images, relative to image_path or absolute
  bool leave_running = false;  // checkpoint only
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  bool pre_dump = false;  // checkpoint only
  bool auto_dedup = false;
  bool lazy_pages = false;
  std::string manage_cgroups_mode;  // soft | full | strict | ignore; empty: CRIU's default (soft)
  std::vector<std::string> empty_ns;  // namespaces to create empty on restore ("network")
};

// The flags set in `o` that only CRIU honours, as the user typed them
// ("--tcp-established"), for refusing them with a storage driver.
// --leave-running is not among them: storage drivers always leave it running.
std::vector<std::string> criu_only_flags(const CriuOptions& o);

// `criu dump` (or `pre-dump`) of the process tree `pid`. Usage error naming
// the flag when an option is invalid.
core::Result<std::vector<std::string>> criu_dump_args(const std::string& criu, pid_t pid, const CriuOptions& o);
// `criu restore` of the images into `rootfs`, detached, the new root pid
// written to `pid_file`.
core::Result<std::vector<std::string>> criu_restore_args(const std::string& criu, const std::string& rootfs,
                                                         const std::string& pid_file, const CriuOptions& o);

class Criu {
 public:
  Criu(core::CommandRunner& runner, std::string command) : runner_(runner), criu_(std::move(command)) {}
  // `criu check`: Runtime error carrying CRIU's reason when checkpoints cannot work on this host.
  core::Status check();
  core::Status dump(pid_t pid, const CriuOptions& o);
  core::Status restore(const std::string& rootfs, const std::string& pid_file, const CriuOptions& o);

 private:
  core::CommandRunner& runner_;
  std::string criu_;
};

}  // namespace pvekit::snapshot
