#include "daemon/etcd_election.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/strings.h"
#include "support/fake_transport.h"

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;
using core::Json;

pve::HttpResponse json_answer(const Json& body) { return {.status = 200, .reason = "OK", .body = body.dump()}; }

// etcd's lease and election semantics in memory, as its JSON gateway shows
// them: leases expire TTL after their last renewal on the shared clock; the
// leader is the oldest key of a live lease; a campaign that cannot win at
// once long-polls, which a client sees as its request timing out, and etcd
// then withdraws the campaign's key (the request's context is cancelled).
class FakeEtcd {
 public:
  explicit FakeEtcd(core::ManualClock& clock) : clock_(clock) {}

  core::Result<pve::HttpResponse> handle(const pve::HttpRequest& request) {
    expire();
    auto body = *core::parse_json(request.body, "request");
    std::string path = testing::split_url(request.url).path;
    if (path == "/v3/lease/grant") {
      int64_t id = next_lease_++;
      leases_[id] = Lease{body["TTL"].get<int64_t>(), now()};
      return json_answer({{"ID", std::to_string(id)}, {"TTL", std::to_string(leases_[id].ttl)}});
    }
    if (path == "/v3/lease/keepalive") {
      int64_t id = *core::parse_int(body["ID"].get<std::string>());
      auto it = leases_.find(id);
      if (it == leases_.end()) return json_answer({{"result", {{"ID", std::to_string(id)}}}});
      it->second.renewed = now();
      return json_answer({{"result", {{"ID", std::to_string(id)}, {"TTL", std::to_string(it->second.ttl)}}}});
    }
    if (path == "/v3/lease/revoke") {
      revoke(*core::parse_int(body["ID"].get<std::string>()));
      return json_answer(Json::object());
    }
    if (path == "/v3/election/campaign") {
      int64_t lease = *core::parse_int(body["lease"].get<std::string>());
      if (!leases_.count(lease)) return pve::HttpResponse{.status = 404, .body = R"({"message":"requested lease not found"})"};
      std::string name = body["name"].get<std::string>();
      auto& queue = elections_[name];
      std::string key = name + "/" + std::to_string(lease);
      if (std::none_of(queue.begin(), queue.end(), [&](const Key& k) { return k.key == key; })) {
        queue.push_back(Key{key, lease, body["value"].get<std::string>(), revision_++});
      }
      if (queue.front().key != key) {
        std::erase_if(queue, [&](const Key& k) { return k.key == key; });
        return pve::transport_error("operation timed out", pve::TransportStage::Io);
      }
      return json_answer({{"leader", {{"name", name}, {"key", key}, {"rev", "1"}, {"lease", std::to_string(lease)}}}});
    }
    if (path == "/v3/election/leader") {
      auto& queue = elections_[body["name"].get<std::string>()];
      if (queue.empty()) return pve::HttpResponse{.status = 500, .body = R"({"message":"election: no leader"})"};
      const Key& k = queue.front();
      return json_answer({{"kv", {{"key", k.key}, {"value", k.value}, {"lease", std::to_string(k.lease)}}}});
    }
    if (path == "/v3/election/resign") {
      std::string key = body["leader"]["key"].get<std::string>();
      for (auto& [name, queue] : elections_) std::erase_if(queue, [&](const Key& k) { return k.key == key; });
      return json_answer(Json::object());
    }
    return pve::HttpResponse{.status = 404, .body = "{}"};
  }

  // The candidate value (base64) of the current leader of `election`, "" if none.
  std::string leader(const std::string& election) {
    expire();
    auto& queue = elections_[core::base64_encode(election)];
    return queue.empty() ? "" : *core::base64_decode(queue.front().value);
  }

 private:
  struct Lease {
    int64_t ttl;
    core::Clock::Duration renewed;
  };
  struct Key {
    std::string key;
    int64_t lease;
    std::string value;
    int64_t revision;
  };
  core::Clock::Duration now() const { return clock_.monotonic(); }
  void revoke(int64_t id) {
    leases_.erase(id);
    for (auto& [name, queue] : elections_) std::erase_if(queue, [&](const Key& k) { return k.lease == id; });
  }
  void expire() {
    std::vector<int64_t> dead;
    for (const auto& [id, lease] : leases_) {
      if (now() >= lease.renewed + std::chrono::seconds(lease.ttl)) dead.push_back(id);
    }
    for (int64_t id : dead) revoke(id);
  }

  core::ManualClock& clock_;
  std::map<int64_t, Lease> leases_;
  std::map<std::string, std::vector<Key>> elections_;
  int64_t next_lease_ = 7000;
  int64_t revision_ = 1;
};

// One daemon's network path to etcd, which a test can cut.
class Link final : public pve::Transport {
 public:
  explicit Link(FakeEtcd& etcd) : etcd_(etcd) {}
  core::Result<pve::HttpResponse> send(const pve::HttpRequest& request) override {
    requests.push_back(request);
    if (cut) return pve::transport_error("connect: connection refused", pve::TransportStage::Connect);
    return etcd_.handle(request);
  }
  bool cut = false;
  std::vector<pve::HttpRequest> requests;

 private:
  FakeEtcd& etcd_;
};

// confirm()'s answer; an error fails the test.
bool confirmed(EtcdElection& election) {
  auto answer = election.confirm();
  EXPECT_TRUE(answer.ok()) << answer.error().to_string();
  return answer.ok() && *answer;
}

EtcdElectionOptions options_for(const std::string& candidate) {
  return {.endpoints = {"http://127.0.0.1:2379"}, .election = "proxlb/lab", .candidate = candidate,
          .lease_ttl = 10s};
}

