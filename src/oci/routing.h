#pragma once

// Which backend runs a container: the annotation org.pvekit.backend when the
// bundle names one, else the first matching rule of lxcri's config
// (routing.rules, tried in name order), else the configured default.

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::oci {

inline constexpr const char* kBackendAnnotation = "org.pvekit.backend";

const std::vector<std::string>& known_backends();  // linux, proxmox

// One rule; every matcher given must match (regexes are searched, so anchor
// them with ^...$ for whole-value matches).
struct RouteRule {
  std::string name;
  std::string backend;
  std::optional<std::regex> id;
  std::map<std::string, std::regex> annotations;  // key -> regex on the value; the key must be present
  std::optional<std::regex> bundle;               // on the bundle's absolute path
};

// Parses routing.rules: {name: {backend, id?, annotations?, bundle?}}. Config
// errors name the rule and field ("routing.rules.web.id: ...").
core::Result<std::vector<RouteRule>> parse_route_rules(const core::Json& rules);

struct RouteInput {
  std::string id;
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

struct RouteDecision {
  std::string backend;
  std::string reason;  // "annotation org.pvekit.backend", "rule web", "default"
};

core::Result<RouteDecision> route_container(const std::vector<RouteRule>& rules, const std::string& default_backend,
                                            const RouteInput& input);

}  // namespace pvekit::oci
