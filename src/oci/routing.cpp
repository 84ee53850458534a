#include "oci/routing.h"

#include <algorithm>

#include "oci/backend.h"
#include "oci/linux/backend.h"
#include "oci/proxmox_helper.h"
#include "oci/systemd_helper.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

Error rule_error(const std::string& key, const std::string& why) {
  return core::config_key_error("routing.rules." + key, why);
}

core::Result<std::regex> parse_regex(const std::string& key, const Json& value) {
  if (!value.is_string()) return rule_error(key, "expected a regular expression (string)");
  try {
    return std::regex(value.get<std::string>(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return rule_error(key, "invalid regular expression \"" + value.get<std::string>() + "\": " + e.what());
  }
}

core::Status check_backend(const std::string& name, const std::string& where) {
  const auto& known = known_backends();
  if (std::find(known.begin(), known.end(), name) != known.end()) return core::ok();
  return Error(ErrorCategory::Config, where + ": unknown backend \"" + name + "\" (linux or proxmox)");
}

core::Result<RouteRule> parse_rule(const std::string& name, const Json& body) {
  if (!body.is_object()) return rule_error(name, "expected a mapping with backend and id/annotations/bundle");
  RouteRule rule;
  rule.name = name;
  for (const auto& [field, value] : body.items()) {
    const std::string key = name + "." + field;
    if (field == "backend") {
      if (!value.is_string()) return rule_error(key, "expected a backend name");
      rule.backend = value.get<std::string>();
      PVEKIT_TRY(check_backend(rule.backend, "key 'routing.rules." + key + "'"));
    } else if (field == "id") {
      PVEKIT_ASSIGN(rule.id, parse_regex(key, value));
    } else if (field == "bundle") {
      PVEKIT_ASSIGN(rule.bundle, parse_regex(key, value));
    } else if (field == "annotations") {
      if (!value.is_object()) return rule_error(key, "expected a mapping of annotation -> regular expression");
      for (const auto& [annotation, pattern] : value.items()) {
        PVEKIT_ASSIGN(auto re, parse_regex(key + "." + annotation, pattern));
        rule.annotations.emplace(annotation, std::move(re));
      }
    } else {
      return rule_error(key, "unknown field (backend, id, annotations, bundle)");
    }
  }
  if (rule.backend.empty()) return rule_error(name + ".backend", "is required");
  if (!rule.id && !rule.bundle && rule.annotations.empty())
    return rule_error(name, "needs at least one of id, annotations, bundle");
  return rule;
}

bool matches(const RouteRule& rule, const RouteInput& in) {
  if (rule.id && !std::regex_search(in.id, *rule.id)) return false;
  if (rule.bundle && !std::regex_search(in.bundle, *rule.bundle)) return false;
  for (const auto& [key, re] : rule.annotations) {
    auto it = in.annotations.find(key);
    if (it == in.annotations.end() || !std::regex_search(it->second, re)) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names = {"linux", "proxmox"};
  return names;
}

core::Result<std::vector<RouteRule>> parse_route_rules(const Json& rules) {
  std::vector<RouteRule> out;
  if (rules.is_null()) return out;
  if (!rules.is_object()) return Error(ErrorCategory::Config, "key 'routing.rules': expected a mapping of rule names");
  for (const auto& [name, body] : rules.items()) {  // core::Json keeps keys sorted: name order
    PVEKIT_ASSIGN(auto rule, parse_rule(name, body));
    out.push_back(std::move(rule));
  }
  return out;
}

core::Result<RouteDecision> route_container(const std::vector<RouteRule>& rules, const std::string& default_backend,
                                            const RouteInput& input) {
  if (auto it = input.annotations.find(kBackendAnnotation); it != input.annotations.end()) {
    PVEKIT_TRY(check_backend(it->second, std::string("annotation ") + kBackendAnnotation));
    return RouteDecision{it->second, std::string("annotation ") + kBackendAnnotation};
  }
  for (const auto& rule : rules) {
    if (matches(rule, input)) return RouteDecision{rule.backend, "rule " + rule.name};
  }
  return RouteDecision{default_backend, "default"};
}

core::Result<std::unique_ptr<Backend>> make_backend(const std::string& name, const GlobalOptions& global) {
  if (name == "linux")
    return std::unique_ptr<Backend>(std::make_unique<linux::LinuxBackend>(
        global.cgroup_root, global.config.lsm_unavailable_warn ? linux::LsmPolicy::Warn : linux::LsmPolicy::Refuse,
        linux::CgroupDriver{.systemd = global.systemd_cgroup, .connect_systemd = connect_systemd}));
  if (name == "proxmox") {
    PVEKIT_ASSIGN(auto proxmox, proxmox_functions());
    return proxmox->connect(global.config);
  }
  return Error(ErrorCategory::Config, "unknown backend \"" + name + "\" (linux or proxmox)");
}

}  // namespace pvekit::oci
