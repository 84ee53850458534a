#include "sim/dynamics.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pvekit::sim {
namespace {

using core::Json;

uint64_t mix(uint64_t x) {
  // splitmix64 finaliser: cheap and well distributed.
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double clamp01(double v, double lo = 0.0) { return std::clamp(v, lo, 1.0); }

double daily(double t, double peak_hour) {
  const double hours = std::fmod(t, 86400.0) / 3600.0;
  return std::cos((hours - peak_hour) / 24.0 * 2 * std::numbers::pi);
}

// The weekly cosine: 1 on `peak_day` (0 = Monday; 1970-01-01 was a Thursday).
double weekly(double t, double peak_day) {
  const double days = std::fmod(t / 86400.0 + 3.0, 7.0);
  return std::cos((days - peak_day) / 7.0 * 2 * std::numbers::pi);
}

double round4(double v) { return std::round(v * 1e4) / 1e4; }

}  // namespace

double unit_hash(uint64_t seed, uint64_t a, uint64_t b) {
  return static_cast<double>(mix(mix(seed ^ mix(a)) ^ b) >> 11) / 9007199254740992.0;
}

double status_time(double t) { return std::floor(t / kStatusInterval) * kStatusInterval; }

GuestSample sample_guest(const Guest& g, uint64_t seed, double t) {
  GuestSample s;
  if (g.status != "running") return s;
  const uint64_t bucket = static_cast<uint64_t>(std::max(0.0, t) / 60.0);
  const double day = daily(t, g.load.peak_hour);
  const double n1 = 2 * unit_hash(seed, g.vmid, bucket * 4) - 1;
  const double n2 = 2 * unit_hash(seed, g.vmid, bucket * 4 + 1) - 1;
  const double week = weekly(t, g.load.weekly_peak_day);
  const double days = (t - g.load.trend_origin) / 86400.0;
  s.cpu = g.suspended ? 0.0
                      : clamp01(g.load.cpu + g.load.cpu_trend * days + g.load.cpu_amp * day +
                                    g.load.cpu_weekly_amp * week + g.load.noise * n1,
                                0.001);
  s.mem = static_cast<uint64_t>(clamp01(g.load.mem + g.load.mem_trend * days + g.load.mem_amp * day +
                                            g.load.mem_weekly_amp * week + g.load.noise * 0.5 * n2,
                                        0.02) *
                                static_cast<double>(g.maxmem));
  const double activity = 0.5 + s.cpu;
  s.netin = g.load.net * activity * (1 + 0.3 * n2);
  s.netout = g.load.net * 0.8 * activity * (1 + 0.3 * n1);
  s.diskread = g.load.io * activity;
  s.diskwrite = g.load.io * 0.6 * activity;
  s.pressure_cpu = std::max(0.0, s.cpu - 0.8) * 0.5;
  s.pressure_mem = std::max(0.0, static_cast<double>(s.mem) / std::max<double>(1, g.maxmem) - 0.9);
  s.pressure_io = 0.002 * activity;
  return s;
}

uint64_t guest_volume_used(const Guest& g, double t) {
  const double days = (t - g.load.trend_origin) / 86400.0;
  return static_cast<uint64_t>(clamp01(g.load.disk + g.load.disk_trend * days) * static_cast<double>(g.maxdisk));
}

NodeSample sample_node(const Node& node, const std::vector<const Guest*>& guests, uint64_t seed, double t) {
  NodeSample s;
  if (!node.online) return s;
  double demand = node.base_cpu * node.cpus;
  double mem = static_cast<double>(node.base_mem);
  for (const Guest* g : guests) {
    if (g->status != "running") continue;
    GuestSample gs = sample_guest(*g, seed, t);
    demand += gs.cpu * g->cpus;
    mem += static_cast<double>(gs.mem);
    s.netin += gs.netin;
    s.netout += gs.netout;
    s.diskread += gs.diskread;
    s.diskwrite += gs.diskwrite;
  }
  const double cpus = std::max(1, node.cpus);
  s.demand = demand;
  s.cpu = clamp01(demand / cpus);
  const double memcap = static_cast<double>(node.memory);
  s.swap = mem > memcap * 0.95 ? static_cast<uint64_t>(std::min<double>(node.swap, mem - memcap * 0.95)) : 0;
  s.mem = static_cast<uint64_t>(std::min(mem, memcap * 0.98));
  s.iowait = std::min(0.3, (s.diskread + s.diskwrite) / 5e9);
  const double wobble = unit_hash(seed, 1'000'000'000ull + node.nodeid, static_cast<uint64_t>(t / 60));
  s.loadavg = {demand * (0.95 + 0.1 * wobble), demand * 0.98, demand * 0.97};
  s.pressure_cpu = std::max(0.0, (demand - cpus) / cpus) + 0.001 * s.cpu;
  s.pressure_mem = std::max(0.0, mem / memcap - 0.9);
  s.pressure_io = s.iowait * 0.5;
  return s;
}

// PVE 9's resolutions and row counts: the `$setup` of create_rrd_data in
// pve-cluster's src/PVE/RRD.pm (the pve-*-9.0 RRD files): [resolution, count].
RrdFrame rrd_frame(const std::string& timeframe) {
  if (timeframe == "day") return {60, 1440};
  if (timeframe == "week") return {60 * 30, 336};
  if (timeframe == "month") return {60 * 30, 1440};
  if (timeframe == "year") return {3600 * 6, 1440};
  if (timeframe == "decade") return {86400 * 7, 570};
  return {60, 60};
}

namespace {

// Samples each rrd step at a few points and folds them (average or max).
template <typename F>
void fold_step(double start, double step, bool max_cf, F&& sample_into) {
  constexpr int kPoints = 4;
  for (int i = 0; i < kPoints; ++i) sample_into(start + step * (i + 0.5) / kPoints, i == 0, max_cf, kPoints);
}

void fold(double& acc, double v, bool first, bool max_cf, int n) {
  if (first) acc = 0;
  acc = max_cf ? std::max(acc, v) : acc + v / n;
}

}  // namespace

Json guest_rrd(const Guest& g, uint64_t seed, double now, const std::string& timeframe, bool max_cf) {
  const RrdFrame f = rrd_frame(timeframe);
  Json rows = Json::array();
  const double end = std::floor(now / f.step) * f.step;
  for (int r = f.rows - 1; r >= 0; --r) {
    const double start = end - f.step * (r + 1);
    Json row = {{"time", static_cast<int64_t>(start)}, {"maxcpu", g.cpus}, {"maxmem", g.maxmem},
                {"maxdisk", g.maxdisk}};
    if (g.status == "running") {
      double cpu = 0, mem = 0, ni = 0, no = 0, dr = 0, dw = 0, pc = 0, pi = 0, pm = 0;
      fold_step(start, f.step, max_cf, [&](double t, bool first, bool mx, int n) {
        GuestSample s = sample_guest(g, seed, t);
        fold(cpu, s.cpu, first, mx, n);
        fold(mem, static_cast<double>(s.mem), first, mx, n);
        fold(ni, s.netin, first, mx, n);
        fold(no, s.netout, first, mx, n);
        fold(dr, s.diskread, first, mx, n);
        fold(dw, s.diskwrite, first, mx, n);
        fold(pc, s.pressure_cpu, first, mx, n);
        fold(pi, s.pressure_io, first, mx, n);
        fold(pm, s.pressure_mem, first, mx, n);
      });
      row.update({{"cpu", round4(cpu)}, {"mem", std::round(mem)}, {"memhost", std::round(mem * 1.02)},
                  {"disk", g.type == GuestType::Lxc ? std::round(static_cast<double>(g.maxdisk) * 0.35) : 0.0},
                  {"netin", std::round(ni)}, {"netout", std::round(no)}, {"diskread", std::round(dr)},
                  {"diskwrite", std::round(dw)}, {"pressurecpusome", round4(pc)}, {"pressurecpufull", round4(pc / 2)},
                  {"pressureiosome", round4(pi)}, {"pressureiofull", round4(pi / 2)},
                  {"pressurememorysome", round4(pm)}, {"pressurememoryfull", round4(pm / 2)}});
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Json node_rrd(const Node& node, const std::vector<const Guest*>& guests, uint64_t seed, double now,
              const std::string& timeframe, bool max_cf) {
  const RrdFrame f = rrd_frame(timeframe);
  Json rows = Json::array();
  const double end = std::floor(now / f.step) * f.step;
  for (int r = f.rows - 1; r >= 0; --r) {
    const double start = end - f.step * (r + 1);
    Json row = {{"time", static_cast<int64_t>(start)}};
    if (node.online) {
      double cpu = 0, mem = 0, swap = 0, ni = 0, no = 0, io = 0, la = 0, pc = 0, pi = 0, pm = 0;
      fold_step(start, f.step, max_cf, [&](double t, bool first, bool mx, int n) {
        NodeSample s = sample_node(node, guests, seed, t);
        fold(cpu, s.cpu, first, mx, n);
        fold(mem, static_cast<double>(s.mem), first, mx, n);
        fold(swap, static_cast<double>(s.swap), first, mx, n);
        fold(ni, s.netin, first, mx, n);
        fold(no, s.netout, first, mx, n);
        fold(io, s.iowait, first, mx, n);
        fold(la, s.loadavg[0], first, mx, n);
        fold(pc, s.pressure_cpu, first, mx, n);
        fold(pi, s.pressure_io, first, mx, n);
        fold(pm, s.pressure_mem, first, mx, n);
      });
      const double memtotal = static_cast<double>(node.memory);
      row.update({{"cpu", round4(cpu)}, {"maxcpu", node.cpus}, {"iowait", round4(io)}, {"loadavg", round4(la)},
                  {"memtotal", memtotal}, {"memused", std::round(mem)}, {"memavailable", std::round(memtotal - mem)},
                  {"arcsize", 0}, {"swaptotal", node.swap}, {"swapused", std::round(swap)},
                  {"roottotal", node.rootfs}, {"rootused", std::round(static_cast<double>(node.rootfs) * 0.22)},
                  {"netin", std::round(ni)}, {"netout", std::round(no)}, {"pressurecpusome", round4(pc)},
                  {"pressurecpufull", round4(pc / 2)}, {"pressureiosome", round4(pi)},
                  {"pressureiofull", round4(pi / 2)}, {"pressurememorysome", round4(pm)},
                  {"pressurememoryfull", round4(pm / 2)}});
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Json storage_rrd(uint64_t total, uint64_t volumes, const std::vector<const Guest*>& guests, double now,
                 const std::string& timeframe, bool max_cf) {
  const RrdFrame f = rrd_frame(timeframe);
  Json rows = Json::array();
  const double end = std::floor(now / f.step) * f.step;
  const double capacity = static_cast<double>(total);
  for (int r = f.rows - 1; r >= 0; --r) {
    const double start = end - f.step * (r + 1);
    double used = 0;
    fold_step(start, f.step, max_cf, [&](double t, bool first, bool mx, int n) {
      double sum = static_cast<double>(volumes);
      for (const Guest* g : guests) sum += static_cast<double>(guest_volume_used(*g, t));
      fold(used, std::min(sum, capacity), first, mx, n);
    });
    rows.push_back({{"time", static_cast<int64_t>(start)}, {"total", capacity}, {"used", std::round(used)}});
  }
  return rows;
}

}  // namespace pvekit::sim
