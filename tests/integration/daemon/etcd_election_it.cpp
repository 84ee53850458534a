// Leader election against a real etcd (its v3 JSON gateway): one leader at a
// time, hand-over when the leader dies or resigns, and a leader that stops
// acting when etcd stops answering, before its lease can run out.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "daemon/etcd_election.h"
#include "pve/curl_transport.h"
#include "support/child_process.h"

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const char* kEtcd = "/usr/bin/etcd";

class Etcd {
 public:
  Etcd() : dir_(std::filesystem::temp_directory_path() / ("pvekit-etcd-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    int client = testing::free_loopback_port(), peer = testing::free_loopback_port();
    endpoint_ = "http://127.0.0.1:" + std::to_string(client);
    std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
    process_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{kEtcd, "--name", "it", "--data-dir", (dir_ / "data").string(),
                                 "--listen-client-urls", endpoint_, "--advertise-client-urls", endpoint_,
                                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                                 "--initial-cluster", "it=" + peer_url},
        (dir_ / "etcd.log").string());
  }
  ~Etcd() {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Waits until etcd reports itself healthy.
  bool ready(pve::Transport& transport) const {
    auto deadline = Steady::now() + 30s;
    while (Steady::now() < deadline) {
      auto r = transport.send({.method = pve::HttpMethod::Get, .url = endpoint_ + "/health", .timeout = 1s});
      if (r && r->status == 200 && r->body.find("\"true\"") != std::string::npos) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
  const std::string& endpoint() const { return endpoint_; }
  void signal(int sig) const { process_->signal(sig); }

 private:
  std::filesystem::path dir_;
  std::string endpoint_;
  std::unique_ptr<testing::ChildProcess> process_;
};

class EtcdElectionIt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kEtcd, X_OK) != 0) GTEST_SKIP() << "etcd is not installed (apt-get install etcd-server)";
    auto t = pve::CurlTransport::create({});
    ASSERT_TRUE(t.ok()) << t.error().to_string();
    transport_ = std::move(*t);
    ASSERT_TRUE(etcd_.ready(*transport_)) << "etcd did not become healthy";
  }

  std::unique_ptr<EtcdElection> candidate(const std::string& name) {
    auto options = EtcdElection::validated(
        {.endpoints = {etcd_.endpoint()}, .election = "proxlb/it", .candidate = name, .lease_ttl = 2s,
         .request_timeout = 1s});
    EXPECT_TRUE(options.ok());
    return std::make_unique<EtcdElection>(*transport_, clock_, *options);
  }

  // Watches `daemons` every 20 ms for up to `timeout`, failing the test the
  // moment two lead at once; returns the index of the leader once `done`
  // says so, -1 on timeout.
  template <typename Done>
  int watch(const std::vector<EtcdElection*>& daemons, std::chrono::milliseconds timeout, Done done) {
    auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      int leaders = 0, leader = -1;
      for (size_t i = 0; i < daemons.size(); ++i) {
        if (daemons[i] && daemons[i]->leading()) ++leaders, leader = static_cast<int>(i);
      }
      EXPECT_LE(leaders, 1) << "two daemons lead at once";
      if (leaders > 1) return -1;
      if (done(leader)) return leader;
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

  core::SystemClock clock_;
  Etcd etcd_;
  std::unique_ptr<pve::Transport> transport_;
};

TEST_F(EtcdElectionIt, OneLeadsAndADeadLeaderIsReplacedWithinTheLeaseTtl) {
  auto a = candidate("pve1"), b = candidate("pve2");
  auto a_thread = std::make_unique<ElectionThread>(*a, clock_);
  ElectionThread b_thread(*b, clock_);
  int first = watch({a.get(), b.get()}, 15s, [](int leader) { return leader >= 0; });
  ASSERT_GE(first, 0) << "nobody was elected";
  EtcdElection& leader = first == 0 ? *a : *b;
  EtcdElection& other = first == 0 ? *b : *a;
  EXPECT_EQ(leader.confirm().value_or(false), true);
  EXPECT_EQ(other.confirm().value_or(true), false);

  // The leader's process dies: no more renewals, no resignation. (Only a's
  // thread can be stopped without destroying b's, so make a the leader.)
  if (first == 1) {
    ASSERT_TRUE(b->resign().ok());
    ASSERT_GE(watch({a.get(), b.get()}, 10s, [](int l) { return l == 0; }), 0) << "a did not take over";
  }
  auto died = Steady::now();
  a_thread.reset();
  int next = watch({a.get(), b.get()}, 10s, [](int l) { return l == 1; });
  ASSERT_EQ(next, 1) << "b did not take over";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - died);
  // The lease runs out 2 s after the last renewal; b campaigns continuously.
  EXPECT_LT(took, 6s) << "took over after " << took.count() << " ms";
  std::cout << "take-over after the leader died: " << took.count() << " ms\n";
}

TEST_F(EtcdElectionIt, LeaderStopsActingWhenEtcdStopsAnswering) {
  auto a = candidate("pve1");
  ElectionThread thread(*a, clock_);
  ASSERT_GE(watch({a.get()}, 15s, [](int l) { return l == 0; }), 0);
  etcd_.signal(SIGSTOP);
  auto frozen = Steady::now();
  while (a->leading() && Steady::now() < frozen + 5s) std::this_thread::sleep_for(10ms);
  auto stopped = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - frozen);
  ASSERT_FALSE(a->leading());
  // Renewed at most TTL/3 before the freeze; acting ends 1.6 s (TTL - margin)
  // after that renewal was sent, before etcd could expire the lease at 2 s.
  EXPECT_LT(stopped, 2s) << "still leading " << stopped.count() << " ms after etcd froze";
  std::cout << "stopped acting " << stopped.count() << " ms after etcd froze\n";
  EXPECT_FALSE(a->confirm().value_or(false));
  etcd_.signal(SIGCONT);
  ASSERT_GE(watch({a.get()}, 20s, [](int l) { return l == 0; }), 0) << "no leader after etcd came back";
}

TEST_F(EtcdElectionIt, ResignHandsOverAtOnce) {
  auto a = candidate("pve1"), b = candidate("pve2");
  ASSERT_TRUE(a->step().ok());
  ASSERT_TRUE(a->step().ok());
  ASSERT_TRUE(a->leading());
  ElectionThread a_thread(*a, clock_);
  ElectionThread b_thread(*b, clock_);
  EXPECT_EQ(watch({a.get(), b.get()}, 3s, [](int l) { return l == 1; }), -1) << "b led while a holds the lease";
  auto resigned = Steady::now();
  ASSERT_TRUE(a->resign().ok());
  ASSERT_EQ(watch({a.get(), b.get()}, 5s, [](int l) { return l == 1; }), 1);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - resigned);
  EXPECT_LT(took, 2s) << "hand-over took " << took.count() << " ms";
}

}  // namespace
}  // namespace pvekit::daemon
