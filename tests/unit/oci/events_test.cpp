#include <gtest/gtest.h>

#include "oci/commands.h"
#include "oci/linux/stats.h"

namespace pvekit::oci {
namespace {

using std::chrono::milliseconds;

TEST(Duration, GoStyleIntervals) {
  EXPECT_EQ(*parse_duration("5s"), milliseconds(5000));
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("1m30s"), milliseconds(90000));
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parse_duration("1h"), milliseconds(3600000));
  for (const char* bad : {"", "5", "s", "5x", "0s", "-1s", "1sm"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().to_string().find("--interval"), std::string::npos) << bad;
  }
}

TEST(CgroupStatsParsing, FlatKeyedFilesAndValues) {
  auto m = linux::parse_flat_keyed("cache 4096\nrss 8192\nbogus\nmapped_file 0\n");
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["cache"], 4096u);
  EXPECT_EQ(m["rss"], 8192u);
  EXPECT_EQ(linux::parse_cgroup_value("12345\n"), 12345u);
  EXPECT_EQ(linux::parse_cgroup_value("max\n"), 0u);
  EXPECT_EQ(linux::parse_cgroup_value(""), 0u);
}

TEST(CgroupStatsParsing, BlkioV1AndIoStatV2) {
  auto v1 = linux::parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\nTotal 4608\n");
  ASSERT_EQ(v1.size(), 2u);
  EXPECT_EQ(v1[0], (linux::BlkioEntry{8, 0, "Read", 4096}));
  EXPECT_EQ(v1[1], (linux::BlkioEntry{8, 0, "Write", 512}));
  auto [bytes, ios] = linux::parse_io_stat("259:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n");
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], (linux::BlkioEntry{259, 0, "Read", 100}));
  EXPECT_EQ(bytes[1], (linux::BlkioEntry{259, 0, "Write", 200}));
  ASSERT_EQ(ios.size(), 2u);
  EXPECT_EQ(ios[1], (linux::BlkioEntry{259, 0, "Write", 4}));
}

TEST(CgroupStatsJson, HasRuncsShape) {
  linux::CgroupStats s;
  s.cpu_total = 1000;
  s.cpu_user = 600;
  s.cpu_kernel = 400;
  s.cpu_percpu = {700, 300};
  s.mem_usage = 1 << 20;
  s.mem_limit = 64 << 20;
  s.mem_cache = 4096;
  s.mem_raw = {{"cache", 4096}};
  s.pids_current = 3;
  s.pids_limit = 20;
  s.oom_kills = 2;
  s.io_service_bytes = {{8, 0, "Read", 10}};
  auto j = linux::stats_json(s);
  EXPECT_EQ(j["cpu"]["usage"]["total"], 1000);
  EXPECT_EQ(j["cpu"]["usage"]["percpu"], Json::parse("[700, 300]"));
  EXPECT_EQ(j["cpu"]["usage"]["user"], 600);
  EXPECT_EQ(j["cpu"]["usage"]["kernel"], 400);
  EXPECT_TRUE(j["cpu"]["throttling"].contains("throttledPeriods"));
  EXPECT_EQ(j["memory"]["usage"]["usage"], 1 << 20);
  EXPECT_EQ(j["memory"]["usage"]["limit"], 64 << 20);
  EXPECT_EQ(j["memory"]["cache"], 4096);
  EXPECT_EQ(j["memory"]["raw"]["cache"], 4096);
  EXPECT_EQ(j["pids"], Json::parse(R"({"current": 3, "limit": 20})"));
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"],
            Json::parse(R"([{"major": 8, "minor": 0, "op": "Read", "value": 10}])"));
  EXPECT_EQ(j["oomKills"], 2);
}

}  // namespace
}  // namespace pvekit::oci

