#include "core/config.h"

#include <algorithm>
#include <cmath>

#include "core/files.h"
#include "core/strings.h"

extern char** environ;

namespace pvekit::core {
namespace {

Error bad_value(const std::string& path, const std::string& source, const std::string& why) {
  return config_key_error(path, why).wrap(source);
}

std::string type_name(ValueType t) {
  switch (t) {
    case ValueType::String:
    case ValueType::Secret: return "a string";
    case ValueType::Integer: return "an integer";
    case ValueType::Number: return "a number";
    case ValueType::Boolean: return "a boolean";
    case ValueType::StringList: return "a list of strings";
    case ValueType::Object: return "a mapping";
    case ValueType::List: return "a list";
  }
  return "a value";
}

}  // namespace

ConfigSchema& ConfigSchema::add(KeySpec spec) {
  keys_.push_back(std::move(spec));
  return *this;
}

const KeySpec* ConfigSchema::find(const std::string& path) const {
  auto it = std::find_if(keys_.begin(), keys_.end(), [&](const KeySpec& k) { return k.path == path; });
  return it == keys_.end() ? nullptr : &*it;
}

std::string ConfigSchema::env_name(const std::string& prefix, const std::string& path) {
  std::string name = prefix;
  for (char c : path) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

LayeredConfig::LayeredConfig(const ConfigSchema& schema) : schema_(schema) {
  for (const auto& key : schema_.keys()) {
    if (!key.default_value.is_null()) {
      values_[key.path] = key.default_value;
      sources_[key.path] = "default";
    }
  }
}

Result<Json> LayeredConfig::coerce(const KeySpec& spec, const Json& value) const {
  auto fail = [&](const std::string& extra = "") -> Error {
    return Error(ErrorCategory::Config, "expected " + type_name(spec.type) + ", got " +
                                            (spec.type == ValueType::Secret ? "a " + json_type_name(value) : json_type_name(value)) + extra);
  };
  Json out;
  switch (spec.type) {
    case ValueType::String:
    case ValueType::Secret:
      if (value.is_string()) out = value;
      else if (value.is_number()) out = value.dump();  // e.g. a numeric password in YAML
      else return fail();
      break;
    case ValueType::Integer:
      if (value.is_number_integer()) out = value;
      else if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>())
        out = static_cast<int64_t>(value.get<double>());
      else if (value.is_string()) {
        auto v = parse_int(trim(value.get<std::string>()));
        if (!v) return fail(" '" + value.get<std::string>() + "'");
        out = *v;
      } else return fail();
      break;
    case ValueType::Number:
      if (value.is_number()) out = value.get<double>();
      else if (value.is_string()) {
        auto v = parse_double(trim(value.get<std::string>()));
        if (!v) return fail(" '" + value.get<std::string>() + "'");
        out = *v;
      } else return fail();
      break;
    case ValueType::Boolean:
      if (value.is_boolean()) out = value;
      else if (value.is_number_integer() && (value == 0 || value == 1)) out = value == 1;
      else if (value.is_string()) {
        auto v = parse_bool(value.get<std::string>());
        if (!v) return fail(" '" + value.get<std::string>() + "'");
        out = *v;
      } else return fail();
      break;
    case ValueType::StringList:
      if (value.is_string()) {
        out = Json::array();
        for (auto& part : split(value.get<std::string>(), ',', true)) out.push_back(std::string(trim(part)));
      } else if (value.is_array()) {
        out = Json::array();
        for (const auto& item : value) {
          if (item.is_string()) out.push_back(item);
          else if (item.is_number()) out.push_back(item.dump());
          else return fail(" containing " + json_type_name(item));
        }
      } else if (value.is_null()) {
        out = Json::array();
      } else return fail();
      break;
    case ValueType::Object:
      if (!value.is_object() && !value.is_null()) return fail();
      out = value.is_null() ? Json::object() : value;
      break;
    case ValueType::List:
      if (!value.is_array() && !value.is_null()) return fail();
      out = value.is_null() ? Json::array() : value;
      break;
  }
  if (spec.type == ValueType::Integer || spec.type == ValueType::Number) {
    // Bounds print as integers for integer keys ("minimum 1", not "1.0").
    auto bound = [&](double b) {
      return spec.type == ValueType::Integer ? Json(static_cast<int64_t>(b)).dump() : Json(b).dump();
    };
    double v = out.get<double>();
    if (spec.min && v < *spec.min)
      return Error(ErrorCategory::Config, "value " + out.dump() + " is below the minimum " + bound(*spec.min));
    if (spec.max && v > *spec.max)
      return Error(ErrorCategory::Config, "value " + out.dump() + " is above the maximum " + bound(*spec.max));
  }
  if (!spec.choices.empty()) {
    auto check = [&](const std::string& s) -> Status {
      if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end())
        return Error(ErrorCategory::Config, "'" + s + "' is not one of: " + join(spec.choices, ", "));
      return ok();
    };
    if (out.is_string()) PVEKIT_TRY(check(out.get<std::string>()));
    if (out.is_array())
      for (const auto& s : out) PVEKIT_TRY(check(s.get<std::string>()));
  }
  return out;
}

