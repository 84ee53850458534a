#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/clock.h"
#include "sim/auth.h"
#include "sim/dynamics.h"
#include "sim/world.h"

namespace pvekit::sim {

// Current figures of every guest and node, computed once per status interval
// and world version and shared by all readers.
struct LiveView {
  uint64_t version = 0;
  double time = 0;  // status_time() these figures belong to
  std::unordered_map<int, GuestSample> guests;
  std::unordered_map<std::string, NodeSample> nodes;
  std::unordered_map<std::string, std::vector<const Guest*>> by_node;
};

// Request-level faults, changed by the admin interface without the world lock.
struct RequestFaults {
  std::atomic<int> fail_requests{0};  // the next N /api2 requests fail
  std::atomic<bool> hang{false};      // ... by hanging hang_ms (real time) first
  std::atomic<int> hang_ms{30000};
  std::atomic<int> delay_ms{0};       // every /api2 request is delayed (real time)
  // Only requests whose path contains this text fail (empty: any), so a test
  // can break one step of a sequence, e.g. polling a vzcreate task.
  std::mutex path_mutex;
  std::string path_filter;

  void set_path_filter(std::string filter) {
    std::lock_guard lock(path_mutex);
    path_filter = std::move(filter);
  }
  bool path_matches(const std::string& path) {
    std::lock_guard lock(path_mutex);
    return path_filter.empty() || path.find(path_filter) != std::string::npos;
  }
};

// The simulated cluster: the world behind one reader/writer lock, the
// simulated clock (the given clock plus an offset the admin interface can
// advance), the authenticator and the response caches. Thread-safe.
class Simulator {
 public:
  Simulator(Cluster cluster, core::Clock& clock);

  // Simulated Unix time.
  double now() const;
  // Moves simulated time forward (admin interface; tests of expiry).
  void advance(double seconds);
  // Finishes tasks whose time has come; cheap when none is due.
  void tick();

  // Runs f(const World&) under the shared lock.
  template <typename F>
  auto read(F&& f) {
    std::shared_lock lock(mutex_);
    return f(static_cast<const World&>(world_));
  }
  // Runs f(World&) under the exclusive lock and marks the world changed.
  template <typename F>
  auto write(F&& f) {
    std::unique_lock lock(mutex_);
    struct Bump {
      Simulator* s;
      ~Bump() { s->changed(); }
    } bump{this};
    return f(world_);
  }

  // The live figures for the current status interval. Call with the shared
  // or exclusive lock held (inside read/write); valid while it is held.
  std::shared_ptr<const LiveView> live(const World& world);
  // The serialised body {"data": [...]} of /cluster/resources for `type`
  // ("" = all), cached per status interval and world version; rendered by
  // one thread while concurrent requests wait for it. Call inside read().
  std::shared_ptr<const std::string> resources_json(const World& world, const std::string& type);

  const Auth& auth() const { return auth_; }
  // After the /access endpoints changed users or tokens (exclusive lock held):
  // logins and API tokens follow the world's user list.
  void users_changed(const World& world) { auth_.set_users(world.cluster.access.users); }
  RequestFaults& request_faults() { return request_faults_; }
  // /api2 requests answered so far (GET /_sim/state shows it; benchmarks
  // count a client's requests with it).
  std::atomic<uint64_t>& api_requests() { return api_requests_; }
  // TLS fingerprint shown in /nodes (ssl_fingerprint); set by the server.
  void set_fingerprint(std::string fp) { fingerprint_ = std::move(fp); }
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  void changed();  // exclusive lock held

  core::Clock& clock_;
  std::atomic<double> offset_{0};
  mutable std::shared_mutex mutex_;
  World world_;
  Auth auth_;
  std::atomic<double> next_due_;
  std::atomic<uint64_t> version_{0};

  std::mutex cache_mutex_;
  std::mutex render_mutex_;
  std::shared_ptr<const LiveView> live_;
  std::map<std::string, std::pair<std::pair<uint64_t, double>, std::shared_ptr<const std::string>>> resources_;
  RequestFaults request_faults_;
  std::atomic<uint64_t> api_requests_{0};
  std::string fingerprint_;
};

}  // namespace pvekit::sim
