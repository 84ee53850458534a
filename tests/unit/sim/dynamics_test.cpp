#include "sim/dynamics.h"

#include <gtest/gtest.h>

#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

constexpr double kT0 = 1'700'000'000;

Guest running_guest(int vmid) {
  Guest g;
  g.vmid = vmid;
  g.cpus = 4;
  g.maxmem = 8ull << 30;
  g.maxdisk = 32ull << 30;
  g.status = "running";
  return g;
}

TEST(DynamicsTest, SamplesAreDeterministicPerSeedVmidAndTime) {
  const Guest g = running_guest(100);
  const GuestSample a = sample_guest(g, 42, kT0), b = sample_guest(g, 42, kT0);
  EXPECT_EQ(a.cpu, b.cpu);
  EXPECT_EQ(a.mem, b.mem);
  EXPECT_NE(sample_guest(g, 43, kT0).cpu, a.cpu) << "the seed changes the noise";
  EXPECT_NE(sample_guest(running_guest(101), 42, kT0).cpu, a.cpu) << "each guest has its own noise";
}

TEST(DynamicsTest, FiguresStayWithinLimits) {
  Guest g = running_guest(100);
  g.load.cpu = 0.95;
  g.load.cpu_amp = 0.3;
  for (int i = 0; i < 500; ++i) {
    const GuestSample s = sample_guest(g, 1, kT0 + i * 977.0);
    ASSERT_GE(s.cpu, 0.0);
    ASSERT_LE(s.cpu, 1.0);
    ASSERT_LE(s.mem, g.maxmem);
  }
}

TEST(DynamicsTest, DailyCycleFollowsPeakHour) {
  Guest g = running_guest(100);
  g.load.noise = 0;
  g.load.peak_hour = 14;
  const double midnight = 1'700'006'400;  // 2023-11-15 00:00 UTC
  EXPECT_GT(sample_guest(g, 1, midnight + 14 * 3600).cpu, sample_guest(g, 1, midnight + 2 * 3600).cpu);
}

TEST(DynamicsTest, StoppedGuestUsesNothing) {
  Guest g = running_guest(100);
  g.status = "stopped";
  EXPECT_EQ(sample_guest(g, 1, kT0).cpu, 0);
  EXPECT_EQ(sample_guest(g, 1, kT0).mem, 0u);
}

TEST(DynamicsTest, NodeIsBasePlusRunningGuests) {
  Node n;
  n.cpus = 16;
  n.memory = 64ull << 30;
  n.base_mem = 2ull << 30;
  n.base_cpu = 0.02;
  Guest a = running_guest(100), b = running_guest(101), c = running_guest(102);
  c.status = "stopped";
  const NodeSample empty = sample_node(n, {}, 1, kT0);
  const NodeSample busy = sample_node(n, {&a, &b, &c}, 1, kT0);
  EXPECT_NEAR(empty.cpu, 0.02, 1e-9);
  EXPECT_EQ(empty.mem, 2ull << 30);
  const double expect_demand = 0.02 * 16 + sample_guest(a, 1, kT0).cpu * 4 + sample_guest(b, 1, kT0).cpu * 4;
  EXPECT_NEAR(busy.demand, expect_demand, 1e-9);
  EXPECT_EQ(busy.mem, (2ull << 30) + sample_guest(a, 1, kT0).mem + sample_guest(b, 1, kT0).mem);
}

// PVE 9's rows per timeframe: create_rrd_data's $setup in pve-cluster
// src/PVE/RRD.pm ([resolution, count]: hour [60, 60], day [60, 1440], week
// [1800, 336], month [1800, 1440], year [21600, 1440], decade [604800, 570]).
TEST(DynamicsTest, RrdRowsAndResolutionsAreThoseOfPve9) {
  const Guest g = running_guest(100);
  const struct { const char* frame; size_t rows; int64_t step; } kPve9[] = {
      {"hour", 60, 60}, {"day", 1440, 60}, {"week", 336, 1800}, {"month", 1440, 1800}, {"year", 1440, 21600},
      {"decade", 570, 604800}};
  for (const auto& f : kPve9) {
    core::Json rows = guest_rrd(g, 1, kT0, f.frame, false);
    ASSERT_EQ(rows.size(), f.rows) << f.frame;
    EXPECT_EQ(rows[1]["time"].get<int64_t>() - rows[0]["time"].get<int64_t>(), f.step) << f.frame;
    // As PVE: the last row is the last complete step before now ($ctime - 1).
    const int64_t ctime = static_cast<int64_t>(kT0) / f.step * f.step;
    EXPECT_EQ(rows.back()["time"].get<int64_t>(), ctime - f.step) << f.frame;
  }
}

