#include "sim/params.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/strings.h"

namespace pvekit::sim {
namespace {

// PVE::JSONSchema::is_integer: m/^[+-]?\d+$/.
bool integer_syntax(std::string_view text) {
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// PVE::JSONSchema::is_number: /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.
bool number_syntax(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i - from;
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

// The value of an integer_syntax() text, or +1 / -1 when it is beyond int64.
struct IntegerValue {
  int64_t value = 0;
  int overflow = 0;
};
IntegerValue integer_value(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  IntegerValue out;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out.value);
  if (ec == std::errc::result_out_of_range) {
    out.overflow = negative ? -1 : 1;
    out.value = negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return out;
}

}  // namespace

std::optional<std::string> check_param(const ParamSpec& spec, const std::string& value) {
  // PVE checks the type, then maximum, then minimum, then the enumeration.
  // pvesim holds integers in 64 bits: beyond that, a parameter without a
  // limit of its own is refused at the 64-bit one.
  std::optional<int64_t> maximum = spec.maximum, minimum = spec.minimum;
  bool above = false, below = false;
  switch (spec.type) {
    case ParamType::Integer: {
      if (!integer_syntax(value)) return "type check ('integer') failed - got '" + value + "'";
      const IntegerValue v = integer_value(value);
      if (v.overflow > 0 && !maximum) maximum = std::numeric_limits<int64_t>::max();
      if (v.overflow < 0 && !minimum) minimum = std::numeric_limits<int64_t>::min();
      above = maximum && (v.overflow > 0 || v.value > *maximum);
      below = minimum && (v.overflow < 0 || v.value < *minimum);
      break;
    }
    case ParamType::Number: {
      if (!number_syntax(value)) return "type check ('number') failed - got '" + value + "'";
      const double v = std::strtod(value.c_str(), nullptr);  // +-HUGE_VAL beyond double: still ordered
      above = maximum && v > static_cast<double>(*maximum);
      below = minimum && v < static_cast<double>(*minimum);
      break;
    }
    case ParamType::Boolean:
      if (!core::parse_bool(value)) return "type check ('boolean') failed - got '" + value + "'";
      break;
    case ParamType::String:
      break;
  }
  if (above) return "value must have a maximum value of " + std::to_string(*maximum);
  if (below) return "value must have a minimum value of " + std::to_string(*minimum);
  if (!spec.enums.empty()) {
    for (const auto& e : spec.enums) {
      if (e == value) return std::nullopt;
    }
    return "value '" + value + "' does not have a value in the enumeration '" + core::join(spec.enums, ", ") + "'";
  }
  return std::nullopt;
}

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
ParamSpec p_num(std::string name, std::optional<int64_t> min, std::optional<int64_t> max) {
  return {std::move(name), ParamType::Number, true, {}, min, max};
}
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
    } else if (auto msg = check_param(*spec, value)) {
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
  if (it == params.end() || !integer_syntax(it->second)) return fallback;
  const IntegerValue v = integer_value(it->second);
  return v.overflow ? fallback : v.value;
}

bool param_bool(const Params& params, const std::string& name, bool fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  return core::parse_bool(it->second).value_or(fallback);
}

double param_num(const Params& params, const std::string& name, double fallback) {
  auto it = params.find(name);
  if (it == params.end() || !number_syntax(it->second)) return fallback;
  const double v = std::strtod(it->second.c_str(), nullptr);
  return std::isfinite(v) ? v : fallback;
}

std::string param_str(const Params& params, const std::string& name, const std::string& fallback) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

core::Error param_error(const std::string& param, const std::string& message) {
  return core::Error(core::ErrorCategory::Api, "Parameter verification failed.")
      .with_http_status(400)
      .with_detail(param, message);
}

}  // namespace pvekit::sim
