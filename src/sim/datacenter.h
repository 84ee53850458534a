#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "sim/params.h"

namespace pvekit::sim {

// datacenter.cfg as /cluster/options shows and changes it (PVE's
// PVE::DataCenterConfig, PVE::API2::Cluster get_options/set_options).

// The parameters of PUT /cluster/options as the PVE 9.1 schema declares them
// (tests/data/pve-api/apischema.json.xz); `delete` included.
std::vector<ParamSpec> datacenter_option_params();

// Why `value` is not a valid property string for the option `option`
// ("crs", "migration", ...), in PVE::JSONSchema's words ("invalid format -
// ..."); nothing when it is valid or `option` is not a property string.
std::optional<std::string> check_datacenter_option(const std::string& option, const std::string& value);

// GET /cluster/options: the options set, property strings parsed into
// objects as PVE's datacenter.cfg parser does ({"crs": {"ha": "static"}}),
// their integer, number and boolean keys as numbers.
core::Json datacenter_options_json(const std::map<std::string, std::string>& cfg);

}  // namespace pvekit::sim
