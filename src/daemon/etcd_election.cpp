#include "daemon/etcd_election.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/strings.h"

namespace pvekit::daemon {
namespace {

using core::Error;
using core::ErrorCategory;
using namespace std::chrono_literals;

// etcd's gateway writes int64 fields as JSON strings ("ID": "4111...").
std::optional<int64_t> json_int64(const core::Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return core::parse_int(it->get<std::string>());
  return std::nullopt;
}

// The gateway's error document: {"error": "...", "message": "...", "code": N}.
std::string etcd_message(const pve::HttpResponse& response) {
  auto parsed = core::parse_json(response.body, "etcd answer");
  if (parsed && parsed->is_object()) {
    for (const char* field : {"message", "error"}) {
      auto it = parsed->find(field);
      if (it != parsed->end() && it->is_string()) return it->get<std::string>();
    }
  }
  return std::to_string(response.status) + " " + response.reason;
}

}  // namespace

core::Result<EtcdElectionOptions> EtcdElection::validated(EtcdElectionOptions options) {
  if (options.endpoints.empty()) return Error(ErrorCategory::Config, "etcd: no endpoint given");
  for (const auto& e : options.endpoints) {
    if (!core::starts_with(e, "http://") && !core::starts_with(e, "https://")) {
      return Error(ErrorCategory::Config, "etcd endpoint \"" + e + "\" must start with http:// or https://");
    }
  }
  if (options.election.empty()) return Error(ErrorCategory::Config, "etcd: the election name is empty");
  if (options.candidate.empty()) return Error(ErrorCategory::Config, "etcd: the candidate name is empty");
  if (options.lease_ttl < 2s) {
    return Error(ErrorCategory::Config,
                 "etcd lease TTL " + std::to_string(options.lease_ttl.count()) + " s is too short (at least 2 s)");
  }
  return options;
}

EtcdElection::EtcdElection(pve::Transport& transport, core::Clock& clock, EtcdElectionOptions options)
    : transport_(transport), clock_(clock), options_(std::move(options)) {}

core::Result<core::Json> EtcdElection::call(const std::string& path, const core::Json& body,
                                            std::chrono::milliseconds timeout) {
  std::optional<Error> last;
  size_t first;
  {
    std::lock_guard lock(mutex_);
    first = endpoint_;
  }
  for (size_t attempt = 0; attempt < options_.endpoints.size(); ++attempt) {
    size_t index = (first + attempt) % options_.endpoints.size();
    const std::string& endpoint = options_.endpoints[index];
    pve::HttpRequest request{.method = pve::HttpMethod::Post,
                             .url = endpoint + path,
                             .headers = {{"Content-Type", "application/json"}},
                             .body = body.dump(),
                             .timeout = timeout};
    auto response = transport_.send(request);
    if (!response) {
      // A request that timed out was delivered: another member would only
      // see the same long-poll again.
      last = Error(response.error()).wrap("etcd " + endpoint + path);
      if (pve::transport_stage(response.error()) == pve::TransportStage::Io) break;
      continue;
    }
    if (response->status != 200) {
      return Error(ErrorCategory::Api, "etcd " + endpoint + path + ": " + etcd_message(*response))
          .with_http_status(response->status);
    }
    {
      std::lock_guard lock(mutex_);
      endpoint_ = index;
    }
    return core::parse_json(response->body, "etcd " + endpoint + path);
  }
  if (!last) return Error(ErrorCategory::Config, "etcd: no endpoint given");
  return *last;
}

core::Clock::Duration EtcdElection::safety_margin() const {
  return std::max<core::Clock::Duration>(1s, options_.lease_ttl / 5);
}

void EtcdElection::lose(const std::string& why) {
  std::lock_guard lock(mutex_);
  if (state_.leader_key) spdlog::warn("etcd election {}: no longer leader: {}", options_.election, why);
  state_.leader_key.reset();
  state_.valid_until = core::Clock::Duration{0};
}

core::Status EtcdElection::grant() {
  PVEKIT_ASSIGN(auto answer, call("/v3/lease/grant", {{"TTL", options_.lease_ttl.count()}}, options_.request_timeout));
  auto id = json_int64(answer, "ID");
  if (!id || *id == 0) return Error(ErrorCategory::Api, "etcd /v3/lease/grant: the answer has no lease ID");
  std::lock_guard lock(mutex_);
  state_ = State{.lease = *id};
  return core::ok();
}

core::Result<bool> EtcdElection::keep_alive() {
  int64_t lease;
  {
    std::lock_guard lock(mutex_);
    if (!state_.lease) return false;
    lease = *state_.lease;
  }
  auto sent = clock_.monotonic();
  PVEKIT_ASSIGN(auto answer,
                call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, options_.request_timeout));
  auto result = answer.find("result");
  std::optional<int64_t> ttl = result != answer.end() ? json_int64(*result, "TTL") : std::nullopt;
  if (!ttl || *ttl <= 0) {
    lose("lease " + std::to_string(lease) + " expired");
    std::lock_guard lock(mutex_);
    if (state_.lease == lease) state_.lease.reset();
    return false;
  }
  std::lock_guard lock(mutex_);
  if (state_.lease == lease) {
    // etcd expires the lease no earlier than TTL after it received this
    // renewal, which is after `sent`.
    state_.valid_until = sent + std::chrono::seconds(*ttl) - safety_margin();
  }
  return true;
}

