#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace pvekit::sim {

// Request parameters after merging path, query and body: name -> raw text.
using Params = std::map<std::string, std::string>;

enum class ParamType { String, Integer, Number, Boolean };
std::string_view to_string(ParamType type);

// One parameter of a route, as the PVE schema declares it. An indexed
// parameter ("net[n]", count 32) accepts net0..net31.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  bool optional = true;
  std::vector<std::string> enums;  // allowed values, empty: any
  std::optional<int64_t> minimum;
  std::optional<int64_t> maximum;
  int count = 0;  // > 0: indexed parameter, name is "<prefix>[n]"

  bool matches(const std::string& param) const;
};

// Builders for compact route tables.
ParamSpec p_str(std::string name, bool required = false);
ParamSpec p_int(std::string name, bool required = false, std::optional<int64_t> min = std::nullopt,
                std::optional<int64_t> max = std::nullopt);
ParamSpec p_num(std::string name, std::optional<int64_t> min = std::nullopt, std::optional<int64_t> max = std::nullopt);
ParamSpec p_bool(std::string name);
ParamSpec p_enum(std::string name, std::vector<std::string> values, bool required = false);
ParamSpec p_indexed(std::string prefix, int count);
ParamSpec p_node();
ParamSpec p_vmid();

// PVE::JSONSchema's check of one value against its spec: the message, or
// nothing when the value is valid. Integers and numbers are checked as PVE
// does (syntax, then maximum, then minimum); integers beyond 64 bits are
// refused with a range message even where the schema sets no limit.
std::optional<std::string> check_param(const ParamSpec& spec, const std::string& value);

// PVE's parameter verification: returns param -> message for every problem
// (missing required, unknown, type, enum and range errors); empty when valid.
// Messages are PVE's, e.g. "property is missing and it is not optional".
std::map<std::string, std::string> validate_params(const std::vector<ParamSpec>& specs, const Params& params);

// PVE's parameter error for one parameter: HTTP 400 "Parameter verification
// failed." with `errors: {param: message}`.
core::Error param_error(const std::string& param, const std::string& message);

// Typed access after validation (caller guarantees the value is valid or
// absent); the fallback also for values of the wrong type.
int64_t param_int(const Params& params, const std::string& name, int64_t fallback = 0);
bool param_bool(const Params& params, const std::string& name, bool fallback = false);
double param_num(const Params& params, const std::string& name, double fallback = 0);
std::string param_str(const Params& params, const std::string& name, const std::string& fallback = "");

}  // namespace pvekit::sim
