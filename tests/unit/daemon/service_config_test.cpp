// The daemon's keys in proxlb.yaml: schedule, hysteresis, leader election.
#include <gtest/gtest.h>

#include "balance/config.h"
#include "daemon/daemon.h"

namespace pvekit::daemon {
namespace {

const char* kApi = "proxmox_api:\n  hosts: [pve1]\n  user: root@pam\n  token_id: t\n  token_secret: s\n";

core::Result<balance::BalanceConfig> load(const std::string& service) {
  return balance::load_config(std::string(kApi) + "service:\n" + service, "proxlb.yaml", {});
}

TEST(ServiceConfig, DefaultsAreProxLBsIntervalWithHysteresis) {
  auto cfg = load("  log_level: INFO\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_EQ(cfg->service.hold, 3);
  EXPECT_EQ(cfg->service.margin, 2.0);
  EXPECT_EQ(cfg->service.leader_election.mode, "none");
  auto schedule = schedule_of(cfg->service);
  ASSERT_TRUE(schedule.ok());
  EXPECT_EQ(describe(*schedule), "every 12 hours");
}

TEST(ServiceConfig, CronReplacesTheInterval) {
  auto cfg = load("  schedule:\n    interval: 30\n    format: minutes\n    cron: \"0 3 * * *\"\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_EQ(describe(*schedule_of(cfg->service)), "cron \"0 3 * * *\"");
  cfg = load("  schedule:\n    interval: 30\n    format: minutes\n");
  EXPECT_EQ(describe(*schedule_of(cfg->service)), "every 30 minutes");
}

TEST(ServiceConfig, BadCronNamesTheKeyAndTheField) {
  auto cfg = load("  schedule:\n    cron: \"0 25 * * *\"\n");
  ASSERT_TRUE(cfg.ok());
  auto schedule = schedule_of(cfg->service);
  ASSERT_FALSE(schedule.ok());
  EXPECT_EQ(schedule.error().to_string(),
            "service.schedule.cron: cron expression \"0 25 * * *\": cron hour field \"25\": 25 is out of range 0-23");
}

TEST(ServiceConfig, LeaderElectionIsChecked) {
  auto no_endpoint = load("  leader_election:\n    mode: etcd\n");
  ASSERT_FALSE(no_endpoint.ok());
  EXPECT_NE(no_endpoint.error().to_string().find("service.leader_election.etcd.endpoints"), std::string::npos)
      << no_endpoint.error().to_string();
  auto bad_endpoint = load("  leader_election:\n    mode: etcd\n    etcd:\n      endpoints: [127.0.0.1:2379]\n");
  ASSERT_FALSE(bad_endpoint.ok());
  EXPECT_NE(bad_endpoint.error().to_string().find("must start with http://"), std::string::npos);
  auto bad_mode = load("  leader_election:\n    mode: zookeeper\n");
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_NE(bad_mode.error().to_string().find("service.leader_election.mode"), std::string::npos);
  auto ok = load("  hold: 1\n  margin: 0.5\n  leader_election:\n    mode: etcd\n    etcd:\n"
                 "      endpoints: [http://10.0.0.1:2379, https://10.0.0.2:2379]\n      lease_ttl: 5\n");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->service.leader_election.etcd_endpoints.size(), 2u);
  EXPECT_EQ(ok->service.leader_election.etcd_lease_ttl, 5);
  EXPECT_EQ(ok->service.hold, 1);
  EXPECT_EQ(ok->service.margin, 0.5);
  EXPECT_FALSE(load("  hold: 0\n").ok());
  EXPECT_FALSE(load("  leader_election:\n    etcd:\n      lease_ttl: 1\n").ok());
}

TEST(ServiceConfig, StatusApiAndAuditLogDefaults) {
  auto cfg = load("  hold: 3\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_EQ(cfg->service.audit_log, "/var/log/proxlb/audit.jsonl");
  EXPECT_FALSE(cfg->service.audit_log_set);  // a one-shot balance writes it only when set
  EXPECT_EQ(cfg->service.status_socket, "/run/proxlb/status.sock");
  EXPECT_EQ(cfg->service.status_token_file, "");
  cfg = load("  audit_log: /srv/audit.jsonl\n  status_socket: ''\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_TRUE(cfg->service.audit_log_set);
  EXPECT_EQ(cfg->service.status_socket, "");
}

TEST(ServiceConfig, HostilePathsAreRefusedNamingTheKey) {
  struct Case {
    std::string yaml, key, why;
  };
  const std::vector<Case> cases = {
      {"  audit_log: audit.jsonl\n", "service.audit_log", "absolute path"},
      {"  audit_log: /var/log/../../etc/shadow\n", "service.audit_log", "'..'"},
      {"  audit_log: \"/var/log/a\\nb\"\n", "service.audit_log", "control character"},
      {"  audit_log: /var/log/proxlb/\n", "service.audit_log", "directory"},
      {"  status_socket: /run/" + std::string(120, 's') + "\n", "service.status_socket", "at most 107"},
      {"  status_socket: run/status.sock\n", "service.status_socket", "absolute path"},
      {"  status_token_file: ../token\n", "service.status_token_file", "absolute path"},
  };
  for (const auto& c : cases) {
    auto cfg = load(c.yaml);
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_NE(cfg.error().to_string().find(c.key), std::string::npos) << cfg.error().to_string();
    EXPECT_NE(cfg.error().to_string().find(c.why), std::string::npos) << cfg.error().to_string();
  }
}

}  // namespace
}  // namespace pvekit::daemon

namespace pvekit::daemon {
namespace {

TEST(ServiceConfig, TheDashboardIsOffByDefaultAndLoopbackNeedsNoTls) {
  auto cfg = load("  hold: 3\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_EQ(cfg->service.dashboard.listen, "");
  EXPECT_EQ(cfg->service.dashboard.max_streams, 16);
  for (const char* listen : {"127.0.0.1:8190", "[::1]:8190", "localhost:8190"}) {
    cfg = load(std::string("  dashboard:\n    listen: \"") + listen + "\"\n    token_file: /etc/proxlb/dashboard.token\n");
    ASSERT_TRUE(cfg.ok()) << listen << ": " << cfg.error().to_string();
    EXPECT_EQ(cfg->service.dashboard.listen, listen);
    EXPECT_EQ(cfg->service.dashboard.token_file, "/etc/proxlb/dashboard.token");
  }
}

TEST(ServiceConfig, ARemoteDashboardNeedsTlsOrAnExplicitPlainHttp) {
  auto plain = load("  dashboard:\n    listen: 0.0.0.0:8190\n");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().to_string().find("service.dashboard.listen"), std::string::npos);
  EXPECT_NE(plain.error().to_string().find("not a loopback address"), std::string::npos);
  EXPECT_FALSE(load("  dashboard:\n    listen: \"127.evil.example:8190\"\n").ok()) << "a name, not 127.0.0.0/8";
  EXPECT_TRUE(load("  dashboard:\n    listen: 0.0.0.0:8190\n    allow_plain_remote: true\n").ok());
  EXPECT_TRUE(load("  dashboard:\n    listen: 0.0.0.0:8190\n    tls_cert_file: /etc/proxlb/c.pem\n"
                   "    tls_key_file: /etc/proxlb/k.pem\n").ok());
  auto half = load("  dashboard:\n    listen: 0.0.0.0:8190\n    tls_cert_file: /etc/proxlb/c.pem\n");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().to_string().find("service.dashboard.tls_key_file"), std::string::npos);
}

TEST(ServiceConfig, HostileDashboardValuesAreRefusedNamingTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  };
  for (const Case& c : {Case{"    token_file: ../token\n", "service.dashboard.token_file"},
                        Case{"    token_file: /etc/../token\n", "service.dashboard.token_file"},
                        Case{"    tls_key_file: \"/k\\n.pem\"\n    tls_cert_file: /c\n", "service.dashboard.tls_key_file"},
                        Case{"    max_streams: 0\n", "service.dashboard.max_streams"},
                        Case{"    listen: nonsense\n", "service.dashboard.listen"},
                        Case{"    colour: red\n", "service.dashboard.colour"}}) {
    auto cfg = load(std::string("  dashboard:\n") + c.yaml);
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_NE(cfg.error().to_string().find(c.key), std::string::npos) << cfg.error().to_string();
  }
}

}  // namespace
}  // namespace pvekit::daemon
