#include "core/json.h"

#include <regex>

#include "core/strings.h"

namespace pvekit::core {

Result<Json> parse_json(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    // out_of_range too: a number no double holds (1e999) throws that, not parse_error.
    return Error(ErrorCategory::Parse, std::string("invalid JSON: ") + e.what()).wrap(what);
  }
}

namespace {

Json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted in the source: always a string
  static const std::regex int_re(R"([-+]?(0|[1-9][0-9]*))");
  static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text == "null" || text == "Null" || text == "NULL" || text == "~" || text.empty())
    return nullptr;
  if (std::regex_match(text, int_re)) {
    if (auto v = parse_int(text[0] == '+' ? text.substr(1) : text)) return *v;
  }
  if (std::regex_match(text, float_re)) {
    if (auto v = parse_double(text[0] == '+' ? text.substr(1) : text)) return *v;
  }
  return text;
}

void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : value.items()) {
      out << YAML::Key << k << YAML::Value;
      emit(out, v);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : value) emit(out, v);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

}  // namespace

namespace {

// `path` names the node in errors ("balancing.pools.db").
Json convert(const YAML::Node& node, const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) {
        std::string key = kv.first.as<std::string>();
        std::string at = path.empty() ? key : path + "." + key;
        // yaml-cpp keeps both entries of a repeated key; which one a reader
        // takes is arbitrary, so the file is refused (a pasted second
        // `balancing:` block must not silently replace the first).
        if (obj.contains(key)) throw YAML::ParserException(kv.first.Mark(), "duplicate key \"" + at + "\"");
        obj[key] = convert(kv.second, at);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : node) arr.push_back(convert(item, path + "[" + std::to_string(arr.size()) + "]"));
      return arr;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

Json yaml_to_json(const YAML::Node& node) { return convert(node, ""); }

Result<Json> parse_yaml(const std::string& text, const std::string& what) {
  try {
    return yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return Error(ErrorCategory::Parse, std::string("invalid YAML: ") + e.what()).wrap(what);
  }
}

std::string json_to_yaml(const Json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "list";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "value";
  }
}

}  // namespace pvekit::core
