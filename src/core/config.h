#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::core {

enum class ValueType {
  String,
  Secret,      // a string never shown in dumps or errors
  Integer,
  Number,
  Boolean,
  StringList,  // YAML/JSON list; from env or flags: comma-separated
  Object,      // free-form mapping, validated by the owner of the key
  List,        // free-form list (of mappings, say), validated by the owner of the key
};

// One configuration key. `path` is dotted ("balancing.balanciness").
struct KeySpec {
  std::string path;
  ValueType type = ValueType::String;
  Json default_value;                // null: unset unless a layer sets it
  std::string help;
  std::vector<std::string> choices;  // String/StringList: allowed values (empty: any)
  std::optional<double> min;         // Integer/Number bounds, inclusive
  std::optional<double> max;
};

class ConfigSchema {
 public:
  ConfigSchema& add(KeySpec spec);
  const KeySpec* find(const std::string& path) const;
  const std::vector<KeySpec>& keys() const { return keys_; }
  // Environment variable for a key: PREFIX + path upper-cased, '.' -> '_'.
  static std::string env_name(const std::string& prefix, const std::string& path);

 private:
  std::vector<KeySpec> keys_;
};

// Configuration assembled from layers, later layers overriding earlier ones:
// built-in defaults < file(s) < environment < flags. Every layer is checked
// against the schema: an unknown key or a value of the wrong type or range is
// an error naming the key and the layer it came from, and leaves the config
// unchanged.
class LayeredConfig {
 public:
  explicit LayeredConfig(const ConfigSchema& schema);

  // A nested document (from YAML or JSON); `source` names it in errors.
  Status merge_document(const Json& document, const std::string& source);
  // Reads YAML or JSON from `path`.
  Status merge_file(const std::string& path);
  // Variables named PREFIX_<KEY>; other PREFIX_* variables are errors unless
  // listed in `ignored` (e.g. PROXLB_CONFIG, which names the file itself).
  Status merge_environment(const std::map<std::string, std::string>& env,
                           const std::string& prefix,
                           const std::vector<std::string>& ignored = {});
  // One override as text ("balancing.balanciness", "5"), e.g. from a flag.
  Status set(const std::string& path, const std::string& text, const std::string& source);

  bool has(const std::string& path) const;
  const Json& get(const std::string& path) const;  // null when unset
  std::string get_string(const std::string& path) const;
  int64_t get_int(const std::string& path) const;
  double get_number(const std::string& path) const;
  bool get_bool(const std::string& path) const;
  std::vector<std::string> get_list(const std::string& path) const;
  // Where the value of `path` came from: "default", a file path, "env NAME", a flag.
  std::string source_of(const std::string& path) const;
  // All values as a nested document; secrets rendered as "<redacted>".
  Json dump(bool redact_secrets = true) const;

  static std::map<std::string, std::string> process_environment();

 private:
  Result<Json> coerce(const KeySpec& spec, const Json& value) const;
  Result<Json> parse_text(const KeySpec& spec, const std::string& text) const;
  Status flatten(const Json& node, const std::string& prefix, const std::string& source,
                 std::map<std::string, Json>& out) const;

  const ConfigSchema& schema_;
  std::map<std::string, Json> values_;
  std::map<std::string, std::string> sources_;
};

// The error for a config value that parses but is not acceptable:
// "key 'a.b': why", category Config, as LayeredConfig's own checks say it.
Error config_key_error(const std::string& key, const std::string& why);

}  // namespace pvekit::core
