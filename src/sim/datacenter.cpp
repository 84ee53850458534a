#include "sim/datacenter.h"

#include <algorithm>

#include "core/strings.h"

namespace pvekit::sim {
namespace {

using core::Json;

// The keys of each property-string option and their types, from the PVE 9.1
// schema's `format` of PUT /cluster/options. crs carries the HA scheduler
// (`ha`: basic | static | dynamic) and the automatic rebalancing keys.
const std::map<std::string, std::vector<ParamSpec>>& property_formats() {
  static const std::map<std::string, std::vector<ParamSpec>> formats = [] {
    auto num0 = [](const char* name) { return p_num(name, 0); };
    std::map<std::string, std::vector<ParamSpec>> f;
    f["crs"] = {p_enum("ha", {"basic", "static", "dynamic"}), p_bool("ha-auto-rebalance"),
                num0("ha-auto-rebalance-hold-duration"), num0("ha-auto-rebalance-margin"),
                p_enum("ha-auto-rebalance-method", {"bruteforce", "topsis"}), num0("ha-auto-rebalance-threshold"),
                p_bool("ha-rebalance-on-start")};
    f["bwlimit"] = {num0("clone"), num0("default"), num0("migration"), num0("move"), num0("restore")};
    f["ha"] = {p_enum("shutdown_policy", {"freeze", "failover", "conditional", "migrate"})};
    f["migration"] = {p_str("network"), p_enum("type", {"secure", "insecure"})};
    f["replication"] = {p_str("network"), p_enum("type", {"secure", "insecure"})};
    f["next-id"] = {p_int("lower"), p_int("upper")};
    f["notify"] = {p_enum("fencing", {"always", "never"}), p_enum("package-updates", {"auto", "always", "never"}),
                   p_enum("replication", {"always", "never"}), p_str("target-fencing"),
                   p_str("target-package-updates"), p_str("target-replication")};
    f["tag-style"] = {p_bool("case-sensitive"), p_str("color-map"),
                      p_enum("ordering", {"config", "alphabetical"}),
                      p_enum("shape", {"full", "circle", "dense", "none"})};
    f["u2f"] = {p_str("appid"), p_str("origin")};
    f["user-tag-access"] = {p_enum("user-allow", {"none", "list", "existing", "free"}), p_str("user-allow-list")};
    f["webauthn"] = {p_bool("allow-subdomains"), p_str("id"), p_str("origin"), p_str("rp")};
    return f;
  }();
  return formats;
}

const ParamSpec* key_spec(const std::vector<ParamSpec>& keys, const std::string& name) {
  auto it = std::find_if(keys.begin(), keys.end(), [&](const ParamSpec& k) { return k.name == name; });
  return it == keys.end() ? nullptr : &*it;
}

// "k=v,k2=v2" -> pairs; a part without '=' has an empty key.
std::vector<std::pair<std::string, std::string>> split_property_string(const std::string& value) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& part : core::split(value, ',', true)) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) out.emplace_back("", part);
    else out.emplace_back(part.substr(0, eq), part.substr(eq + 1));
  }
  return out;
}

Json typed_value(const ParamSpec* spec, const std::string& text) {
  if (spec && (spec->type == ParamType::Integer || spec->type == ParamType::Boolean)) {
    if (auto v = core::parse_int(text)) return *v;
  }
  if (spec && spec->type == ParamType::Number) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end && *end == '\0' && !text.empty()) return v;
  }
  return text;
}

}  // namespace

std::vector<ParamSpec> datacenter_option_params() {
  return {p_str("bwlimit"), p_str("consent-text"), p_enum("console", {"applet", "vv", "html5", "xtermjs"}),
          p_str("crs"), p_str("delete"), p_str("description"), p_str("email_from"),
          p_enum("fencing", {"watchdog", "hardware", "both"}), p_str("ha"), p_str("http_proxy"),
          p_enum("keyboard", {"de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu",
                              "is", "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"}),
          p_enum("language", {"ar", "ca", "da", "de", "en", "es", "eu", "fa", "fr", "hr", "he", "it", "ja", "ka", "kr",
                              "nb", "nl", "nn", "pl", "pt_BR", "ru", "sl", "sv", "tr", "ukr", "zh_CN", "zh_TW"}),
          p_str("mac_prefix"), p_int("max_workers", false, 1), p_str("migration"), p_bool("migration_unsecure"),
          p_str("next-id"), p_str("notify"), p_str("registered-tags"), p_str("replication"), p_str("tag-style"),
          p_str("u2f"), p_str("user-tag-access"), p_str("webauthn")};
}

// PVE::JSONSchema::parse_property_string dies with these messages; check_prop
// puts "invalid format - " in front of them.
std::optional<std::string> check_datacenter_option(const std::string& option, const std::string& value) {
  auto format = property_formats().find(option);
  if (format == property_formats().end()) return std::nullopt;
  std::vector<std::string> seen;
  for (const auto& [key, text] : split_property_string(value)) {
    if (key.empty()) return "invalid format - value without key, but schema does not define a default key";
    const ParamSpec* spec = key_spec(format->second, key);
    if (!spec) return "invalid format - invalid key in comma-separated list property: " + key;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return "invalid format - duplicate key in comma-separated list property: " + key;
    }
    seen.push_back(key);
    if (auto problem = check_param(*spec, text)) return "invalid format - " + key + ": " + *problem;
  }
  return std::nullopt;
}

Json datacenter_options_json(const std::map<std::string, std::string>& cfg) {
  static const std::map<std::string, ParamSpec> top_level = [] {
    std::map<std::string, ParamSpec> m;
    for (ParamSpec& p : datacenter_option_params()) m.emplace(p.name, std::move(p));
    return m;
  }();
  Json out = Json::object();
  for (const auto& [option, value] : cfg) {
    auto format = property_formats().find(option);
    if (format == property_formats().end()) {
      auto spec = top_level.find(option);
      out[option] = typed_value(spec == top_level.end() ? nullptr : &spec->second, value);
      continue;
    }
    Json parsed = Json::object();
    for (const auto& [key, text] : split_property_string(value)) parsed[key] = typed_value(key_spec(format->second, key), text);
    out[option] = std::move(parsed);
  }
  return out;
}

}  // namespace pvekit::sim
