#pragma once

// AppArmor and SELinux labels a spec asks for (process.apparmorProfile,
// process.selinuxLabel, linux.mountLabel). Where the LSM is enabled they are
// applied as runc applies them; where it is not, the container is refused,
// naming the field (runc refuses too), unless lxcri's config says
// `security.lsm_unavailable: warn`: then it runs with a warning per label. A
// spec that asks for confinement never runs unconfined in silence.

#include <string>
#include <vector>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

struct LsmSupport {
  bool apparmor = false;
  bool selinux = false;
};

// What this host has: AppArmor enabled (/sys/module/apparmor/parameters/enabled
// is "Y"), SELinux mounted (/sys/fs/selinux/enforce exists).
LsmSupport detect_lsm_support();

enum class LsmPolicy { Refuse, Warn };

// Refuse: a Config error naming the first label `support` cannot apply.
// Warn: ok, with one line per such label in `warnings`.
core::Status check_lsm_requests(const Spec& spec, const LsmSupport& support, LsmPolicy policy,
                                std::vector<std::string>& warnings);

// What to write, just before execve, for the labels of `process` that
// `support` can apply: AppArmor's "exec <profile>" to
// /proc/self/attr/apparmor/exec (/proc/self/attr/exec on kernels before
// 5.8), SELinux's label to /proc/self/attr/exec. Pure.
struct ExecLabel {
  std::string path;
  std::string content;
  std::string what;  // the field and label, for errors
};
std::vector<ExecLabel> exec_labels(const Process& process, const LsmSupport& support, bool apparmor_attr_dir);

// The mount label for MountContext: the spec's where SELinux can apply it, else "".
std::string effective_mount_label(const LinuxConfig& linux, const LsmSupport& support);

// Writes the exec labels in the calling process (the init or exec process,
// after its root switch); each file must be on procfs.
core::Status apply_exec_labels(const Process& process, const LsmSupport& support);

}  // namespace pvekit::oci::linux
