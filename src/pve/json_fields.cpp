#include "pve/json_fields.h"

#include <cmath>

#include <fmt/format.h>

#include "core/strings.h"

namespace pvekit::pve::fields {

namespace {

const core::Json* find(const core::Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::optional<double> number(const core::Json& object, std::string_view key) {
  const core::Json* v = find(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_boolean()) return v->get<bool>() ? 1.0 : 0.0;
  if (v->is_string()) {
    auto d = core::parse_double(core::trim(v->get_ref<const std::string&>()));
    if (d && std::isfinite(*d)) return d;
  }
  return std::nullopt;
}

double number_or(const core::Json& object, std::string_view key, double fallback) {
  return number(object, key).value_or(fallback);
}

int64_t int_or(const core::Json& object, std::string_view key, int64_t fallback) {
  const core::Json* v = find(object, key);
  if (v != nullptr && v->is_number_integer()) return v->get<int64_t>();  // exact, no double detour
  auto d = number(object, key);
  return d ? static_cast<int64_t>(*d) : fallback;
}

uint64_t uint_or(const core::Json& object, std::string_view key, uint64_t fallback) {
  const core::Json* v = find(object, key);
  if (v != nullptr && v->is_number_unsigned()) return v->get<uint64_t>();
  auto d = number(object, key);
  return d && *d >= 0 ? static_cast<uint64_t>(*d) : fallback;
}

std::string scalar_text(const core::Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "1" : "0";
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());
  if (value.is_null()) return "";
  return value.dump();
}

std::string string_or(const core::Json& object, std::string_view key, std::string fallback) {
  const core::Json* v = find(object, key);
  if (v == nullptr || v->is_object() || v->is_array()) return fallback;
  return scalar_text(*v);
}

bool bool_or(const core::Json& object, std::string_view key, bool fallback) {
  const core::Json* v = find(object, key);
  if (v == nullptr) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string()) return core::parse_bool(v->get_ref<const std::string&>()).value_or(fallback);
  return fallback;
}

}  // namespace pvekit::pve::fields
