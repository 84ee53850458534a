// What the helper lxcri-proxmox links in (see oci/proxmox_helper.h).

#include "core/files.h"
#include "oci/proxmox/backend.h"
#include "oci/proxmox_helper.h"
#include "pve/api_config.h"

namespace pvekit::oci::proxmox {
namespace {

core::Result<std::unique_ptr<Backend>> connect(const RuntimeConfig& config) {
  PVEKIT_ASSIGN(auto backend, ProxmoxBackend::connect(config));
  return std::unique_ptr<Backend>(std::move(backend));
}

core::Result<std::optional<ContainerState>> find(const RuntimeConfig& config, const std::string& id) {
  PVEKIT_ASSIGN(auto backend, ProxmoxBackend::connect(config));
  return backend->find(id);
}

core::Result<std::vector<ContainerState>> list_managed(const RuntimeConfig& config,
                                                       const std::set<int64_t>& known_vmids) {
  PVEKIT_ASSIGN(auto backend, ProxmoxBackend::connect(config));
  return backend->list_managed(known_vmids);
}

// The pve driver together with the API connection it works through.
class ConnectedPveDriver final : public snapshot::Driver {
 public:
  static core::Result<std::unique_ptr<snapshot::Driver>> open(const RuntimeConfig& config) {
    // The same connection settings the proxmox backend uses.
    PVEKIT_ASSIGN(auto options, pve::to_client_options(config.proxmox_api, core::read_file));
    auto self = std::unique_ptr<ConnectedPveDriver>(new ConnectedPveDriver());
    PVEKIT_ASSIGN(self->transport_, pve::make_transport(options));
    PVEKIT_ASSIGN(self->client_, pve::Client::create(std::move(options), *self->transport_, self->clock_));
    self->driver_ = snapshot::make_pve_driver(*self->client_, config.checkpoint);
    return std::unique_ptr<snapshot::Driver>(std::move(self));
  }

  snapshot::DriverKind kind() const override { return driver_->kind(); }
  bool needs_freeze() const override { return driver_->needs_freeze(); }
  core::Status create(const snapshot::Target& t, const std::string& name) override { return driver_->create(t, name); }
  core::Status rollback(const snapshot::Target& t, const std::string& name, bool start_after) override {
    return driver_->rollback(t, name, start_after);
  }
  core::Result<std::vector<snapshot::SnapshotInfo>> list(const snapshot::Target& t) override { return driver_->list(t); }
  core::Status remove(const snapshot::Target& t, const std::string& name) override { return driver_->remove(t, name); }

 private:
  ConnectedPveDriver() = default;

  std::unique_ptr<pve::Transport> transport_;
  core::SystemClock clock_;
  std::unique_ptr<pve::Client> client_;
  std::unique_ptr<snapshot::Driver> driver_;  // declared last: destroyed before the client it uses
};

const ProxmoxFunctions kFunctions{
    .connect = connect,
    .find = find,
    .list_managed = list_managed,
    .pve_driver = ConnectedPveDriver::open,
};

}  // namespace

void link_into_lxcri() { link_proxmox_functions(kFunctions); }

}  // namespace pvekit::oci::proxmox
