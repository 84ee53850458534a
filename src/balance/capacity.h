#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"
#include "balance/rules.h"
#include "core/json.h"
#include "core/result.h"

// proxlb capacity: the pure part (no I/O). Usage statistics, the failover
// check (N+k), the forecast from RRD history and the what-if changes; the
// command in capacity_command.cpp reads the cluster and renders the result.
// Method and tolerances: docs/capacity.md.
namespace pvekit::balance {

// ---- history and forecast -------------------------------------------------

struct Sample {
  double time = 0;   // Unix seconds
  double value = 0;  // absolute (bytes, cores); non-finite values are skipped
};

enum class TrendVerdict {
  TooShort,  // less history than the model needs (see docs/capacity.md)
  NoTrend,   // the slope is not significantly different from 0
  Falling,   // significantly falling: no crossing
  Rising,    // significantly rising: crossing dates are set when within the horizon
};
std::string_view to_string(TrendVerdict verdict);

struct ForecastOptions {
  double threshold = 0.85;      // fraction of capacity
  double horizon_days = 365;    // crossings later than this are "not within the horizon"
  double z = 1.96;              // width of the prediction interval (95 %)
};

// Least squares fit of value/capacity = level + slope * days + daily and
// weekly Fourier terms, with a residual-based prediction interval.
struct Forecast {
  TrendVerdict verdict = TrendVerdict::TooShort;
  std::string detail;           // why TooShort, in words
  double now = 0;               // time of the last sample
  double level = 0;             // fitted trend value at `now`, fraction of capacity
  double slope_per_day = 0;     // fraction of capacity per day
  double slope_stderr = 0;      // standard error of the slope (autocorrelation-corrected)
  double seasonal_peak = 0;     // largest value of the fitted daily + weekly cycle
  double residual_sd = 0;       // of the fit, fraction of capacity
  int daily_harmonics = 0;      // 24 h and 12 h terms the model included (0..2)
  bool weekly = false;          // the 7-day term
  bool above_now = false;       // the fitted peak is already at or above the threshold
  // Unix seconds; unset: not within the horizon (or no rising trend).
  std::optional<double> crosses, earliest, latest;
  // The fitted model (trend + cycles) at time t, fraction of capacity.
  std::vector<double> coefficients;
  double fitted(double t) const;
  // The prediction interval half-width at time t (z standard deviations of
  // the trend's estimate plus the residuals), fraction of capacity.
  double band(double t) const;
  double z = 1.96;
  std::vector<double> covariance_trend;  // (level, slope) block: var level, cov, var slope
};

Forecast forecast(const std::vector<Sample>& series, double capacity, const ForecastOptions& options);

// The percentile (1..100, nearest-rank) of `values`; 0 when empty.
double percentile(std::vector<double> values, int percentile);

// ---- failover ---------------------------------------------------------------

enum class FailoverScope { Ha, Running };
std::string_view to_string(FailoverScope scope);

// How the verdict was reached (docs/capacity.md, "Failover check").
enum class FailoverMethod {
  Heuristic,  // first-fit decreasing placed every guest: fits for certain
  Exact,      // exhaustive search decided (fits or proven not to fit)
  HeuristicOnly,  // the heuristic failed and the case is too large for the exact search
};
std::string_view to_string(FailoverMethod method);

struct Displaced {
  uint32_t vmid = 0;
  std::string name;
  std::string node;  // the failed node it ran on
  Amount need;       // memory bytes, vCPUs, local disk bytes
  std::string target;  // survivor it would restart on; empty: does not fit
};

struct FailoverResult {
  FailoverScope scope = FailoverScope::Running;
  int failures = 1;
  size_t combinations = 0;              // failure combinations checked
  std::vector<std::string> failed;      // the worst combination (or the tightest one that fits)
  bool fits = true;
  FailoverMethod method = FailoverMethod::Heuristic;
  std::vector<Displaced> guests;        // the displaced guests of `failed`, placement per the heuristic
  Amount short_by;                      // sum of the needs of the guests that do not fit
  std::vector<std::string> notes;       // e.g. combinations limited to the largest nodes
};

struct FailoverOptions {
  int failures = 1;
  FailoverScope scope = FailoverScope::Running;
  size_t max_combinations = 2000;  // beyond: only combinations of the largest nodes
  size_t exact_max_guests = 16;    // exact search for at most this many displaced units
  uint64_t exact_budget = 2'000'000;  // search nodes before giving up
};

// Can the guests of any `failures` eligible nodes be restarted on the
// survivors, within capacity and the balancer's hard rules (pins, pools, HA
// node and resource affinity, anti-affinity, maintenance)? Reports the worst
// combination. Usage error when failures < 1 or >= the eligible nodes.
core::Result<FailoverResult> check_failover(const ClusterState& state, const BalanceConfig& config,
                                            const FailoverOptions& options);
// The same for several scopes at once (options.scope is ignored), one result
// per scope in the order given: the rules are compiled once per combination.
core::Result<std::vector<FailoverResult>> check_failover(const ClusterState& state, const BalanceConfig& config,
                                                         const FailoverOptions& options,
                                                         const std::vector<FailoverScope>& scopes);

// The running guests of `failed` restarted on the other nodes by the
// heuristic of check_failover (target empty: no room), ascending vmid.
std::vector<Displaced> restart_elsewhere(const ClusterState& state, const BalanceConfig& config,
                                         const std::vector<std::string>& failed);

// ---- report -----------------------------------------------------------------

enum class CapacityResource { MemoryUsed, MemoryAssigned, CpuUsed, CpuAssigned, DiskUsed, DiskAssigned };
std::string_view to_string(CapacityResource resource);  // "memory used", ...
bool is_memory(CapacityResource resource);
bool is_disk(CapacityResource resource);

struct ResourceStats {
  CapacityResource resource = CapacityResource::MemoryUsed;
  double capacity = 0;  // bytes or cores
  double now = 0;
  std::optional<double> p50, p90, p99;  // from history (used resources only)
  double headroom = 0;  // threshold * capacity - (p99 or now)
  std::optional<Forecast> forecast;  // used memory, CPU and disk
  std::vector<Sample> history;       // for charts
};

struct ScopeReport {
  std::string name;  // node name, or "cluster"
  bool cluster = false;
  std::vector<ResourceStats> resources;
};

// Node history from rrddata: memory used (bytes) and CPU used (cores) from
// the node's; disk used (bytes) summed over its local guest storages'.
struct NodeHistory {
  std::vector<Sample> memory, cpu, disk;
};

// The sum of the series at the times every one of them has a finite sample.
std::vector<Sample> sum_at_common_times(const std::vector<const std::vector<Sample>*>& series);

struct WhatIf {
  int add_guests = 0;  // signed so that a negative count is refused by name, not wrapped
  uint64_t guest_memory = 4 * kGiB;
  int guest_cores = 2;
  uint64_t guest_disk = 0;
  std::vector<std::string> remove_nodes;
  std::vector<std::string> add_node_like;
  bool empty() const { return add_guests == 0 && remove_nodes.empty() && add_node_like.empty(); }
};

// The cluster after the what-if changes, and what happened to the guests.
struct WhatIfResult {
  ClusterState state;
  std::vector<std::string> notes;  // one line per change, for the report
  std::vector<Displaced> unplaced;  // guests of removed nodes, or new ones, that found no room
};
core::Result<WhatIfResult> apply_what_if(const ClusterState& state, const BalanceConfig& config, const WhatIf& what_if);

struct CapacityOptions {
  ForecastOptions forecast;
  FailoverOptions failover;
};

struct CapacityReport {
  double threshold = 0.85;
  std::string timeframe;  // week | month | year
  std::vector<std::string> notes;
  std::vector<ScopeReport> scopes;  // cluster first, then nodes by name
  FailoverResult failover_ha, failover_running;
};

// `original` is the cluster as read, `history` per original node name;
// `changed` the cluster after what-if (or the same). Nodes of `changed`
// missing from `original` (added) get a flat history at their current use;
// nodes whose use changed get their history shifted by the difference.
core::Result<CapacityReport> build_capacity_report(const ClusterState& original,
                                                   const std::map<std::string, NodeHistory>& history,
                                                   const WhatIfResult& changed, const BalanceConfig& config,
                                                   const CapacityOptions& options);

// ---- rendering (pure: strings) -------------------------------------------------

std::string render_capacity_text(const CapacityReport& report);  // lines of at most 80 columns
std::string render_capacity_csv(const CapacityReport& report);
core::Json capacity_json(const CapacityReport& report);
// One SVG per used resource with history: file name -> document.
std::vector<std::pair<std::string, std::string>> capacity_charts(const CapacityReport& report);

}  // namespace pvekit::balance
