#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "pve/client.h"
#include "pve/types.h"

// `proxlb snapshot`: the live cluster as a pvesim scenario (a "twin"), so an
// admin can rehearse `proxlb balance` on pvesim before running it for real.
namespace pvekit::balance {

// What the twin is made of, as read from the API.
struct TwinInputs {
  std::string cluster_name;
  std::vector<pve::ClusterResource> resources;  // /cluster/resources (all types)
  std::vector<pve::StorageConfig> storages;     // /storage
  std::vector<pve::Pool> pools;
  std::vector<pve::HaResource> ha_resources;
  std::vector<pve::HaRule> ha_rules;
  // vmid -> the guest's config (for the storage of its root disk and its
  // non-disk keys such as netN and ostype).
  std::map<int64_t, pve::GuestConfig> configs;
  // Templates, ISOs and imports on each available storage, by the storage's
  // /cluster/resources id ("storage/pve1/local"; a shared storage once).
  std::map<std::string, std::vector<pve::StorageContent>> files;
};

core::Result<TwinInputs> read_twin_inputs(pve::Client& client);

// The scenario document (docs/pvesim-scenario.md). Every guest's load
// profile is frozen at the figures read (no daily swing, no noise) and each
// node's own use is what its figures hold beyond its guests, so pvesim
// reproduces the cluster as it was. Credentials are pvesim's defaults: the
// cluster's own users and secrets are never written.
core::Json twin_scenario(const TwinInputs& inputs);

// The scenario as YAML with a header saying where it came from.
std::string twin_yaml(const core::Json& scenario, const std::string& source);

}  // namespace pvekit::balance
