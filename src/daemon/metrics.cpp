#include "daemon/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace pvekit::daemon {
namespace {

using core::Error;
using core::ErrorCategory;

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; labels the same without ':'
// and not starting with "__" (reserved for Prometheus itself).
bool valid_name(std::string_view name, bool label) {
  if (name.empty() || (label && name.substr(0, 2) == "__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

core::Status MetricsRegistry::declare(std::string name, MetricType type, std::string help,
                                      std::vector<std::string> label_names) {
  if (!valid_name(name, false)) return Error(ErrorCategory::Internal, "metric name \"" + name + "\" is not valid");
  if (type == MetricType::Counter && (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
    return Error(ErrorCategory::Internal, "counter \"" + name + "\" must end in _total");
  }
  for (const auto& label : label_names) {
    if (!valid_name(label, true)) {
      return Error(ErrorCategory::Internal, "label \"" + label + "\" of metric " + name + " is not valid");
    }
  }
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    if (f.name == name) return Error(ErrorCategory::Internal, "metric " + name + " is declared twice");
  }
  families_.push_back(Family{std::move(name), type, std::move(help), std::move(label_names), {}});
  return core::ok();
}

core::Result<MetricsRegistry::Family*> MetricsRegistry::family(std::string_view name,
                                                               const std::vector<std::string>& label_values) {
  for (auto& f : families_) {
    if (f.name != name) continue;
    if (f.label_names.size() != label_values.size()) {
      return Error(ErrorCategory::Internal, fmt::format("metric {} has {} labels, {} values given", f.name,
                                                        f.label_names.size(), label_values.size()));
    }
    return &f;
  }
  return Error(ErrorCategory::Internal, "metric " + std::string(name) + " is not declared");
}

core::Status MetricsRegistry::set(std::string_view name, const std::vector<std::string>& label_values, double value) {
  std::lock_guard lock(mutex_);
  PVEKIT_ASSIGN(Family * f, family(name, label_values));
  if (f->type != MetricType::Gauge) return Error(ErrorCategory::Internal, "set() on counter " + f->name);
  f->samples[label_values] = value;
  return core::ok();
}

core::Status MetricsRegistry::add(std::string_view name, const std::vector<std::string>& label_values, double delta) {
  std::lock_guard lock(mutex_);
  PVEKIT_ASSIGN(Family * f, family(name, label_values));
  if (f->type != MetricType::Counter) return Error(ErrorCategory::Internal, "add() on gauge " + f->name);
  if (!(delta >= 0)) return Error(ErrorCategory::Internal, fmt::format("counter {} cannot go down ({})", f->name, delta));
  f->samples[label_values] += delta;
  return core::ok();
}

void MetricsRegistry::clear(std::string_view name, const std::vector<std::string>& leading) {
  std::lock_guard lock(mutex_);
  for (auto& f : families_) {
    if (f.name != name || f.type != MetricType::Gauge) continue;
    std::erase_if(f.samples, [&](const auto& sample) {
      const auto& values = sample.first;
      return values.size() >= leading.size() && std::equal(leading.begin(), leading.end(), values.begin());
    });
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + (f.type == MetricType::Counter ? " counter\n" : " gauge\n");
    for (const auto& [values, value] : f.samples) {
      out += f.name;
      if (!values.empty()) {
        out += "{";
        for (size_t i = 0; i < values.size(); ++i) {
          if (i > 0) out += ",";
          out += f.label_names[i] + "=\"" + escape_label_value(values[i]) + "\"";
        }
        out += "}";
      }
      out += " " + format_sample_value(value) + "\n";
    }
  }
  return out;
}

}  // namespace pvekit::daemon