TEST(EtcdElection, FirstCandidateLeadsTheSecondWaits) {
  core::ManualClock clock;
  FakeEtcd etcd(clock);
  Link a_link(etcd), b_link(etcd);
  EtcdElection a(a_link, clock, options_for("pve1"));
  EtcdElection b(b_link, clock, options_for("pve2"));
  ASSERT_TRUE(a.step().ok());  // grant
  ASSERT_TRUE(a.step().ok());  // keepalive + campaign
  EXPECT_TRUE(a.leading());
  ASSERT_TRUE(b.step().ok());
  ASSERT_TRUE(b.step().ok());
  EXPECT_FALSE(b.leading());
  EXPECT_EQ(etcd.leader("proxlb/lab"), "pve1");
  EXPECT_TRUE(confirmed(a));
  EXPECT_FALSE(confirmed(b));
  EXPECT_EQ(a.describe(), "leader in etcd election proxlb/lab");
  EXPECT_EQ(b.describe(), "candidate in etcd election proxlb/lab");
  // The request carries the gateway's shapes: base64 name, lease as a string.
  auto campaign = *core::parse_json(a_link.requests[2].body, "campaign");
  EXPECT_EQ(campaign["name"], core::base64_encode("proxlb/lab"));
  EXPECT_TRUE(campaign["lease"].is_string());
}

TEST(EtcdElection, LeaderCutOffStopsActingBeforeItsLeaseExpires) {
  core::ManualClock clock;
  FakeEtcd etcd(clock);
  Link a_link(etcd), b_link(etcd);
  EtcdElection a(a_link, clock, options_for("pve1"));
  EtcdElection b(b_link, clock, options_for("pve2"));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(a.step().ok());
  ASSERT_TRUE(a.leading());
  a_link.cut = true;
  EXPECT_FALSE(a.step().ok());
  EXPECT_FALSE(a.confirm().ok());
  // 10 s TTL, 2 s margin: a stops at 8 s, etcd expires its lease at 10 s.
  clock.advance(7900ms);
  EXPECT_TRUE(a.leading());
  clock.advance(200ms);
  EXPECT_FALSE(a.leading());
  EXPECT_EQ(etcd.leader("proxlb/lab"), "pve1");
  clock.advance(2s);
  EXPECT_EQ(etcd.leader("proxlb/lab"), "");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(b.step().ok());
  EXPECT_TRUE(b.leading());
  // a comes back: its lease is gone, it becomes a candidate again.
  a_link.cut = false;
  EXPECT_FALSE(confirmed(a));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.step().ok());
  EXPECT_FALSE(a.leading());
  EXPECT_EQ(etcd.leader("proxlb/lab"), "pve2");
}

TEST(EtcdElection, ResignHandsOverAtOnce) {
  core::ManualClock clock;
  FakeEtcd etcd(clock);
  Link a_link(etcd), b_link(etcd);
  EtcdElection a(a_link, clock, options_for("pve1"));
  EtcdElection b(b_link, clock, options_for("pve2"));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(a.step().ok());
  ASSERT_TRUE(a.resign().ok());
  EXPECT_FALSE(a.leading());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(b.step().ok());
  EXPECT_TRUE(b.leading());
}

TEST(EtcdElection, RefusesUnusableOptions) {
  auto o = options_for("pve1");
  o.endpoints = {};
  EXPECT_NE(EtcdElection::validated(o).error().to_string().find("no endpoint"), std::string::npos);
  o = options_for("pve1");
  o.endpoints = {"127.0.0.1:2379"};
  EXPECT_NE(EtcdElection::validated(o).error().to_string().find("must start with http://"), std::string::npos);
  o = options_for("pve1");
  o.lease_ttl = 1s;
  EXPECT_NE(EtcdElection::validated(o).error().to_string().find("too short"), std::string::npos);
  EXPECT_TRUE(EtcdElection::validated(options_for("pve1")).ok());
}

// Safety over thousands of random schedules of steps, partitions, confirms
// and clock jumps: whenever a daemon believes it leads, etcd agrees, so at
// most one ever acts; and once the network heals, someone leads again.
TEST(EtcdElection, AtMostOneLeaderOverRandomSchedules) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    core::ManualClock clock;
    FakeEtcd etcd(clock);
    std::vector<std::unique_ptr<Link>> links;
    std::vector<std::unique_ptr<EtcdElection>> daemons;
    for (int i = 0; i < 3; ++i) {
      links.push_back(std::make_unique<Link>(etcd));
      daemons.push_back(std::make_unique<EtcdElection>(*links.back(), clock, options_for("pve" + std::to_string(i))));
    }
    for (int event = 0; event < 60; ++event) {
      size_t who = rng() % 3;
      switch (rng() % 5) {
        case 0: clock.advance(std::chrono::milliseconds(rng() % 4000)); break;
        case 1: links[who]->cut = !links[who]->cut; break;
        case 2: (void)daemons[who]->confirm(); break;
        default: (void)daemons[who]->step(); break;
      }
      std::string leader = etcd.leader("proxlb/lab");
      for (size_t i = 0; i < 3; ++i) {
        if (daemons[i]->leading()) {
          ASSERT_EQ(leader, "pve" + std::to_string(i)) << "seed " << seed << " event " << event;
        }
      }
    }
    for (auto& link : links) link->cut = false;
    clock.advance(11s);  // every stale lease has run out
    for (int round = 0; round < 3; ++round) {
      for (auto& d : daemons) (void)d->step();
    }
    int leading = 0;
    for (auto& d : daemons) leading += d->leading() ? 1 : 0;
    ASSERT_EQ(leading, 1) << "seed " << seed;
  }
}

}  // namespace
}  // namespace pvekit::daemon
