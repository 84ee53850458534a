// pve driver: Proxmox's own container snapshots through the API. Proxmox
// freezes the container for the snapshot and stops it for a rollback.
#include <algorithm>
#include <chrono>

#include "pve/api.h"
#include "snapshot/driver.h"

namespace pvekit::snapshot {

using core::Error;
using core::ErrorCategory;

namespace {

class PveDriver final : public Driver {
 public:
  PveDriver(pve::Client& client, const CheckpointConfig& config) : client_(client) {
    wait_.timeout = std::chrono::seconds(config.pve_task_timeout_s);
    // Snapshot tasks of small containers take about a second; poll faster than the 1 s default.
    wait_.poll_interval = std::chrono::milliseconds(250);
  }

  DriverKind kind() const override { return DriverKind::Pve; }
  bool needs_freeze() const override { return false; }

  core::Status create(const Target& t, const std::string& name) override {
    PVEKIT_TRY(validate_snapshot_name(name));
    PVEKIT_TRY(require_vmid(t));
    PVEKIT_ASSIGN(auto have, find(t, name));
    if (have) return Error(ErrorCategory::Conflict, "snapshot " + name + " of CT " + ct(t) + " exists already");
    PVEKIT_ASSIGN(auto upid, pve::lxc_snapshot_create(client_, t.pve_node, t.pve_vmid, name, "lxcri checkpoint of " + t.id));
    return wait(upid, "snapshot CT " + ct(t));
  }

  core::Status rollback(const Target& t, const std::string& name, bool start_after) override {
    PVEKIT_TRY(existing(t, name));
    PVEKIT_ASSIGN(auto upid, pve::lxc_snapshot_rollback(client_, t.pve_node, t.pve_vmid, name, start_after));
    return wait(upid, "rollback CT " + ct(t) + " to " + name);
  }

  core::Result<std::vector<SnapshotInfo>> list(const Target& t) override {
    PVEKIT_TRY(require_vmid(t));
    PVEKIT_ASSIGN(auto snaps, pve::lxc_snapshot_list(client_, t.pve_node, t.pve_vmid));
    std::vector<SnapshotInfo> out;
    for (const auto& s : snaps)
      if (s.name != "current") out.push_back({s.name, s.snaptime});
    std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
      return a.created != b.created ? a.created < b.created : a.name < b.name;
    });
    return out;
  }

  core::Status remove(const Target& t, const std::string& name) override {
    PVEKIT_TRY(existing(t, name));
    PVEKIT_ASSIGN(auto upid, pve::lxc_snapshot_delete(client_, t.pve_node, t.pve_vmid, name));
    return wait(upid, "delete snapshot " + name + " of CT " + ct(t));
  }

 private:
  static std::string ct(const Target& t) { return std::to_string(t.pve_vmid) + " on " + t.pve_node; }

  static core::Status require_vmid(const Target& t) {
    if (t.pve_node.empty() || t.pve_vmid <= 0)
      return Error(ErrorCategory::Internal, "container " + t.id + " has no Proxmox node and vmid in its state");
    return core::ok();
  }

  core::Result<bool> find(const Target& t, const std::string& name) {
    PVEKIT_ASSIGN(auto snaps, list(t));
    return std::any_of(snaps.begin(), snaps.end(), [&](const SnapshotInfo& s) { return s.name == name; });
  }

  core::Status existing(const Target& t, const std::string& name) {
    PVEKIT_TRY(validate_snapshot_name(name));
    PVEKIT_ASSIGN(auto have, find(t, name));
    if (!have) return Error(ErrorCategory::NotFound, "snapshot " + name + " of CT " + ct(t) + " does not exist");
    return core::ok();
  }

  core::Status wait(const std::string& upid, const std::string& what) {
    auto status = pve::wait_task(client_, upid, wait_);
    if (!status.ok()) return std::move(status).error().wrap(what);
    return core::ok();
  }

  pve::Client& client_;
  pve::WaitOptions wait_;
};

}  // namespace

std::unique_ptr<Driver> make_pve_driver(pve::Client& client, const CheckpointConfig& config) {
  return std::make_unique<PveDriver>(client, config);
}

}  // namespace pvekit::snapshot
