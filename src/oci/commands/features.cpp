#include <seccomp.h>

#include <sys/stat.h>

#include "core/files.h"
#include "core/strings.h"
#include "oci/commands.h"
#include "oci/linux/cgroups.h"
#include "oci/linux/lsm.h"
#include "oci/linux/mounts.h"
#include "oci/linux/systemd_cgroup.h"
#include "pvekit/version.h"

namespace pvekit::oci {

namespace {

// The controllers the container cgroups of this host can use: the v2 root's
// cgroup.controllers, or the v1 hierarchies mounted under `root`.
std::string host_cgroup_controllers(const std::string& root, linux::CgroupLayout layout) {
  if (layout == linux::CgroupLayout::V2) {
    auto text = core::read_file(root + "/cgroup.controllers");
    return text.ok() ? std::string(core::trim(*text)) : "";
  }
  std::string out;
  for (const auto& c : linux::v1_resource_controllers()) {
    struct stat st{};
    if (::stat((root + "/" + c).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out += (out.empty() ? "" : " ") + c;
  }
  return out;
}

nlohmann::ordered_json linux_features(const linux::LsmSupport& lsm) {
  nlohmann::ordered_json l;
  l["namespaces"] = known_namespaces();
  l["capabilities"] = known_capabilities();
  l["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}, {"rdma", true}};
  l["seccomp"] = {{"enabled", true},
                  {"actions", known_seccomp_actions()},
                  {"operators", known_seccomp_operators()},
                  {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                             "SCMP_ARCH_ARM"}},
                  {"knownFlags", known_seccomp_flags()},
                  {"supportedFlags", known_seccomp_flags()}};
  // Labels are applied where the host has the LSM, and refused (or ignored,
  // security.lsm_unavailable) where it has not: enabled says which.
  l["apparmor"] = {{"enabled", lsm.apparmor}};
  l["selinux"] = {{"enabled", lsm.selinux}};
  return l;
}

}  // namespace

core::Status cmd_features(Context& ctx) {
  nlohmann::ordered_json f;
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = "1.1.0";
  f["hooks"] = known_hooks();
  f["mountOptions"] = linux::known_mount_options();
  f["linux"] = linux_features(linux::detect_lsm_support());
  const scmp_version* v = seccomp_version();
  f["annotations"] = {
      {"io.github.seccomp.libseccomp.version",
       std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro)},
      {"org.pvekit.lxcri.version", kVersion}};
  // What this host offers (runc's document says what the runtime can do).
  const std::string& root = ctx.global.cgroup_root;
  if (auto layout = linux::detect_cgroup_layout(root); layout.ok()) {
    f["annotations"]["org.pvekit.lxcri.host.cgroup"] = std::string(linux::to_string(*layout));
    f["annotations"]["org.pvekit.lxcri.host.cgroupControllers"] = host_cgroup_controllers(root, *layout);
    bool systemd_driver = *layout == linux::CgroupLayout::V2 && linux::systemd_booted();
    f["annotations"]["org.pvekit.lxcri.host.systemdCgroup"] = systemd_driver ? "true" : "false";
  } else {
    f["annotations"]["org.pvekit.lxcri.host.cgroup"] = "none";
  }
  ctx.out << f.dump(4) << "\n";
  return core::ok();
}

}  // namespace pvekit::oci
