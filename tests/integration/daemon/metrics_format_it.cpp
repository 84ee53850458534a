// The metrics text checked by Prometheus's own promtool (parser and lint):
// what the daemon renders must be what Prometheus reads, hostile label values
// included.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/process.h"
#include "daemon/metrics.h"

namespace pvekit::daemon {
namespace {

const char* kPromtool = "/usr/bin/promtool";

TEST(MetricsFormat, PromtoolAcceptsTheRenderedText) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << "promtool is not installed (apt-get install prometheus)";
  MetricsRegistry r;
  ASSERT_TRUE(r.declare("proxlb_node_load_ratio", MetricType::Gauge, "Used share of a node's resource.\nSecond line \\ with a backslash.",
                        {"cluster", "node", "resource"}).ok());
  ASSERT_TRUE(r.declare("proxlb_migrations_total", MetricType::Counter, "Migrations by result.", {"cluster", "result"}).ok());
  ASSERT_TRUE(r.declare("proxlb_leader", MetricType::Gauge, "1 when this daemon acts.").ok());
  ASSERT_TRUE(r.set("proxlb_node_load_ratio", {"lab", "pve1", "memory"}, 0.5).ok());
  ASSERT_TRUE(r.set("proxlb_node_load_ratio", {"lab \"quoted\" \\ back\nslash", "pv\xc3\xa9", "cpu"}, 1e-9).ok());
  ASSERT_TRUE(r.set("proxlb_node_load_ratio", {"lab", "pve2", "disk"}, std::numeric_limits<double>::quiet_NaN()).ok());
  ASSERT_TRUE(r.add("proxlb_migrations_total", {"lab", "succeeded"}, 12).ok());
  ASSERT_TRUE(r.set("proxlb_leader", {}, 1).ok());
  auto path = std::filesystem::temp_directory_path() / ("pvekit-metrics-" + std::to_string(getpid()) + ".txt");
  std::ofstream(path) << r.render();
  core::ProcessRunner runner;
  auto checked = runner.run({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", kPromtool, path.string()});
  std::filesystem::remove(path);
  ASSERT_TRUE(checked.ok()) << checked.error().to_string();
  EXPECT_EQ(checked->exit_status, 0) << checked->out << checked->err << "\n" << r.render();
}

}  // namespace
}  // namespace pvekit::daemon
