// Metrics in Prometheus's text exposition format (version 0.0.4), the one
// every scraper reads. The daemon updates them after each round; its HTTP
// server renders them on /metrics from another thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace pvekit::daemon {

enum class MetricType { Counter, Gauge };

// Label name/value pairs; their order is kept as declared in the family.
using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  // Declares a family with its label names. Internal error on a name
  // Prometheus would refuse, a counter not ending in _total (the naming
  // convention), or a second declaration of the same name.
  core::Status declare(std::string name, MetricType type, std::string help, std::vector<std::string> label_names = {});

  // Gauges: set to `value`. Counters: add `delta` (negative deltas are bugs
  // and refused). Label values are given in the family's label order.
  core::Status set(std::string_view name, const std::vector<std::string>& label_values, double value);
  core::Status add(std::string_view name, const std::vector<std::string>& label_values, double delta);
  // Drops a gauge family's samples whose first label values are `leading`
  // (all of them when empty), for series whose label sets change from round
  // to round (a node that left the cluster must not keep its series; one
  // cluster's round must not drop another's).
  void clear(std::string_view name, const std::vector<std::string>& leading = {});

  std::string render() const;

 private:
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    std::vector<std::string> label_names;
    std::map<std::vector<std::string>, double> samples;
  };
  core::Result<Family*> family(std::string_view name, const std::vector<std::string>& label_values);

  mutable std::mutex mutex_;
  std::vector<Family> families_;  // in declaration order
};

// The text format's escaping: label values escape \, " and newline; HELP
// text escapes \ and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as the format writes it: shortest round-trip decimal, NaN,
// +Inf, -Inf.
std::string format_sample_value(double value);

}  // namespace pvekit::daemon
