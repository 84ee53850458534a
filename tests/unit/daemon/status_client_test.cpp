// What `proxlb status`/`plan` print about a daemon they read from, and that
// they fall back to reading the cluster when no daemon answers.
#include "daemon/status_client.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace pvekit::daemon {
namespace {

TEST(DaemonSummary, SaysWhereTheOutputComesFromAndWhatTheDaemonDoes) {
  core::Json status = {{"leader", true},
                       {"leadership", "the only daemon (no leader election)"},
                       {"gate", "1 of 3 rounds"},
                       {"pve_crs_rebalancing", false},
                       {"last_round", {{"summary", "needs balancing (spread 12.0 points) for 1 of 3 rounds; waiting"}}},
                       {"last_error", nullptr},
                       {"last_success_time", 1'765'090'132.0},
                       {"next_round_time", 1'765'090'192.0}};
  EXPECT_EQ(daemon_summary(status, "/run/proxlb/status.sock", 1'765'090'142.0),
            "from the proxlb daemon on /run/proxlb/status.sock: as its round of 2025-12-07T06:48:52.000Z read the "
            "cluster (10 s ago)\n"
            "leader: yes (the only daemon (no leader election)); last round: needs balancing (spread 12.0 points) "
            "for 1 of 3 rounds; waiting; hold: 1 of 3 rounds; PVE CRS rebalancing: off; next round in 50 s\n");
}

TEST(DaemonSummary, BeforeTheFirstRound) {
  core::Json status = {{"last_round", nullptr}, {"last_error", nullptr}, {"last_success_time", nullptr}};
  EXPECT_EQ(daemon_summary(status, "/s", 0), "from the proxlb daemon on /s\nno round has run yet\n");
}

TEST(AskDaemon, NoSocketOrAStaleOneMeansNoDaemon) {
  testing::TempDir dir("status-client");
  auto none = ask_daemon(dir.path() + "/absent.sock", "/status");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  dir.write("file.sock", "not a socket");
  auto file = ask_daemon(dir.path() + "/file.sock", "/status");
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->has_value());
  EXPECT_FALSE(ask_daemon("", "/status")->has_value());
}

}  // namespace
}  // namespace pvekit::daemon
