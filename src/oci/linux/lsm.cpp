#include "oci/linux/lsm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"
#include "core/strings.h"
#include "oci/fd.h"
#include "oci/linux/syscalls.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

LsmSupport detect_lsm_support() {
  LsmSupport s;
  auto enabled = core::read_file("/sys/module/apparmor/parameters/enabled");
  s.apparmor = enabled.ok() && core::trim(*enabled) == "Y";
  struct stat st{};
  s.selinux = ::stat("/sys/fs/selinux/enforce", &st) == 0;
  return s;
}

Status check_lsm_requests(const Spec& spec, const LsmSupport& support, LsmPolicy policy,
                          std::vector<std::string>& warnings) {
  struct Request {
    const char* field;
    const std::string* value;
    bool supported;
    const char* lsm;
  };
  const std::string none;
  const Request requests[] = {
      {"process.apparmorProfile", spec.process ? &spec.process->apparmor_profile : &none, support.apparmor, "AppArmor"},
      {"process.selinuxLabel", spec.process ? &spec.process->selinux_label : &none, support.selinux, "SELinux"},
      {"linux.mountLabel", spec.linux ? &spec.linux->mount_label : &none, support.selinux, "SELinux"},
  };
  for (const auto& r : requests) {
    if (r.value->empty() || r.supported) continue;
    std::string why = std::string(r.lsm) + " is not enabled on this host";
    if (policy == LsmPolicy::Warn) {
      warnings.push_back(std::string(r.field) + " \"" + *r.value + "\" not applied: " + why +
                         " (security.lsm_unavailable is warn)");
      continue;
    }
    return Error(core::ErrorCategory::Config,
                 std::string(r.field) + ": " + why + "; the container would run unconfined (set "
                 "security.lsm_unavailable: warn in lxcri's config to run it anyway)")
        .with_detail("field", r.field);
  }
  return core::ok();
}

std::vector<ExecLabel> exec_labels(const Process& process, const LsmSupport& support, bool apparmor_attr_dir) {
  std::vector<ExecLabel> out;
  if (support.apparmor && !process.apparmor_profile.empty())
    out.push_back({apparmor_attr_dir ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec",
                   "exec " + process.apparmor_profile,
                   "process.apparmorProfile: AppArmor profile \"" + process.apparmor_profile + "\""});
  if (support.selinux && !process.selinux_label.empty())
    out.push_back({"/proc/self/attr/exec", process.selinux_label,
                   "process.selinuxLabel: SELinux label \"" + process.selinux_label + "\""});
  return out;
}

std::string effective_mount_label(const LinuxConfig& linux, const LsmSupport& support) {
  return support.selinux ? linux.mount_label : std::string();
}

Status apply_exec_labels(const Process& process, const LsmSupport& support) {
  struct stat st{};
  bool attr_dir = ::stat("/proc/self/attr/apparmor", &st) == 0;
  for (const auto& label : exec_labels(process, support, attr_dir)) {
    UniqueFd fd(::open(label.path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::system("open " + label.path, errno).wrap(label.what);
    // The kernel refuses a profile that is not loaded (ENOENT) at this write.
    if (Status s = write_on_procfs(fd.get(), label.path, label.content); !s.ok())
      return std::move(s).error().wrap(label.what);
  }
  return core::ok();
}

}  // namespace pvekit::oci::linux
