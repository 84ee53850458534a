// service.webhooks: the config with hostile values, header files, and the
// dispatcher on in-memory transports (retries, no retry on 4xx, a receiver
// that hangs blocks neither publishing nor another webhook, and its queue
// stays bounded).
#include "daemon/webhooks.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <thread>

#include "balance/config.h"
#include "support/fake_transport.h"

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;

const char* kApi = "proxmox_api:\n  hosts: [pve1]\n  user: root@pam\n  token_id: t\n  token_secret: s\n";

core::Result<balance::BalanceConfig> load(const std::string& hooks) {
  return balance::load_config(std::string(kApi) + "service:\n  webhooks:\n" + hooks, "proxlb.yaml", {});
}

std::string error_of(const std::string& hooks) {
  auto cfg = load(hooks);
  return cfg.ok() ? "(loaded)" : cfg.error().to_string();
}

TEST(WebhookConfig, AFullEntryLoads) {
  auto cfg = load("    - url: https://hooks.example.com/services/T0/B0/secret\n"
                  "      events: [plan_executed, migration_failed, leader_changed, round_failed]\n"
                  "      timeout: 2\n      retries: 0\n      headers: {X-Team: ops}\n"
                  "      header_files: {Authorization: /etc/proxlb/hook.token}\n"
                  "      ca_file: /etc/proxlb/hook-ca.pem\n"
                  "    - url: http://127.0.0.1:9000/\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  ASSERT_EQ(cfg->service.webhooks.size(), 2u);
  const auto& first = cfg->service.webhooks[0];
  EXPECT_EQ(first.events.size(), 4u);
  EXPECT_EQ(first.timeout, 2);
  EXPECT_EQ(first.retries, 0);
  ASSERT_EQ(first.headers.size(), 1u);
  EXPECT_EQ(first.headers[0].second, "ops");
  ASSERT_EQ(first.header_files.size(), 1u);
  EXPECT_EQ(first.header_files[0].second, "/etc/proxlb/hook.token");
  const auto& second = cfg->service.webhooks[1];
  EXPECT_EQ(second.timeout, 5);
  EXPECT_EQ(second.retries, 3);
  EXPECT_EQ(second.events, (std::vector<std::string>{"plan_executed", "migration_failed", "leader_changed"}));
  EXPECT_EQ(cfg->service.webhook_queue, 100);
  auto from_env = balance::load_config(std::string(kApi), "proxlb.yaml",
                                       {{"PROXLB_SERVICE_WEBHOOKS", "[{url: 'http://h/', retries: 1}]"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error().to_string();
  ASSERT_EQ(from_env->service.webhooks.size(), 1u);
  EXPECT_EQ(from_env->service.webhooks[0].retries, 1);
}

TEST(WebhookConfig, HostileValuesAreRefusedByKeyName) {
  struct Case {
    const char* yaml;
    const char* key;
  };
  const Case cases[] = {
      {"    - url: file:///etc/shadow\n", "service.webhooks[0].url"},
      {"    - url: gopher://h/\n", "service.webhooks[0].url"},
      {"    - url: http://\n", "service.webhooks[0].url"},
      {"    - url: \"http://h/a b\"\n", "service.webhooks[0].url"},
      {"    - url: \"http://h/\\r\\nX: y\"\n", "service.webhooks[0].url"},
      {"    - url: http://h/\n      events: [plan_executed, reboot_cluster]\n", "service.webhooks[0].events"},
      {"    - url: http://h/\n      events: []\n", "service.webhooks[0].events"},
      {"    - url: http://h/\n      timeout: -1\n", "service.webhooks[0].timeout"},
      {"    - url: http://h/\n      timeout: 0\n", "service.webhooks[0].timeout"},
      {"    - url: http://h/\n      timeout: 100000000000\n", "service.webhooks[0].timeout"},
      {"    - url: http://h/\n      timeout: 1.5\n", "service.webhooks[0].timeout"},
      {"    - url: http://h/\n      retries: -3\n", "service.webhooks[0].retries"},
      {"    - url: http://h/\n      retries: 1000\n", "service.webhooks[0].retries"},
      {"    - url: http://h/\n      headers: {\"X-A\\r\\nX-B\": v}\n", "service.webhooks[0].headers"},
      {"    - url: http://h/\n      headers: {\"X-A: b\": v}\n", "service.webhooks[0].headers"},
      {"    - url: http://h/\n      headers: {\"\": v}\n", "service.webhooks[0].headers"},
      {"    - url: http://h/\n      headers: {X-A: \"v\\r\\nX-Injected: 1\"}\n", "service.webhooks[0].headers.X-A"},
      {"    - url: http://h/\n      headers: {X-A: \"v\\nw\"}\n", "service.webhooks[0].headers.X-A"},
      {"    - url: http://h/\n      headers: {Content-Length: \"0\"}\n", "service.webhooks[0].headers.Content-Length"},
      {"    - url: http://h/\n      headers: [X-A]\n", "service.webhooks[0].headers"},
      {"    - url: http://h/\n      header_files: {Authorization: relative/token}\n",
       "service.webhooks[0].header_files.Authorization"},
      {"    - url: http://h/\n      header_files: {Authorization: /etc/../etc/shadow}\n",
       "service.webhooks[0].header_files.Authorization"},
      {"    - url: http://h/\n      headers: {authorization: x}\n      header_files: {Authorization: /t}\n",
       "service.webhooks[0].header_files.Authorization"},
      {"    - url: http://h/\n      ca_file: /etc/ca.pem\n", "service.webhooks[0].ca_file"},
      {"    - url: http://h/\n      secret: x\n", "service.webhooks[0].secret"},
      {"    - http://h/\n", "service.webhooks[0]"},
      {"    - url: http://h/\n    - url: ftp://h/\n", "service.webhooks[1].url"},
  };
  for (const auto& c : cases) {
    std::string error = error_of(c.yaml);
    EXPECT_NE(error.find(std::string("'") + c.key + "'"), std::string::npos) << c.yaml << " -> " << error;
    EXPECT_EQ(error.find('\r'), std::string::npos) << error;
    EXPECT_EQ(error.find("X-Injected: 1"), std::string::npos) << error;
  }
  EXPECT_NE(error_of("  - 1\n").find("'service.webhooks"), std::string::npos);
  auto not_a_list = balance::load_config(std::string(kApi) + "service:\n  webhooks: {url: http://h/}\n", "p", {});
  ASSERT_FALSE(not_a_list.ok());
  EXPECT_NE(not_a_list.error().to_string().find("service.webhooks"), std::string::npos);
}

// Answers from a script; can be made to hang until released.
class ScriptedReceiver final : public pve::Transport {
 public:
  core::Result<pve::HttpResponse> send(const pve::HttpRequest& request) override {
    std::unique_lock lock(mutex_);
    requests_.push_back(request);
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hang_; });
    int status = 200;
    if (!script_.empty()) {
      status = script_.front();
      script_.erase(script_.begin());
    }
    if (status == 0) return pve::transport_error("connection refused", pve::TransportStage::Connect);
    return pve::HttpResponse{.status = status};
  }
  void answer(std::vector<int> statuses) {
    std::lock_guard lock(mutex_);
    script_ = std::move(statuses);
  }
  void hang(bool on) {
    std::lock_guard lock(mutex_);
    hang_ = on;
    changed_.notify_all();
  }
  size_t wait_for_requests(size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 10s, [&] { return requests_.size() >= n; });
    return requests_.size();
  }
  std::vector<pve::HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> script_;
  std::vector<pve::HttpRequest> requests_;
  bool hang_ = false;
};

class Webhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(declare_webhook_metrics(metrics).ok());
    receiver = std::make_shared<ScriptedReceiver>();
  }

  // Each webhook sends to `receiver`, or to its own in `by_url`.
  std::vector<std::shared_ptr<const WebhookTarget>> targets(
      std::vector<balance::WebhookConfig> hooks,
      std::map<std::string, std::shared_ptr<ScriptedReceiver>> by_url = {}) {
    auto made = make_webhook_targets(
        hooks, [](const std::string&) -> core::Result<std::string> { return std::string("Bearer s3cret\n"); },
        [this, by_url](const balance::WebhookConfig& hook) -> core::Result<std::shared_ptr<pve::Transport>> {
          auto own = by_url.find(hook.url);
          return std::shared_ptr<pve::Transport>(own != by_url.end() ? own->second : receiver);
        });
    EXPECT_TRUE(made.ok()) << made.error().to_string();
    return made.ok() ? *made : std::vector<std::shared_ptr<const WebhookTarget>>{};
  }

  double counted(const std::string& event, const std::string& result) {
    std::string line = "proxlb_webhook_deliveries_total{event=\"" + event + "\",result=\"" + result + "\"} ";
    std::string text = metrics.render();
    size_t at = text.find(line);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + line.size()));
  }

  // Polls (real time, bounded) until the counter reaches `value`.
  bool reaches(const std::string& event, const std::string& result, double value) {
    for (int i = 0; i < 500 && counted(event, result) < value; ++i) std::this_thread::sleep_for(10ms);
    return counted(event, result) >= value;
  }

  core::SystemClock clock;
  MetricsRegistry metrics;
  std::shared_ptr<ScriptedReceiver> receiver;
  BackoffPolicy fast{.first = 1ms, .cap = 5ms};
};

