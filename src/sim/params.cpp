#include "sim/params.h"

#include "core/strings.h"

namespace pvekit::sim {
namespace {

std::optional<std::string> check_value(const ParamSpec& spec, const std::string& value) {
  switch (spec.type) {
    case ParamType::Integer: {
      auto v = core::parse_int(value);
      if (!v) return "type check ('integer') failed - got '" + value + "'";
      if (spec.minimum && *v < *spec.minimum) return "value must have a minimum value of " + std::to_string(*spec.minimum);
      if (spec.maximum && *v > *spec.maximum) return "value must have a maximum value of " + std::to_string(*spec.maximum);
      break;
    }
    case ParamType::Number:
      if (!core::parse_double(value)) return "type check ('number') failed - got '" + value + "'";
      break;
    case ParamType::Boolean:
      if (!core::parse_bool(value)) return "type check ('boolean') failed - got '" + value + "'";
      break;
    case ParamType::String:
      break;
  }
  if (!spec.enums.empty()) {
    for (const auto& e : spec.enums) {
      if (e == value) return std::nullopt;
    }
    return "value '" + value + "' does not have a value in the enumeration '" + core::join(spec.enums, ", ") + "'";
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::Integer: return "integer";
    case ParamType::Number: return "number";
    case ParamType::Boolean: return "boolean";
    case ParamType::String: break;
  }
  return "string";
}

bool ParamSpec::matches(const std::string& param) const {
  if (count == 0) return param == name;
  const std::string prefix = name.substr(0, name.find('['));
  if (!core::starts_with(param, prefix) || param.size() == prefix.size()) return false;
  const std::string digits = param.substr(prefix.size());
  if (digits.size() > 1 && digits[0] == '0') return false;
  auto index = core::parse_int(digits);
  return index && *index >= 0 && *index < count;
}

ParamSpec p_str(std::string name, bool required) { return {std::move(name), ParamType::String, !required}; }
ParamSpec p_int(std::string name, bool required, std::optional<int64_t> min, std::optional<int64_t> max) {
  return {std::move(name), ParamType::Integer, !required, {}, min, max};
}
ParamSpec p_num(std::string name) { return {std::move(name), ParamType::Number}; }
ParamSpec p_bool(std::string name) { return {std::move(name), ParamType::Boolean}; }
ParamSpec p_enum(std::string name, std::vector<std::string> values, bool required) {
  return {std::move(name), ParamType::String, !required, std::move(values)};
}
ParamSpec p_indexed(std::string prefix, int count) {
  ParamSpec spec{prefix + "[n]", ParamType::String};
  spec.count = count;
  return spec;
}
ParamSpec p_node() { return p_str("node", true); }
ParamSpec p_vmid() { return p_int("vmid", true, 100, 999999999); }

std::map<std::string, std::string> validate_params(const std::vector<ParamSpec>& specs, const Params& params) {
  std::map<std::string, std::string> errors;
  for (const auto& [name, value] : params) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.matches(name)) spec = &s;
    }
    if (!spec) {
      errors[name] = "property is not defined in schema and the schema does not allow additional properties";
    } else if (auto msg = check_value(*spec, value)) {
      errors[name] = *msg;
    }
  }
  for (const auto& s : specs) {
    if (!s.optional && !params.count(s.name)) errors[s.name] = "property is missing and it is not optional";
  }
  return errors;
}

int64_t param_int(const Params& params, const std::string& name, int64_t fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  return core::parse_int(it->second).value_or(fallback);
}

bool param_bool(const Params& params, const std::string& name, bool fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  return core::parse_bool(it->second).value_or(fallback);
}

double param_num(const Params& params, const std::string& name, double fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  return core::parse_double(it->second).value_or(fallback);
}

std::string param_str(const Params& params, const std::string& name, const std::string& fallback) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

}  // namespace pvekit::sim
