#include "oci/linux/namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

int namespace_flag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
#ifdef CLONE_NEWTIME
  if (type == "time") return CLONE_NEWTIME;
#endif
  return 0;
}

int clone_flags(const LinuxConfig& linux) {
  int flags = 0;
  for (const auto& ns : linux.namespaces)
    if (ns.path.empty()) flags |= namespace_flag(ns.type);
  return flags & ~CLONE_NEWCGROUP;
}

Status unshare_cgroup_namespace(const LinuxConfig& linux) {
  const auto* cgroup = linux.find_namespace("cgroup");
  if (!cgroup || !cgroup->path.empty()) return core::ok();
  if (::unshare(CLONE_NEWCGROUP) != 0) return Error::system("create the cgroup namespace", errno);
  return core::ok();
}

namespace {

Status join(const Namespace& ns) {
  UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + ns.type + " namespace " + ns.path, errno);
  if (::setns(fd.get(), namespace_flag(ns.type)) != 0)
    return Error::system("join " + ns.type + " namespace " + ns.path, errno);
  return core::ok();
}

Status write_map(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + path, errno);
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return Error::system("write " + path, errno);
  return core::ok();
}

}  // namespace

Status join_namespaces(const LinuxConfig& linux) {
  if (const auto* user = linux.find_namespace("user"); user && !user->path.empty()) PVEKIT_TRY(join(*user));
  for (const auto& ns : linux.namespaces)
    if (!ns.path.empty() && ns.type != "user" && ns.type != "pid") PVEKIT_TRY(join(ns));
  return core::ok();
}

Status bring_loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return Error::system("socket for the loopback interface", errno);
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) return Error::system("read the flags of lo", errno);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) return Error::system("bring lo up", errno);
  return core::ok();
}

core::Result<UniqueFd> enter_child_pid_namespace(const LinuxConfig& linux) {
  const auto* pid = linux.find_namespace("pid");
  if (!pid || pid->path.empty()) return UniqueFd();
  UniqueFd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return Error::system("open our pid namespace", errno);
  PVEKIT_TRY(join(*pid));
  return own;
}

Status leave_child_pid_namespace(const UniqueFd& own) {
  if (own.valid() && ::setns(own.get(), CLONE_NEWPID) != 0) return Error::system("return to our pid namespace", errno);
  return core::ok();
}

Status check_sysctl_namespaces(const LinuxConfig& linux) {
  static const char* const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : linux.sysctl) {
    std::string name = key;  // "net/ipv4/ip_forward" names the same file as "net.ipv4.ip_forward"
    std::replace(name.begin(), name.end(), '/', '.');
    auto refuse = [&](const std::string& why) {
      std::string field = "linux.sysctl." + key;
      return Error(core::ErrorCategory::Config, field + ": " + why).with_detail("field", field);
    };
    bool ipc = name.starts_with("fs.mqueue.") ||
               std::find(std::begin(ipc_keys), std::end(ipc_keys), name) != std::end(ipc_keys);
    if (ipc) {
      if (!linux.has_namespace("ipc")) return refuse("needs an ipc namespace, or it would change the host");
    } else if (name.starts_with("net.")) {
      if (!linux.has_namespace("network")) return refuse("needs a network namespace, or it would change the host");
    } else if (name == "kernel.domainname") {
      if (!linux.has_namespace("uts")) return refuse("needs a uts namespace, or it would change the host");
    } else if (name == "kernel.hostname") {
      return refuse("conflicts with the \"hostname\" field; set that instead");
    } else {
      return refuse("is not isolated by any namespace; setting it would change the host");
    }
  }
  return core::ok();
}

std::string format_id_map(const std::vector<IdMapping>& mappings) {
  std::string out;
  for (const auto& m : mappings)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  return out;
}

Status write_id_maps(pid_t pid, const LinuxConfig& linux) {
  std::string base = "/proc/" + std::to_string(pid);
  PVEKIT_TRY(write_map(base + "/uid_map", format_id_map(linux.uid_mappings)));
  Status gid = write_map(base + "/gid_map", format_id_map(linux.gid_mappings));
  if (!gid.ok() && gid.error().sys_errno() == EPERM) {
    PVEKIT_TRY(write_map(base + "/setgroups", "deny"));
    gid = write_map(base + "/gid_map", format_id_map(linux.gid_mappings));
  }
  return gid;
}

}  // namespace pvekit::oci::linux