TEST_F(Webhooks, HeaderFilesAreReadAndRefusedWithoutTheirContent) {
  balance::WebhookConfig hook{.url = "https://h.example/path/secret"};
  hook.header_files = {{"Authorization", "/etc/proxlb/token"}};
  auto good = targets({hook});
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0]->shown, "https://h.example");
  auto header = std::find_if(good[0]->headers.begin(), good[0]->headers.end(),
                             [](const auto& h) { return h.first == "Authorization"; });
  ASSERT_NE(header, good[0]->headers.end());
  EXPECT_EQ(header->second, "Bearer s3cret");
  for (const char* hostile : {"Bearer a\r\nX-Injected: 1", "", "a\nb"}) {
    auto bad = make_webhook_targets(
        {hook}, [&](const std::string&) -> core::Result<std::string> { return std::string(hostile); },
        [this](const balance::WebhookConfig&) -> core::Result<std::shared_ptr<pve::Transport>> {
          return std::shared_ptr<pve::Transport>(receiver);
        });
    ASSERT_FALSE(bad.ok()) << hostile;
    std::string error = bad.error().to_string();
    EXPECT_NE(error.find("service.webhooks[0].header_files.Authorization"), std::string::npos) << error;
    EXPECT_NE(error.find("/etc/proxlb/token"), std::string::npos) << error;
    EXPECT_EQ(error.find("Injected"), std::string::npos) << error;
  }
  balance::WebhookConfig shown{.url = "http://user:pw@h.example:8080?token=x"};
  EXPECT_EQ(targets({shown})[0]->shown, "http://h.example:8080");
}