namespace pvekit::oci::linux {
namespace {

// Hostile and malformed cgroup file content: parsed without crashing, and
// what cannot be read is left out instead of read as 0.
TEST(CgroupFileParsing, CountsAreStrictDecimals) {
  EXPECT_EQ(parse_u64("42"), 42u);
  EXPECT_EQ(parse_u64("42\n"), 42u);
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX) << "the whole unsigned range";
  for (const char* bad : {"", "\n", "18446744073709551616", "99999999999999999999999", "-1", "+1", "1.5", "0x10",
                          "12abc", " 12", "max"})
    EXPECT_FALSE(parse_u64(bad).has_value()) << bad;
  EXPECT_EQ(parse_cgroup_value("max\n"), 0u);
  EXPECT_EQ(parse_cgroup_value("  7  \n"), 7u);
}

TEST(CgroupFileParsing, FlatKeyedLeavesOutWhatIsNotAPair) {
  auto m = parse_flat_keyed("anon 4096\nfile\nshmem 1 2\nkernel -5\nsock 99999999999999999999\n\n\tslab\t12\npgfault 3");
  EXPECT_EQ(m, (std::map<std::string, uint64_t>{{"anon", 4096}, {"slab", 12}, {"pgfault", 3}}));
  EXPECT_TRUE(parse_flat_keyed(std::string(1 << 16, 'x')).empty());
  EXPECT_TRUE(parse_flat_keyed(std::string("oom_kill \0 1", 12)).empty());
}

TEST(CgroupFileParsing, NestedKeyedAndIoStat) {
  auto lines = parse_nested_keyed("8:0 rbytes=1 wbytes=2 junk =3 x= y=-1\n8:16\nrdma0 hca_handle=2 hca_object=max\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (NestedKeyedLine{"8:0", {{"rbytes", 1}, {"wbytes", 2}}}));
  EXPECT_EQ(lines[1], (NestedKeyedLine{"rdma0", {{"hca_handle", 2}}}));
  auto [bytes, ios] = parse_io_stat(
      "a:b rbytes=1\n8:0 rbytes=\n259:0 rbytes=99999999999999999999999 wbytes=5\n8:-1 rios=2\n7:2 rios=9 dios=4");
  EXPECT_EQ(bytes, (std::vector<BlkioEntry>{{259, 0, "Write", 5}})) << "a bad device or value is no entry";
  EXPECT_EQ(ios, (std::vector<BlkioEntry>{{7, 2, "Read", 9}}));
  EXPECT_TRUE(parse_blkio_v1("8:0 Read\nx:0 Read 1\n8:0 Write -1\nTotal 5\n").empty());
}

TEST(CgroupFileParsing, PressureLines) {
  auto p = parse_psi("some avg10=0.12 avg60=1.00 avg300=22.50 total=1363589752\n"
                     "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->some, (PsiData{0.12, 1.0, 22.5, 1363589752}));
  EXPECT_EQ(p->full, PsiData{});
  // cpu.pressure before Linux 5.13 has no "full" line: zeros, as runc reports it.
  auto some_only = parse_psi("some avg10=3.00 avg60=2.00 avg300=1.00 total=5\n");
  ASSERT_TRUE(some_only.has_value());
  EXPECT_EQ(some_only->full, PsiData{});
  for (const char* bad : {"", "\n", "garbage", "some avg10=0.00 avg60=", "some avg10=0.00 avg60=0.00 avg300=0.00",
                          "some avg10=nan avg60=0.00 avg300=0.00 total=1", "some avg10=inf avg60=0 avg300=0 total=1",
                          "some avg10=-1 avg60=0 avg300=0 total=1", "some avg10=0 avg60=0 avg300=0 total=-1",
                          "some avg10 avg60=0 avg300=0 total=1",
                          "some avg10=0 avg60=0 avg300=0 total=1\nfull avg10=0 avg60=0 avg300=0 total=x"})
    EXPECT_FALSE(parse_psi(bad).has_value()) << bad;
  EXPECT_TRUE(parse_psi("irq avg10=0\nsome avg10=0 avg60=0 avg300=0 total=1 extra=7\n").has_value())
      << "unknown lines and fields are skipped";
}

TEST(CgroupStatsJson, PsiWhereRuncPutsIt) {
  CgroupStats s;
  EXPECT_FALSE(stats_json(s)["cpu"].contains("psi")) << "no figures, no field";
  s.cpu_psi = PsiStats{{1.5, 2, 3, 40}, {}};
  s.memory_psi = PsiStats{};
  s.io_psi = PsiStats{{}, {0.25, 0, 0, 9}};
  auto j = stats_json(s);
  // runc 1.2 types/events.go: Cpu.PSI, Memory.PSI and Blkio.PSI, `json:"psi,omitempty"`,
  // each cgroups.PSIStats {"some", "full"} of PSIData {"avg10", "avg60", "avg300", "total"}.
  EXPECT_EQ(j["cpu"]["psi"], Json::parse(R"({"some": {"avg10": 1.5, "avg60": 2.0, "avg300": 3.0, "total": 40},
                                              "full": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.0, "total": 0}})"));
  EXPECT_TRUE(j["memory"].contains("psi"));
  EXPECT_EQ(j["blkio"]["psi"]["full"]["total"], 9);
}

TEST(OomDetection, CountsOnlyNewKills) {
  uint64_t seen = 0;
  EXPECT_EQ(new_oom_kills(seen, "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\n"), 2u);
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(new_oom_kills(seen, "max 9\noom 2\noom_kill 2\n"), 0u) << "other counters moved";
  EXPECT_EQ(new_oom_kills(seen, "oom_kill 5\n"), 3u);
  EXPECT_EQ(new_oom_kills(seen, ""), 0u) << "read while the kernel rewrote it";
  EXPECT_EQ(new_oom_kills(seen, "oom_kill x\n"), 0u);
  EXPECT_EQ(new_oom_kills(seen, "oom_kill 99999999999999999999999\n"), 0u);
  EXPECT_EQ(seen, 5u) << "nothing readable changes nothing";
  EXPECT_EQ(new_oom_kills(seen, "oom_kill 1\n"), 0u) << "a new cgroup: starts over";
  EXPECT_EQ(new_oom_kills(seen, "oom_kill 2\n"), 1u);
  EXPECT_EQ(new_oom_kills(seen, "oom_kill 18446744073709551615\n"), UINT64_MAX - 2);
}

}  // namespace
}  // namespace pvekit::oci::linux
