#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/result.h"

namespace pvekit::core {

using Json = nlohmann::json;

// Parses JSON text; `what` names the input in the error ("config.json").
Result<Json> parse_json(const std::string& text, const std::string& what);

// Parses YAML (a superset of JSON) into JSON values. Plain scalars follow the
// YAML core schema: true/false, null/~, integers and floats become typed JSON
// values; everything else, and every quoted scalar, stays a string. A key
// repeated in one mapping is an error naming it ("duplicate key
// \"balancing.balanciness\"", with its line); yaml_to_json throws
// YAML::ParserException for it.
Result<Json> parse_yaml(const std::string& text, const std::string& what);
Json yaml_to_json(const YAML::Node& node);

// Renders JSON as YAML (block style), for writing scenario files.
std::string json_to_yaml(const Json& value);

// A short type name for error messages: "string", "integer", "object", ...
std::string json_type_name(const Json& value);

}  // namespace pvekit::core