TEST_F(Webhooks, RetriesServerErrorsAndDeliversAJsonPostWithTheHeaders) {
  balance::WebhookConfig hook{.url = "http://h.example/hook", .retries = 3};
  hook.headers = {{"X-Team", "ops"}};
  hook.header_files = {{"Authorization", "/t"}};
  receiver->answer({503, 0, 200});
  WebhookDispatcher dispatcher(clock, metrics, "pve1", fast);
  dispatcher.configure(targets({hook}), 10);
  dispatcher.publish("plan_executed", "lab", {{"plan_id", "p1"}});
  ASSERT_TRUE(reaches("plan_executed", "delivered", 1)) << metrics.render();
  auto sent = receiver->requests();
  ASSERT_EQ(sent.size(), 3u);
  const auto& r = sent.back();
  EXPECT_EQ(r.method, pve::HttpMethod::Post);
  EXPECT_EQ(r.url, "http://h.example/hook");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(testing::header_value(r, "Content-Type"), "application/json");
  EXPECT_EQ(testing::header_value(r, "X-Team"), "ops");
  EXPECT_EQ(testing::header_value(r, "Authorization"), "Bearer s3cret");
  auto body = core::Json::parse(r.body);
  EXPECT_EQ(body["event"], "plan_executed");
  EXPECT_EQ(body["cluster"], "lab");
  EXPECT_EQ(body["daemon"], "pve1");
  EXPECT_EQ(body["plan_id"], "p1");
  EXPECT_EQ(counted("plan_executed", "failed"), 0);
}

TEST_F(Webhooks, ClientErrorsAreNotRetriedAndRetriesRunOut) {
  balance::WebhookConfig refused{.url = "http://h.example/a", .events = {"migration_failed"}, .retries = 5};
  WebhookDispatcher dispatcher(clock, metrics, "pve1", fast);
  dispatcher.configure(targets({refused}), 10);
  receiver->answer({404});
  dispatcher.publish("migration_failed", "lab", {{"vmid", 101}});
  ASSERT_TRUE(reaches("migration_failed", "failed", 1));
  EXPECT_EQ(receiver->requests().size(), 1u);
  receiver->answer({429, 500, 500, 500, 500, 500, 500});
  dispatcher.publish("migration_failed", "lab", {{"vmid", 102}});
  ASSERT_TRUE(reaches("migration_failed", "failed", 2));
  EXPECT_EQ(receiver->requests().size(), 1u + 6u);  // the first attempt and 5 retries
  dispatcher.publish("leader_changed", "lab", {{"leader", true}});  // not asked for
  dispatcher.shutdown(0s);
  EXPECT_EQ(receiver->requests().size(), 7u);
  EXPECT_EQ(counted("leader_changed", "dropped"), -1);
}

