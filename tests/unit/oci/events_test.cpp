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