Result<Json> LayeredConfig::parse_text(const KeySpec& spec, const std::string& text) const {
  if (spec.type == ValueType::Object || spec.type == ValueType::List) {
    auto parsed = parse_yaml(text, "value");
    if (!parsed) return std::move(parsed).error();
    return coerce(spec, *parsed);
  }
  return coerce(spec, Json(text));
}

Status LayeredConfig::flatten(const Json& node, const std::string& prefix, const std::string& source,
                              std::map<std::string, Json>& out) const {
  if (!node.is_object()) {
    return Error(ErrorCategory::Config,
                 (prefix.empty() ? std::string("document") : "key '" + prefix + "'") +
                     " must be a mapping, got " + json_type_name(node))
        .wrap(source);
  }
  for (const auto& [key, value] : node.items()) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (const KeySpec* spec = schema_.find(path)) {
      auto coerced = coerce(*spec, value);
      if (!coerced) return bad_value(path, source, coerced.error().message());
      out[path] = std::move(*coerced);
      continue;
    }
    bool is_section = std::any_of(schema_.keys().begin(), schema_.keys().end(),
                                  [&](const KeySpec& k) { return starts_with(k.path, path + "."); });
    if (!is_section) return Error(ErrorCategory::Config, "unknown key '" + path + "'").wrap(source);
    if (value.is_null()) continue;  // an empty section in YAML
    PVEKIT_TRY(flatten(value, path, source, out));
  }
  return ok();
}

Status LayeredConfig::merge_document(const Json& document, const std::string& source) {
  if (document.is_null()) return ok();  // an empty file
  std::map<std::string, Json> staged;
  PVEKIT_TRY(flatten(document, "", source, staged));
  for (auto& [path, value] : staged) {
    values_[path] = std::move(value);
    sources_[path] = source;
  }
  return ok();
}

Status LayeredConfig::merge_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::move(text).error().wrap("config file");
  auto doc = parse_yaml(*text, path);
  if (!doc) return std::move(doc).error();
  return merge_document(*doc, path);
}

Status LayeredConfig::merge_environment(const std::map<std::string, std::string>& env,
                                        const std::string& prefix,
                                        const std::vector<std::string>& ignored) {
  std::map<std::string, Json> staged;
  std::map<std::string, std::string> staged_sources;
  for (const auto& [name, text] : env) {
    if (!starts_with(name, prefix)) continue;
    if (std::find(ignored.begin(), ignored.end(), name) != ignored.end()) continue;
    const KeySpec* match = nullptr;
    for (const auto& key : schema_.keys()) {
      if (ConfigSchema::env_name(prefix, key.path) == name) match = &key;
    }
    if (!match) return Error(ErrorCategory::Config, "unknown environment variable " + name + " (no such config key)");
    auto value = parse_text(*match, text);
    if (!value) return bad_value(match->path, "env " + name, value.error().message());
    staged[match->path] = std::move(*value);
    staged_sources[match->path] = "env " + name;
  }
  for (auto& [path, value] : staged) {
    values_[path] = std::move(value);
    sources_[path] = staged_sources[path];
  }
  return ok();
}

Status LayeredConfig::set(const std::string& path, const std::string& text, const std::string& source) {
  const KeySpec* spec = schema_.find(path);
  if (!spec) return Error(ErrorCategory::Config, "unknown key '" + path + "'").wrap(source);
  auto value = parse_text(*spec, text);
  if (!value) return bad_value(path, source, value.error().message());
  values_[path] = std::move(*value);
  sources_[path] = source;
  return ok();
}

bool LayeredConfig::has(const std::string& path) const { return values_.count(path) != 0; }

const Json& LayeredConfig::get(const std::string& path) const {
  static const Json null_value;
  auto it = values_.find(path);
  return it == values_.end() ? null_value : it->second;
}

std::string LayeredConfig::get_string(const std::string& path) const {
  const Json& v = get(path);
  return v.is_string() ? v.get<std::string>() : std::string();
}
int64_t LayeredConfig::get_int(const std::string& path) const {
  const Json& v = get(path);
  return v.is_number() ? v.get<int64_t>() : 0;
}
double LayeredConfig::get_number(const std::string& path) const {
  const Json& v = get(path);
  return v.is_number() ? v.get<double>() : 0.0;
}
bool LayeredConfig::get_bool(const std::string& path) const {
  const Json& v = get(path);
  return v.is_boolean() && v.get<bool>();
}
std::vector<std::string> LayeredConfig::get_list(const std::string& path) const {
  const Json& v = get(path);
  return v.is_array() ? v.get<std::vector<std::string>>() : std::vector<std::string>{};
}

std::string LayeredConfig::source_of(const std::string& path) const {
  auto it = sources_.find(path);
  return it == sources_.end() ? "unset" : it->second;
}

Json LayeredConfig::dump(bool redact_secrets) const {
  Json out = Json::object();
  for (const auto& [path, value] : values_) {
    const KeySpec* spec = schema_.find(path);
    bool secret = spec && spec->type == ValueType::Secret;
    out[Json::json_pointer("/" + [&] {
      std::string p = path;
      std::replace(p.begin(), p.end(), '.', '/');
      return p;
    }())] = (secret && redact_secrets) ? Json("<redacted>") : value;
  }
  return out;
}

std::map<std::string, std::string> LayeredConfig::process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

Error config_key_error(const std::string& key, const std::string& why) {
  return Error(ErrorCategory::Config, "key '" + key + "': " + why);
}

}  // namespace pvekit::core