TEST_F(Webhooks, AHangingReceiverNeitherBlocksPublishingNorGrowsTheQueue) {
  balance::WebhookConfig hook{.url = "http://h.example/slow", .events = {"plan_executed"}};
  WebhookDispatcher dispatcher(clock, metrics, "pve1", fast);
  dispatcher.configure(targets({hook}), 3);
  receiver->hang(true);
  dispatcher.publish("plan_executed", "lab", {{"n", 0}});
  ASSERT_EQ(receiver->wait_for_requests(1), 1u);  // the sender is stuck in it
  auto started = std::chrono::steady_clock::now();
  for (int i = 1; i <= 50; ++i) dispatcher.publish("plan_executed", "lab", {{"n", i}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(dispatcher.queue_length(), 3u);
  EXPECT_EQ(counted("plan_executed", "dropped"), 47);
  EXPECT_NE(metrics.render().find("proxlb_webhook_queue_length 3\n"), std::string::npos) << metrics.render();
  receiver->hang(false);
  ASSERT_TRUE(reaches("plan_executed", "delivered", 4));
  auto last = core::Json::parse(receiver->requests().back().body);
  EXPECT_EQ(last["n"], 50) << "the newest were kept";
}

TEST_F(Webhooks, ShutdownDropsWhatTheGracePeriodCannotDeliver) {
  balance::WebhookConfig hook{.url = "http://h.example/down", .events = {"round_failed"}, .retries = 10};
  WebhookDispatcher dispatcher(clock, metrics, "pve1", BackoffPolicy{.first = 10s, .cap = 10s});
  dispatcher.configure(targets({hook}), 10);
  receiver->answer({500, 500, 500});
  dispatcher.publish("round_failed", "lab", {{"error", "x"}});
  dispatcher.publish("round_failed", "lab", {{"error", "y"}});
  ASSERT_EQ(receiver->wait_for_requests(2), 2u);  // both wait 5-10 s for a retry now
  auto started = std::chrono::steady_clock::now();
  dispatcher.shutdown(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(counted("round_failed", "dropped"), 2);
  dispatcher.publish("round_failed", "lab", {{"error", "after"}});
  EXPECT_EQ(counted("round_failed", "dropped"), 3);
}

TEST_F(Webhooks, AReloadKeepsPendingDeliveriesOfWebhooksThatStay) {
  balance::WebhookConfig stays{.url = "http://h.example/stays", .events = {"round_failed"}};
  balance::WebhookConfig goes{.url = "http://h.example/goes", .events = {"round_failed"}};
  auto slow = std::make_shared<ScriptedReceiver>();
  WebhookDispatcher dispatcher(clock, metrics, "pve1", fast);
  dispatcher.configure(targets({goes, stays}, {{stays.url, slow}}), 10);
  slow->hang(true);
  dispatcher.publish("round_failed", "lab", {{"error", "x"}});  // stays: in flight
  dispatcher.publish("round_failed", "lab", {{"error", "y"}});  // stays: queued
  ASSERT_EQ(slow->wait_for_requests(1), 1u);
  ASSERT_TRUE(reaches("round_failed", "delivered", 2));  // goes: both, meanwhile
  EXPECT_EQ(dispatcher.queue_length(), 1u);
  stays.timeout = 7;
  dispatcher.configure(targets({stays}, {{stays.url, slow}}), 10);
  EXPECT_EQ(dispatcher.queue_length(), 1u);
  slow->hang(false);
  ASSERT_TRUE(reaches("round_failed", "delivered", 4));
  auto sent = slow->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(core::Json::parse(sent.back().body)["error"], "y");
  EXPECT_EQ(sent.back().timeout, std::chrono::milliseconds(7000)) << "the reloaded config sends it";
  EXPECT_EQ(receiver->requests().size(), 2u);
}

TEST_F(Webhooks, AHangingReceiverDoesNotDelayAnotherWebhook) {
  balance::WebhookConfig hanging{.url = "http://h.example/hangs", .events = {"plan_executed"}, .timeout = 60};
  balance::WebhookConfig quick{.url = "http://other.example/hook", .events = {"plan_executed"}};
  auto stuck = std::make_shared<ScriptedReceiver>();
  WebhookDispatcher dispatcher(clock, metrics, "pve1", fast);
  dispatcher.configure(targets({hanging, quick}, {{hanging.url, stuck}}), 10);
  stuck->hang(true);
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) dispatcher.publish("plan_executed", "lab", {{"n", i}});
  ASSERT_EQ(stuck->wait_for_requests(1), 1u);  // its sender is stuck in the first
  ASSERT_TRUE(reaches("plan_executed", "delivered", 5)) << metrics.render();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(receiver->requests().size(), 5u);
  EXPECT_EQ(stuck->requests().size(), 1u);
  EXPECT_EQ(dispatcher.queue_length(), 4u);  // the hanging webhook's, waiting
  stuck->hang(false);
  ASSERT_TRUE(reaches("plan_executed", "delivered", 10));
}

}  // namespace
}  // namespace pvekit::daemon
