#include <gtest/gtest.h>

#include "oci/commands.h"

namespace pvekit::oci {
namespace {

TEST(UpdateFlags, OnlyTheFlagsGivenAppear) {
  UpdateOptions o;
  o.memory = "64m";
  o.memory_swap = "-1";
  o.cpu_quota = 50000;
  o.cpu_period = 100000;
  o.cpu_shares = 512;
  o.cpuset_cpus = "0";
  o.pids_limit = 42;
  o.blkio_weight = 300;
  auto j = update_flags_json(o);
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  EXPECT_EQ(*j, Json::parse(R"({"memory": {"limit": 67108864, "swap": -1},
                                "cpu": {"quota": 50000, "period": 100000, "shares": 512, "cpus": "0"},
                                "pids": {"limit": 42}, "blockIO": {"weight": 300}})"));
  EXPECT_EQ(*update_flags_json(UpdateOptions{}), Json::object());
}

TEST(UpdateFlags, RefusesKernelMemoryAndBadValues) {
  UpdateOptions km;
  km.kernel_memory = "10m";
  auto r = update_flags_json(km);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("--kernel-memory"), std::string::npos);

  UpdateOptions mem;
  mem.memory_reservation = "lots";
  r = update_flags_json(mem);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("--memory-reservation"), std::string::npos);

  UpdateOptions blkio;
  blkio.blkio_weight = 5;
  r = update_flags_json(blkio);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("--blkio-weight"), std::string::npos);
}

TEST(MergeJson, ReplacesOnlyWhatTheDeltaSets) {
  Json current = Json::parse(R"({"memory": {"limit": 100, "swap": 200}, "pids": {"limit": 5},
                                 "devices": [{"allow": false, "access": "rwm"}]})");
  Json delta = Json::parse(R"({"memory": {"limit": 300}, "cpu": {"shares": 2}})");
  EXPECT_EQ(merge_json(current, delta),
            Json::parse(R"({"memory": {"limit": 300, "swap": 200}, "pids": {"limit": 5},
                            "devices": [{"allow": false, "access": "rwm"}], "cpu": {"shares": 2}})"));
  EXPECT_EQ(merge_json(Json(), delta), delta);
}

}  // namespace
}  // namespace pvekit::oci
