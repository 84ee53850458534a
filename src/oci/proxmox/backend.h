#pragma once

// Containers as Proxmox VE containers, driven through the PVE API (src/pve):
// the bundle's rootfs becomes a template archive on a `vztmpl` storage, the
// spec becomes the parameters of POST /nodes/{node}/lxc (spec_map.h). Every
// call waits for its PVE task; a failed task is an error with PVE's message.

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/clock.h"
#include "oci/backend.h"
#include "oci/runtime_config.h"
#include "pve/client.h"
#include "pve/types.h"

namespace pvekit::oci::proxmox {

class ProxmoxBackend final : public Backend {
 public:
  // Config error when lxcri's config has no usable proxmox_api section.
  static core::Result<std::unique_ptr<ProxmoxBackend>> connect(const RuntimeConfig& config);
  // Whether the config names a cluster at all (proxmox_api.hosts).
  static bool configured(const RuntimeConfig& config) { return !config.proxmox_api.hosts.empty(); }

  std::string name() const override { return "proxmox"; }
  core::Result<ContainerState> create(const CreateRequest& request) override;
  core::Status start(const ContainerState& state, const std::string& state_dir) override;
  bool alive(const ContainerState& state) override;
  core::Result<ContainerStatus> live_status(const ContainerState& state, bool exec_fifo_exists) override;
  core::Status kill(const ContainerState& state, int signal, bool all) override;
  core::Status destroy(const ContainerState& state) override;
  core::Status pause(const ContainerState& state) override;
  core::Status resume(const ContainerState& state) override;
  core::Result<std::vector<pid_t>> pids(const ContainerState& state) override;
  core::Result<pid_t> exec(const ContainerState& state, const ExecRequest& request) override;

  // The container lxcri created for `id`, found by its tag and description
  // (for a lost state directory); nullopt when there is none.
  core::Result<std::optional<ContainerState>> find(const std::string& id);
  // Every container lxcri created (tag `lxcri`, identity in the description)
  // whose vmid is not in `known_vmids`.
  core::Result<std::vector<ContainerState>> list_managed(const std::set<int64_t>& known_vmids);

 private:
  ProxmoxBackend(ProxmoxSettings settings, std::unique_ptr<pve::Transport> transport);

  core::Status wait(const core::Result<std::string>& upid, const std::string& what, int64_t timeout_s);
  // The state of the lxcri container in CT `r`, from the identity in its
  // description; nullopt when the description is not lxcri's.
  core::Result<std::optional<ContainerState>> recovered_state(const pve::ClusterResource& r);
  core::Result<std::string> target_node();
  // Undo of a failed create: the container (after its create task ended) and the template.
  void cleanup_failed_create(const std::string& node, int64_t vmid, const std::string& create_upid,
                             const std::string& volid);

  ProxmoxSettings settings_;
  std::unique_ptr<pve::Transport> transport_;
  core::SystemClock clock_;
  std::unique_ptr<pve::Client> client_;
};

// The helper lxcri-proxmox's main: links this backend and the pve snapshot
// driver into the lxcri command line it then runs (oci/proxmox_helper.h).
void link_into_lxcri();

}  // namespace pvekit::oci::proxmox
