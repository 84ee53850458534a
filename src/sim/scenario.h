#pragma once

#include <string>

#include "core/json.h"
#include "core/result.h"
#include "sim/model.h"

namespace pvekit::sim {

// Builds a Cluster from a scenario document (see docs/pvesim-scenario.md).
// Unknown keys, wrong types and dangling references (guest on an unknown
// node, HA resource for an unknown guest, ...) are Config errors naming the
// offending key path, e.g. "guests[3].memroy: unknown key".
core::Result<Cluster> cluster_from_json(const core::Json& doc, double now_unix);

// Reads and parses a YAML scenario file; errors are prefixed with the path.
core::Result<Cluster> load_scenario_file(const std::string& path, double now_unix);

// The built-in default: 5 nodes of different sizes, about 60 guests, a few
// ProxLB tags, local and shared storage, one HA resource and one HA rule,
// deliberately a bit unbalanced. Users: root@pam / "pvesim", token
// root@pam!pvekit = kDefaultTokenSecret.
Cluster default_cluster(double now_unix);

inline constexpr const char* kDefaultPassword = "pvesim";
inline constexpr const char* kDefaultTokenSecret = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
// root@pam with kDefaultPassword and the token "pvekit" (no privilege
// separation: root's full rights), the user of scenarios that list none.
User default_root_user();

// A synthetic large cluster for load tests ("nodes=50,guests=10000").
struct GenerateSpec {
  int nodes = 50;
  int guests = 10000;
};
core::Result<GenerateSpec> parse_generate_spec(const std::string& text);
Cluster generate_cluster(const GenerateSpec& spec, uint64_t seed, double now_unix);

}  // namespace pvekit::sim
