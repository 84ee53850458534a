#include "daemon/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pvekit::daemon {
namespace {

TEST(Metrics, RendersTheTextFormat) {
  MetricsRegistry r;
  ASSERT_TRUE(r.declare("proxlb_migrations_total", MetricType::Counter, "Migrations by result.", {"cluster", "result"}).ok());
  ASSERT_TRUE(r.declare("proxlb_leader", MetricType::Gauge, "1 when this daemon acts.").ok());
  ASSERT_TRUE(r.add("proxlb_migrations_total", {"lab", "succeeded"}, 3).ok());
  ASSERT_TRUE(r.add("proxlb_migrations_total", {"lab", "succeeded"}, 2).ok());
  ASSERT_TRUE(r.add("proxlb_migrations_total", {"lab", "failed"}, 1).ok());
  ASSERT_TRUE(r.set("proxlb_leader", {}, 1).ok());
  EXPECT_EQ(r.render(),
            "# HELP proxlb_migrations_total Migrations by result.\n"
            "# TYPE proxlb_migrations_total counter\n"
            "proxlb_migrations_total{cluster=\"lab\",result=\"failed\"} 1\n"
            "proxlb_migrations_total{cluster=\"lab\",result=\"succeeded\"} 5\n"
            "# HELP proxlb_leader 1 when this daemon acts.\n"
            "# TYPE proxlb_leader gauge\n"
            "proxlb_leader 1\n");
}

TEST(Metrics, EscapesWhatTheFormatRequires) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_help("line\\one\nline \"two\""), "line\\\\one\\nline \"two\"");
  EXPECT_EQ(format_sample_value(0.25), "0.25");
  EXPECT_EQ(format_sample_value(1e21), "1e+21");
  EXPECT_EQ(format_sample_value(12345678901234), "12345678901234");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Metrics, RefusesNamesAndUsesPrometheusWouldNot) {
  MetricsRegistry r;
  EXPECT_FALSE(r.declare("9lives", MetricType::Gauge, "").ok());
  EXPECT_FALSE(r.declare("proxlb-load", MetricType::Gauge, "").ok());
  EXPECT_FALSE(r.declare("proxlb_migrations", MetricType::Counter, "").ok());  // counters end in _total
  EXPECT_FALSE(r.declare("proxlb_x", MetricType::Gauge, "", {"__name"}).ok());
  EXPECT_FALSE(r.declare("proxlb_x", MetricType::Gauge, "", {"a:b"}).ok());
  ASSERT_TRUE(r.declare("proxlb_x", MetricType::Gauge, "", {"node"}).ok());
  EXPECT_FALSE(r.declare("proxlb_x", MetricType::Gauge, "").ok());
  EXPECT_FALSE(r.set("proxlb_x", {}, 1).ok());              // wrong label count
  EXPECT_FALSE(r.set("proxlb_unknown", {"a"}, 1).ok());     // not declared
  EXPECT_FALSE(r.add("proxlb_x", {"a"}, 1).ok());           // add on a gauge
  ASSERT_TRUE(r.declare("proxlb_y_total", MetricType::Counter, "").ok());
  EXPECT_FALSE(r.add("proxlb_y_total", {}, -1).ok());
  EXPECT_FALSE(r.add("proxlb_y_total", {}, std::nan("")).ok());
  EXPECT_FALSE(r.set("proxlb_y_total", {}, 1).ok());
}

TEST(Metrics, ClearDropsSeriesOfNodesThatLeft) {
  MetricsRegistry r;
  ASSERT_TRUE(r.declare("proxlb_node_guests", MetricType::Gauge, "Guests per node.", {"node"}).ok());
  ASSERT_TRUE(r.set("proxlb_node_guests", {"pve1"}, 10).ok());
  ASSERT_TRUE(r.set("proxlb_node_guests", {"pve2"}, 12).ok());
  r.clear("proxlb_node_guests");
  ASSERT_TRUE(r.set("proxlb_node_guests", {"pve1"}, 11).ok());
  EXPECT_EQ(r.render().find("pve2"), std::string::npos);
  EXPECT_NE(r.render().find("proxlb_node_guests{node=\"pve1\"} 11\n"), std::string::npos);
}

TEST(Metrics, ClearOfOneClusterKeepsTheOthersSeries) {
  MetricsRegistry r;
  ASSERT_TRUE(r.declare("proxlb_node_guests", MetricType::Gauge, "Guests per node.", {"cluster", "node"}).ok());
  ASSERT_TRUE(r.set("proxlb_node_guests", {"lab", "pve1"}, 10).ok());
  ASSERT_TRUE(r.set("proxlb_node_guests", {"prod", "pve1"}, 12).ok());
  r.clear("proxlb_node_guests", {"lab"});
  EXPECT_EQ(r.render().find("cluster=\"lab\""), std::string::npos);
  EXPECT_NE(r.render().find("proxlb_node_guests{cluster=\"prod\",node=\"pve1\"} 12\n"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::daemon
