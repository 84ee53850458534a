#include <seccomp.h>

#include "oci/commands.h"
#include "oci/linux/mounts.h"
#include "pvekit/version.h"

namespace pvekit::oci {

namespace {

nlohmann::ordered_json linux_features() {
  nlohmann::ordered_json l;
  l["namespaces"] = known_namespaces();
  l["capabilities"] = known_capabilities();
  l["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}};
  l["seccomp"] = {{"enabled", true},
                  {"actions", known_seccomp_actions()},
                  {"operators", known_seccomp_operators()},
                  {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                             "SCMP_ARCH_ARM"}},
                  {"knownFlags", known_seccomp_flags()},
                  {"supportedFlags", known_seccomp_flags()}};
  l["apparmor"] = {{"enabled", false}};
  l["selinux"] = {{"enabled", false}};
  return l;
}

}  // namespace

core::Status cmd_features(Context& ctx) {
  nlohmann::ordered_json f;
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = "1.1.0";
  f["hooks"] = known_hooks();
  f["mountOptions"] = linux::known_mount_options();
  f["linux"] = linux_features();
  const scmp_version* v = seccomp_version();
  f["annotations"] = {
      {"io.github.seccomp.libseccomp.version",
       std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro)},
      {"org.pvekit.lxcri.version", kVersion}};
  ctx.out << f.dump(4) << "\n";
  return core::ok();
}

}  // namespace pvekit::oci