core::Status EtcdElection::campaign() {
  int64_t lease;
  {
    std::lock_guard lock(mutex_);
    lease = *state_.lease;
  }
  auto poll = std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 2;
  core::Json body = {{"name", core::base64_encode(options_.election)},
                     {"lease", std::to_string(lease)},
                     {"value", core::base64_encode(options_.candidate)}};
  auto answer = call("/v3/election/campaign", body, poll);
  if (!answer) {
    // Another daemon leads: the long-poll ran out, campaign again.
    if (answer.error().category() == ErrorCategory::Transport &&
        pve::transport_stage(answer.error()) == pve::TransportStage::Io) {
      return core::ok();
    }
    return answer.error();
  }
  auto leader = answer->find("leader");
  if (leader == answer->end() || !leader->is_object() || json_int64(*leader, "lease") != lease) {
    return Error(ErrorCategory::Api, "etcd /v3/election/campaign: the answer names no leader key of lease " +
                                         std::to_string(lease));
  }
  std::lock_guard lock(mutex_);
  if (state_.lease != lease) return core::ok();  // the lease expired meanwhile
  state_.leader_key = *leader;
  spdlog::info("etcd election {}: {} is leader", options_.election, options_.candidate);
  return core::ok();
}

core::Result<core::Clock::Duration> EtcdElection::step() {
  bool has_lease, elected;
  {
    std::lock_guard lock(mutex_);
    has_lease = state_.lease.has_value();
    elected = state_.leader_key.has_value();
  }
  if (!has_lease) {
    PVEKIT_TRY(grant());
    return core::Clock::Duration{0};
  }
  auto renew = keep_alive();
  if (!renew) {
    // Without etcd the leader stops acting by itself when valid_until passes.
    return renew.error();
  }
  if (!*renew) return core::Clock::Duration{0};
  if (elected) return std::chrono::duration_cast<core::Clock::Duration>(options_.lease_ttl) / 3;
  PVEKIT_TRY(campaign());
  std::lock_guard lock(mutex_);
  if (state_.leader_key) return std::chrono::duration_cast<core::Clock::Duration>(options_.lease_ttl) / 3;
  return core::Clock::Duration{0};
}

bool EtcdElection::leading() const {
  std::lock_guard lock(mutex_);
  return state_.leader_key.has_value() && clock_.monotonic() < state_.valid_until;
}

core::Result<bool> EtcdElection::confirm() {
  PVEKIT_ASSIGN(bool alive, keep_alive());
  if (!alive || !leading()) return false;
  auto answer = call("/v3/election/leader", {{"name", core::base64_encode(options_.election)}}, options_.request_timeout);
  if (!answer) {
    // "election: no leader" is an answer, not a failure: it is not us.
    if (answer.error().category() == ErrorCategory::Api) {
      lose(answer.error().to_string());
      return false;
    }
    return answer.error();
  }
  auto kv = answer->find("kv");
  std::string key;
  {
    std::lock_guard lock(mutex_);
    if (!state_.leader_key) return false;
    key = state_.leader_key->value("key", "");
  }
  if (kv == answer->end() || !kv->is_object() || kv->value("key", "") != key) {
    std::string holder = kv != answer->end() && kv->is_object()
                             ? core::base64_decode(kv->value("value", "")).value_or("?")
                             : "nobody";
    lose("etcd names " + holder + " as leader");
    return false;
  }
  return leading();
}

core::Status EtcdElection::resign() {
  State previous;
  {
    std::lock_guard lock(mutex_);
    previous = state_;
    state_ = State{};
  }
  if (previous.leader_key) {
    PVEKIT_TRY(call("/v3/election/resign", {{"leader", *previous.leader_key}}, options_.request_timeout)
                   .wrap("resign from election " + options_.election));
  }
  if (previous.lease) {
    PVEKIT_TRY(call("/v3/lease/revoke", {{"ID", std::to_string(*previous.lease)}}, options_.request_timeout)
                   .wrap("revoke lease"));
  }
  return core::ok();
}

std::string EtcdElection::describe() const {
  std::lock_guard lock(mutex_);
  std::string role = state_.leader_key ? "leader" : state_.lease ? "candidate" : "no lease";
  return role + " in etcd election " + options_.election;
}

ElectionThread::ElectionThread(EtcdElection& election, core::Clock& clock)
    : election_(election), clock_(clock), thread_([this](std::stop_token stop) { run(stop); }) {}

ElectionThread::~ElectionThread() {
  thread_.request_stop();
  thread_.join();
}

void ElectionThread::run(std::stop_token stop) {
  std::string last_error;
  while (!stop.stop_requested()) {
    auto next = election_.step();
    core::Clock::Duration wait = 1s;
    if (next) {
      wait = *next;
      if (!last_error.empty()) spdlog::info("etcd election {}: etcd answers again", election_.options().election);
      last_error.clear();
    } else if (next.error().to_string() != last_error) {
      // Said once per distinct failure, not once a second.
      last_error = next.error().to_string();
      spdlog::warn("etcd election {}: {}", election_.options().election, last_error);
    }
    for (auto slept = core::Clock::Duration{0}; slept < wait && !stop.stop_requested(); slept += 100ms) {
      clock_.sleep_for(std::min<core::Clock::Duration>(100ms, wait - slept));
    }
  }
}

}  // namespace pvekit::daemon
