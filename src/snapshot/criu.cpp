#include "snapshot/criu.h"

#include "core/strings.h"

namespace pvekit::snapshot {

using core::Error;
using core::ErrorCategory;

namespace {

std::string image_dir(const CriuOptions& o) { return o.image_path.empty() ? "checkpoint" : o.image_path; }

// Options dump and restore share.
core::Status add_common(std::vector<std::string>& a, const CriuOptions& o) {
  a.insert(a.end(), {"--images-dir", image_dir(o), "--work-dir", o.work_path.empty() ? image_dir(o) : o.work_path});
  if (o.tcp_established) a.push_back("--tcp-established");
  if (o.ext_unix_sk) a.push_back("--ext-unix-sk");
  if (o.shell_job) a.push_back("--shell-job");
  if (o.file_locks) a.push_back("--file-locks");
  if (o.auto_dedup) a.push_back("--auto-dedup");
  if (o.lazy_pages) a.push_back("--lazy-pages");
  if (!o.manage_cgroups_mode.empty()) {
    const auto& m = o.manage_cgroups_mode;
    if (m != "soft" && m != "full" && m != "strict" && m != "ignore")
      return Error(ErrorCategory::Usage, "--manage-cgroups-mode: expected soft, full, strict or ignore, got \"" + m + "\"");
    a.push_back("--manage-cgroups=" + m);
  }
  a.insert(a.end(), {"-v4", "--log-file"});
  return core::ok();
}

}  // namespace

std::vector<std::string> criu_only_flags(const CriuOptions& o) {
  std::vector<std::string> set;
  auto flag = [&](bool on, const char* name) {
    if (on) set.push_back(name);
  };
  flag(!o.image_path.empty(), "--image-path");
  flag(!o.work_path.empty(), "--work-path");
  flag(!o.parent_path.empty(), "--parent-path");
  flag(o.tcp_established, "--tcp-established");
  flag(o.ext_unix_sk, "--ext-unix-sk");
  flag(o.shell_job, "--shell-job");
  flag(o.file_locks, "--file-locks");
  flag(o.pre_dump, "--pre-dump");
  flag(o.auto_dedup, "--auto-dedup");
  flag(o.lazy_pages, "--lazy-pages");
  flag(!o.manage_cgroups_mode.empty(), "--manage-cgroups-mode");
  flag(!o.empty_ns.empty(), "--empty-ns");
  return set;
}

core::Result<std::vector<std::string>> criu_dump_args(const std::string& criu, pid_t pid, const CriuOptions& o) {
  if (pid <= 0) return Error(ErrorCategory::Conflict, "criu dump: the container has no running process");
  if (!o.empty_ns.empty()) return Error(ErrorCategory::Usage, "--empty-ns applies to restore, not checkpoint");
  if (o.pre_dump && o.leave_running)
    return Error(ErrorCategory::Usage, "--pre-dump always leaves the container running; drop --leave-running");
  std::vector<std::string> a = {criu, o.pre_dump ? "pre-dump" : "dump", "--tree", std::to_string(pid)};
  PVEKIT_TRY(add_common(a, o));
  a.push_back(o.pre_dump ? "pre-dump.log" : "dump.log");
  if (!o.parent_path.empty()) a.insert(a.end(), {"--prev-images-dir", o.parent_path});
  if (o.pre_dump) a.push_back("--track-mem");
  if (o.leave_running) a.push_back("--leave-running");
  return a;
}

core::Result<std::vector<std::string>> criu_restore_args(const std::string& criu, const std::string& rootfs,
                                                         const std::string& pid_file, const CriuOptions& o) {
  if (o.leave_running) return Error(ErrorCategory::Usage, "--leave-running applies to checkpoint, not restore");
  if (o.pre_dump) return Error(ErrorCategory::Usage, "--pre-dump applies to checkpoint, not restore");
  if (!o.parent_path.empty()) return Error(ErrorCategory::Usage, "--parent-path applies to checkpoint, not restore");
  std::vector<std::string> a = {criu, "restore", "--restore-detached", "--root", rootfs, "--pidfile", pid_file};
  PVEKIT_TRY(add_common(a, o));
  a.push_back("restore.log");
  for (const auto& ns : o.empty_ns) {
    if (ns != "network")
      return Error(ErrorCategory::Usage, "--empty-ns: only \"network\" can be restored empty, got \"" + ns + "\"");
    a.insert(a.end(), {"--empty-ns", "net"});
  }
  return a;
}

core::Status Criu::check() {
  auto r = core::run_checked(runner_, {criu_, "check"});
  if (!r.ok()) return std::move(r).error().wrap("CRIU cannot checkpoint processes on this host");
  return core::ok();
}

core::Status Criu::dump(pid_t pid, const CriuOptions& o) {
  PVEKIT_ASSIGN(auto args, criu_dump_args(criu_, pid, o));
  auto r = core::run_checked(runner_, args);
  if (!r.ok()) return std::move(r).error().wrap("see " + (o.work_path.empty() ? image_dir(o) : o.work_path) + "/dump.log");
  return core::ok();
}

core::Status Criu::restore(const std::string& rootfs, const std::string& pid_file, const CriuOptions& o) {
  PVEKIT_ASSIGN(auto args, criu_restore_args(criu_, rootfs, pid_file, o));
  auto r = core::run_checked(runner_, args);
  if (!r.ok())
    return std::move(r).error().wrap("see " + (o.work_path.empty() ? image_dir(o) : o.work_path) + "/restore.log");
  return core::ok();
}

}  // namespace pvekit::snapshot
