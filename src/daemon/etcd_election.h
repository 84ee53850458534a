// Leader election on etcd v3 through its JSON gateway (the grpc-gateway every
// etcd since 3.4 serves on its client port): a lease kept alive by the
// candidate, and the election API's campaign/leader/resign, so several
// proxlb daemons watch one cluster while exactly one acts.
//
// Safety rests on time, as with every lease: a daemon counts itself leader
// only until its last renewal's send time plus the lease TTL minus a safety
// margin, measured on its own monotonic clock. When it loses etcd it stops
// acting before etcd can expire the lease and elect another daemon.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "daemon/leadership.h"
#include "pve/transport.h"

namespace pvekit::daemon {

struct EtcdElectionOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"; tried in turn when one fails
  std::string election;                // the election's name, e.g. "proxlb/<cluster>"
  std::string candidate;               // this daemon's identity, the value of its leader key
  std::chrono::seconds lease_ttl{10};
  std::chrono::milliseconds request_timeout{3000};  // grant, keepalive, leader, resign
};

class EtcdElection final : public Leadership {
 public:
  // Config error when the options cannot work (no endpoint, empty names, a
  // TTL under 2 s).
  static core::Result<EtcdElectionOptions> validated(EtcdElectionOptions options);

  EtcdElection(pve::Transport& transport, core::Clock& clock, EtcdElectionOptions options);

  // One step of the candidate's work, for a background thread: without a
  // lease, grant one; as a candidate, renew the lease and campaign (a
  // long-poll of at most half the TTL, so the lease cannot lapse while it
  // waits); as leader, renew the lease. Returns how long to wait before the
  // next step.
  core::Result<core::Clock::Duration> step();

  // Leader, and the lease cannot have expired yet: safe to start something.
  bool leading() const;
  // Renews the lease now and asks etcd who leads: true only when it is this
  // daemon's key. Called before every wave and every migration.
  core::Result<bool> confirm() override;
  // Gives up leadership and revokes the lease (shutdown).
  core::Status resign();

  // "leader", "candidate", "no lease" with the election's name, for logs.
  std::string describe() const override;
  const EtcdElectionOptions& options() const { return options_; }

 private:
  struct State {
    std::optional<int64_t> lease;
    std::optional<core::Json> leader_key;  // the election API's LeaderKey, when elected
    core::Clock::Duration valid_until{0};  // monotonic; leading() is false after it
  };

  core::Result<core::Json> call(const std::string& path, const core::Json& body, std::chrono::milliseconds timeout);
  core::Status grant();
  // Renews the lease; false when etcd says it expired (the state is reset).
  core::Result<bool> keep_alive();
  core::Status campaign();
  void lose(const std::string& why);
  core::Clock::Duration safety_margin() const;

  pve::Transport& transport_;
  core::Clock& clock_;
  EtcdElectionOptions options_;
  mutable std::mutex mutex_;
  State state_;
  size_t endpoint_ = 0;  // the one that answered last
};

// Drives an election's steps on a background thread until destroyed (the
// destructor waits for a campaign long-poll to end: at most half the TTL).
class ElectionThread {
 public:
  ElectionThread(EtcdElection& election, core::Clock& clock);
  ~ElectionThread();
  ElectionThread(const ElectionThread&) = delete;
  ElectionThread& operator=(const ElectionThread&) = delete;

 private:
  void run(std::stop_token stop);

  EtcdElection& election_;
  core::Clock& clock_;
  std::jthread thread_;
};

}  // namespace pvekit::daemon
