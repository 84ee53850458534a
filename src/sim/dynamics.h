#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "sim/model.h"

namespace pvekit::sim {

// A deterministic hash of (seed, a, b) mapped to [0, 1).
double unit_hash(uint64_t seed, uint64_t a, uint64_t b);

// Current figures of one running guest at Unix time t. Rates are bytes/s;
// cpu is the fraction of the guest's own cores (0..1); pressures are stall
// fractions (0..1) as PVE 9 reports them from /proc/pressure.
struct GuestSample {
  double cpu = 0;
  uint64_t mem = 0;
  double netin = 0, netout = 0, diskread = 0, diskwrite = 0;
  double pressure_cpu = 0, pressure_io = 0, pressure_mem = 0;
};
GuestSample sample_guest(const Guest& guest, uint64_t seed, double t);

// Bytes the guest's volume fills on its storage at Unix time t: its load's
// `disk` fraction of maxdisk, changed by `disk_trend` per day. Running or
// not, a volume keeps its data.
uint64_t guest_volume_used(const Guest& guest, double t);

// Node figures: its own base plus the sum of its running guests.
struct NodeSample {
  double cpu = 0;        // fraction of the node's cores (0..1)
  double demand = 0;     // cores wanted by host and guests (may exceed cpus)
  uint64_t mem = 0;      // bytes used
  uint64_t swap = 0;     // bytes used
  double netin = 0, netout = 0, diskread = 0, diskwrite = 0;
  double iowait = 0;
  std::array<double, 3> loadavg{};
  double pressure_cpu = 0, pressure_io = 0, pressure_mem = 0;
};
NodeSample sample_node(const Node& node, const std::vector<const Guest*>& guests, uint64_t seed, double t);

// Status figures are refreshed every kStatusInterval simulated seconds, as
// pvestatd does; this is also what makes response caching valid.
inline constexpr double kStatusInterval = 10.0;
double status_time(double t);

// rrddata rows. `timeframe`: hour|day|week|month|year|decade; `cf`:
// AVERAGE|MAX. A running guest / online node gets full rows; a stopped guest
// gets rows with time and limits only. Rows are computed from the load
// profiles on each request: no history is stored.
struct RrdFrame {
  double step = 60;  // seconds per row
  int rows = 60;
};
RrdFrame rrd_frame(const std::string& timeframe);
core::Json guest_rrd(const Guest& guest, uint64_t seed, double now, const std::string& timeframe, bool max_cf);
core::Json node_rrd(const Node& node, const std::vector<const Guest*>& guests, uint64_t seed, double now,
                    const std::string& timeframe, bool max_cf);
// A storage's rows on one node (pve2-storage: total and used). `volumes`:
// bytes of the volumes that are not guest disks (templates, ISOs, uploads);
// `guests`: those whose disk is on this storage (and node, unless shared).
core::Json storage_rrd(uint64_t total, uint64_t volumes, const std::vector<const Guest*>& guests, double now,
                       const std::string& timeframe, bool max_cf);

}  // namespace pvekit::sim
