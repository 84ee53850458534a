#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "pve/client.h"
#include "support/fake_transport.h"

namespace pvekit::balance::testing {

// A tiny PVE cluster behind a FakeTransport: guests on nodes, migrations that
// finish after `task_polls` status polls, quorum and failure switches. Enough
// for the executor and the snapshot reader; pvesim covers the real API.
class FakeCluster {
 public:
  struct GuestEntry {
    std::string node;
    std::string type = "qemu";  // qemu | lxc
    std::string status = "running";
    std::string lock;
    std::string hastate;
    std::string tags;
    uint64_t maxmem = 4ull << 30;
    std::map<std::string, std::string> config;
  };

  FakeCluster();

  void add_node(const std::string& name, uint64_t maxmem = 64ull << 30, int cpus = 16, bool online = true);
  void add_guest(uint32_t vmid, GuestEntry guest);

  bool quorate = true;
  int task_polls = 2;                           // status polls a migration stays running
  std::map<uint32_t, int> task_polls_of;        // per vmid, instead of task_polls
  std::map<uint32_t, std::string> fail_migration;  // vmid -> exitstatus text
  std::map<uint32_t, GuestEntry> guests;
  // GET /access/permissions: the token's privileges per path (PVE's
  // path -> {privilege: propagate}); everything proxlb needs on the top-level
  // paths, propagated, as the documented role on / gives.
  core::Json permissions = {
      {"/", {{"Sys.Audit", 1}, {"Sys.Console", 1}, {"VM.Audit", 1}, {"VM.Migrate", 1}, {"Datastore.Audit", 1},
             {"Pool.Audit", 1}}},
      {"/vms", {{"VM.Audit", 1}, {"VM.Migrate", 1}}},
      {"/storage", {{"Datastore.Audit", 1}}},
      {"/pool", {{"Pool.Audit", 1}, {"VM.Audit", 1}}},
  };

  // A migration PVE runs already (started by someone else, e.g. a proxlb
  // that was killed): the guest is locked and /cluster/tasks lists the task,
  // whose log names the target. Returns the UPID.
  std::string add_running_migration(uint32_t vmid, const std::string& target, int polls);

  pve::Client& client() { return *client_; }
  pvekit::testing::FakeTransport& transport() { return transport_; }
  core::ManualClock& clock() { return clock_; }
  // Migrations started, in order: "vmid:from->to params".
  std::vector<std::string> started;
  // Highest number of migrations running at once through one node.
  int peak_jobs_per_node = 0;

 private:
  core::Json resources(const std::string& filter) const;
  core::Json cluster_status() const;
  uint64_t node_memory_used(const std::string& node) const;
  void route_guest(uint32_t vmid);
  core::Result<pve::HttpResponse> migrate(uint32_t vmid, const pve::HttpRequest& request);
  std::string start_task(uint32_t vmid, const std::string& target, int polls);
  core::Json task_list() const;
  void track_jobs();

  struct Task {
    uint32_t vmid;
    std::string source;
    std::string target;
    int polls_left;
    bool ha;
  };
  struct NodeEntry {
    std::string name;
    uint64_t maxmem;
    int cpus;
    bool online;
  };
  std::vector<NodeEntry> nodes_;
  std::map<std::string, Task> tasks_;
  int next_pid_ = 1;
  pvekit::testing::FakeTransport transport_;
  core::ManualClock clock_;
  std::unique_ptr<pve::Client> client_;
};

}  // namespace pvekit::balance::testing
