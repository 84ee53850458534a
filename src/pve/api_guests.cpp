#include "pve/api.h"
#include "pve/api_internal.h"
#include "pve/tags.h"

namespace pvekit::pve {

using core::Error;
using core::ErrorCategory;

namespace {

Error option_error(const std::string& message) {
  return Error(ErrorCategory::Config, message);
}

core::Result<std::string> post_task(Client& client, const std::string& path, const Params& params = {}) {
  return detail::expect_upid(client.post(path, params), "POST " + path);
}

}  // namespace

core::Result<Params> migrate_params(GuestType type, const MigrateOptions& o) {
  if (o.target.empty()) return option_error("migrate: target node is required");
  Params p{{"target", o.target}};
  if (type == GuestType::Qemu) {
    if (o.restart || o.timeout)
      return option_error("migrate: restart and timeout apply to containers only");
    if (o.online) p.set("online", true);
    if (o.with_local_disks) p.set("with-local-disks", true);
    if (o.with_conntrack_state) p.set("with-conntrack-state", true);
    p.set_nonempty("targetstorage", o.targetstorage);
  } else {
    if (o.with_local_disks || o.with_conntrack_state)
      return option_error("migrate: with-local-disks and with-conntrack-state apply to VMs only");
    if (o.online) p.set("online", true);
    if (o.restart) p.set("restart", true);
    p.set_if("timeout", o.timeout);
    p.set_nonempty("target-storage", o.targetstorage);
  }
  p.set_if("bwlimit", o.bwlimit);
  return p;
}

core::Result<std::string> migrate_guest(Client& client, const std::string& node, GuestType type,
                                        int64_t vmid, const MigrateOptions& options) {
  const std::string path = guest_path(node, type, vmid) + "/migrate";
  auto params = migrate_params(type, options);
  if (!params.ok()) return std::move(params).error().wrap("POST " + path);
  return post_task(client, path, *params);
}

core::Result<Params> lxc_create_params(const LxcCreateOptions& o) {
  if (o.vmid < 100) return option_error("lxc create: vmid must be >= 100");
  if (o.ostemplate.empty()) return option_error("lxc create: ostemplate is required");
  Params p;
  p.set("vmid", o.vmid).set("ostemplate", o.ostemplate);
  p.set_nonempty("hostname", o.hostname).set_nonempty("rootfs", o.rootfs).set_nonempty("storage", o.storage);
  p.set_if("memory", o.memory).set_if("swap", o.swap).set_if("cores", o.cores).set_if("cpulimit", o.cpulimit);
  for (const auto& [index, value] : o.net) p.set("net" + std::to_string(index), value);
  for (const auto& [index, value] : o.mp) p.set("mp" + std::to_string(index), value);
  p.set_if("unprivileged", o.unprivileged).set_if("onboot", o.onboot);
  if (o.start) p.set("start", true);
  p.set_nonempty("ostype", o.ostype).set_nonempty("arch", o.arch).set_nonempty("pool", o.pool);
  // PVE stores tags lower-case and without duplicates.
  if (!o.tags.empty()) p.set("tags", join_tags(parse_tags(join_tags(o.tags))));
  p.set_nonempty("description", o.description).set_nonempty("features", o.features);
  p.set_nonempty("nameserver", o.nameserver).set_nonempty("searchdomain", o.searchdomain);
  p.set_nonempty("ssh-public-keys", o.ssh_public_keys).set_nonempty("password", o.password);
  p.set_nonempty("entrypoint", o.entrypoint);
  for (const auto& [key, value] : o.extra) {
    if (p.get(key)) return option_error("lxc create: extra parameter '" + key + "' is also set as an option");
    p.set(key, value);
  }
  return p;
}

core::Result<std::string> lxc_create(Client& client, const std::string& node, const LxcCreateOptions& options) {
  const std::string path = node_path(node) + "/lxc";
  auto params = lxc_create_params(options);
  if (!params.ok()) return std::move(params).error().wrap("POST " + path);
  return post_task(client, path, *params);
}

core::Result<std::string> lxc_start(Client& client, const std::string& node, int64_t vmid) {
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/status/start");
}

core::Result<std::string> lxc_stop(Client& client, const std::string& node, int64_t vmid) {
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/status/stop");
}

core::Result<std::string> lxc_shutdown(Client& client, const std::string& node, int64_t vmid,
                                       std::optional<int64_t> timeout_s, bool force_stop) {
  Params params;
  params.set_if("timeout", timeout_s);
  if (force_stop) params.set("forceStop", true);
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/status/shutdown", params);
}

core::Result<std::string> lxc_suspend(Client& client, const std::string& node, int64_t vmid) {
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/status/suspend");
}

core::Result<std::string> lxc_resume(Client& client, const std::string& node, int64_t vmid) {
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/status/resume");
}

core::Result<std::string> lxc_delete(Client& client, const std::string& node, int64_t vmid, bool purge,
                                     bool force) {
  const std::string path = guest_path(node, GuestType::Lxc, vmid);
  Params params;
  if (purge) params.set("purge", true);
  if (force) params.set("force", true);
  return detail::expect_upid(client.del(path, params), "DELETE " + path);
}

core::Result<std::string> lxc_snapshot_create(Client& client, const std::string& node, int64_t vmid,
                                              const std::string& name, const std::string& description) {
  Params params{{"snapname", name}};
  params.set_nonempty("description", description);
  return post_task(client, guest_path(node, GuestType::Lxc, vmid) + "/snapshot", params);
}

core::Result<std::vector<Snapshot>> lxc_snapshot_list(Client& client, const std::string& node, int64_t vmid) {
  const std::string path = guest_path(node, GuestType::Lxc, vmid) + "/snapshot";
  return detail::parse_answer(client.get(path), "GET " + path, parse_snapshots);
}

core::Result<std::string> lxc_snapshot_rollback(Client& client, const std::string& node, int64_t vmid,
                                                const std::string& name, bool start) {
  Params params;
  if (start) params.set("start", true);
  return post_task(client,
                   guest_path(node, GuestType::Lxc, vmid) + "/snapshot/" + encode_path_segment(name) + "/rollback",
                   params);
}

core::Result<std::string> lxc_snapshot_delete(Client& client, const std::string& node, int64_t vmid,
                                              const std::string& name, bool force) {
  const std::string path = guest_path(node, GuestType::Lxc, vmid) + "/snapshot/" + encode_path_segment(name);
  Params params;
  if (force) params.set("force", true);
  return detail::expect_upid(client.del(path, params), "DELETE " + path);
}

}  // namespace pvekit::pve