TEST(DynamicsTest, RrdIsNeverEmptyForRunningGuestAndOnlineNode) {
  const Guest g = running_guest(100);
  for (const char* frame : {"hour", "day", "week", "month", "year"}) {
    for (bool max : {false, true}) {
      core::Json rows = guest_rrd(g, 1, kT0, frame, max);
      ASSERT_EQ(rows.size(), static_cast<size_t>(rrd_frame(frame).rows)) << frame;
      for (const auto& row : rows) {
        ASSERT_TRUE(row.contains("cpu")) << frame;
        ASSERT_TRUE(row.contains("pressurecpusome")) << frame;
        ASSERT_TRUE(row.contains("pressurememorysome")) << frame;
        ASSERT_TRUE(row.contains("pressureiosome")) << frame;
      }
      EXPECT_LT(rows.back()["time"].get<double>(), kT0) << frame;
    }
  }
  Node n;
  n.cpus = 8;
  n.memory = 32ull << 30;
  core::Json rows = node_rrd(n, {&g}, 1, kT0, "hour", false);
  ASSERT_EQ(rows.size(), 60u);
  for (const char* key : {"cpu", "maxcpu", "memused", "memtotal", "loadavg", "netin", "pressurecpusome",
                          "pressureiofull", "pressurememoryfull", "memavailable"}) {
    EXPECT_TRUE(rows[0].contains(key)) << key;
  }
}

TEST(DynamicsTest, RrdMaxIsAtLeastAverage) {
  const Guest g = running_guest(100);
  core::Json avg = guest_rrd(g, 1, kT0, "day", false), max = guest_rrd(g, 1, kT0, "day", true);
  for (size_t i = 0; i < avg.size(); ++i) EXPECT_GE(max[i]["cpu"].get<double>(), avg[i]["cpu"].get<double>());
}

TEST(DynamicsTest, RrdHourAgreesWithCurrentProfile) {
  const Guest g = running_guest(100);
  core::Json rows = guest_rrd(g, 9, kT0, "hour", false);
  const auto& last = rows.back();
  const double t = last["time"].get<double>();
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += sample_guest(g, 9, t + 60 * (i + 0.5) / 4).cpu;
  EXPECT_NEAR(last["cpu"].get<double>(), sum / 4, 1e-3);
}

// A planted disk trend shows in the storage's history at its exact rate,
// and a volume keeps its data when the guest stops.
TEST(DynamicsTest, StorageRrdFollowsTheGuestsDiskTrend) {
  Guest g = running_guest(100);
  g.load.trend_origin = kT0;
  g.load.disk = 0.5;
  g.load.disk_trend = 0.01;  // 1 % of 32 GiB a day
  Guest stopped = running_guest(101);
  stopped.status = "stopped";
  stopped.load.trend_origin = kT0;
  const uint64_t other = 1ull << 30;
  core::Json rows = storage_rrd(100ull << 30, other, {&g, &stopped}, kT0, "month", false);
  ASSERT_EQ(rows.size(), 1440u);
  const double gib = 1ull << 30;
  const core::Json& last = rows.back();
  EXPECT_EQ(last["total"].get<double>(), 100 * gib);
  // 0.5 + 0.6 of 32 GiB plus 1 GiB at kT0, and the growth to the middle of the last 30-minute row.
  const double middle = last["time"].get<double>() + 900;
  EXPECT_NEAR(last["used"].get<double>(), (0.5 * 32 + 0.6 * 32 + 1) * gib + 0.32 * gib * (middle - kT0) / 86400, 1e3);
  const double per_row = (last["used"].get<double>() - rows[0]["used"].get<double>()) / 1439;
  EXPECT_NEAR(per_row * 48, 0.32 * gib, 1e3) << "0.32 GiB a day, 48 rows a day";
  Guest full = g;
  full.load.disk = 1;
  full.load.disk_trend = 1;
  for (const auto& row : storage_rrd(40ull << 30, 0, {&full, &full}, kT0 + 86400 * 30, "day", true))
    EXPECT_LE(row["used"].get<double>(), 40 * gib) << "never more than the storage holds";
}

}  // namespace
}  // namespace pvekit::sim
