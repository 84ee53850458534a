#pragma once

#include <string>

#include "oci/backend.h"
#include "oci/linux/lsm.h"
#include "oci/linux/stats.h"
#include "oci/linux/systemd_cgroup.h"

namespace pvekit::oci::linux {

// Which cgroup driver new containers get; a container keeps the one it was
// created with (its state says), whatever later commands are given.
struct CgroupDriver {
  bool systemd = false;  // --systemd-cgroup
  SystemdConnector connect_systemd;  // for containers with a systemd scope
};

// Containers as Linux processes in namespaces and cgroups on this host.
class LinuxBackend final : public Backend {
 public:
  // `cgroup_root` is where the cgroup hierarchies are mounted (/sys/fs/cgroup);
  // `lsm_policy` what to do with labels of an LSM this host lacks (lsm.h).
  explicit LinuxBackend(std::string cgroup_root, LsmPolicy lsm_policy = LsmPolicy::Refuse, CgroupDriver driver = {})
      : cgroup_root_(std::move(cgroup_root)), lsm_policy_(lsm_policy), driver_(std::move(driver)) {}

  std::string name() const override { return "linux"; }
  core::Result<ContainerState> create(const CreateRequest& request) override;
  core::Status start(const ContainerState& state, const std::string& state_dir) override;
  bool alive(const ContainerState& state) override;
  core::Status kill(const ContainerState& state, int signal, bool all) override;
  core::Status destroy(const ContainerState& state) override;
  core::Status pause(const ContainerState& state) override;
  core::Status resume(const ContainerState& state) override;
  core::Result<std::vector<pid_t>> pids(const ContainerState& state) override;
  core::Result<pid_t> exec(const ContainerState& state, const ExecRequest& request) override;
  core::Status update(const ContainerState& state, const ResourceUpdate& update) override;
  core::Result<core::Json> stats(const ContainerState& state) override;
  core::Result<std::unique_ptr<OomWatch>> watch_oom(const ContainerState& state) override {
    return watch_cgroup_oom(state.cgroup_root, state.cgroup_path);  // stats.h
  }

 private:
  core::Result<std::unique_ptr<CgroupManager>> cgroup_of(const ContainerState& state) const;
  // The manager for a new container, with its cgroup recorded in `state`.
  core::Result<std::unique_ptr<CgroupManager>> new_cgroup(const LinuxConfig& linux, ContainerState& state) const;

  std::string cgroup_root_;
  LsmPolicy lsm_policy_;
  CgroupDriver driver_;
};

}  // namespace pvekit::oci::linux
