// Webhooks, the I/O part: a JSON POST per event to each webhook of
// service.webhooks that asks for it, through pve's HTTP transport, from a
// bounded queue per webhook on a thread of its own, so a slow or dead
// receiver never delays a round, nor another webhook's deliveries. The policy (retries, backoff, the bound) is webhook_queue.h.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "balance/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "daemon/metrics.h"
#include "daemon/webhook_queue.h"
#include "pve/transport.h"

namespace pvekit::daemon {

// Where the daemon tells what it did.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // `event` is one of balance::kWebhookEvents; `fields` its own body fields.
  // Must not block.
  virtual void publish(const std::string& event, const std::string& cluster, const core::Json& fields) = 0;
};

// A webhook ready to send to: its config, its headers with the header_files
// read, and its transport (its own: ca_file differs per webhook).
struct WebhookTarget {
  balance::WebhookConfig config;
  pve::HttpHeaders headers;  // may hold secrets: never logged
  std::string shown;         // scheme://host of the url, for logs (the path may be a secret)
  std::shared_ptr<pve::Transport> transport;
};

// Makes the targets of a webhook list. Reads header files with `read_file`;
// errors name the key and the file, never a header's value.
using TransportFactory = std::function<core::Result<std::shared_ptr<pve::Transport>>(const balance::WebhookConfig&)>;
core::Result<std::vector<std::shared_ptr<const WebhookTarget>>> make_webhook_targets(
    const std::vector<balance::WebhookConfig>& hooks,
    const std::function<core::Result<std::string>(const std::string&)>& read_file, const TransportFactory& transport);
// The default factory: a CurlTransport trusting ca_file when set.
core::Result<std::shared_ptr<pve::Transport>> curl_webhook_transport(const balance::WebhookConfig& hook);

// Declares proxlb_webhook_deliveries_total{event,result} and
// proxlb_webhook_queue_length.
core::Status declare_webhook_metrics(MetricsRegistry& metrics);

// The queue length gauge: the sum of every webhook's queue.
class QueueLengthGauge {
 public:
  explicit QueueLengthGauge(MetricsRegistry& metrics);
  void add(int64_t delta);
  size_t total() const;

 private:
  MetricsRegistry& metrics_;
  mutable std::mutex mutex_;
  int64_t total_ = 0;
};

// One webhook's deliveries: its own bounded queue and its own thread, so a
// receiver that hangs delays only its own deliveries, never another
// webhook's (each attempt may take the webhook's whole timeout).
class WebhookSender {
 public:
  WebhookSender(core::Clock& clock, MetricsRegistry& metrics, QueueLengthGauge& gauge, BackoffPolicy policy,
                std::shared_ptr<const WebhookTarget> target, size_t capacity);
  ~WebhookSender();  // stop(now) and join
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  const std::string& url() const { return url_; }
  bool asks_for(const std::string& event) const;
  // A reload with the same url: the new config (headers, timeout, retries,
  // events) and bound; pending deliveries of events no longer asked for are
  // dropped (counted), the others stay.
  void retarget(std::shared_ptr<const WebhookTarget> target, size_t capacity);
  // Queues a delivery; a full queue drops its oldest (counted). Never blocks
  // on the receiver.
  void push(const std::string& event, const std::string& body);
  // Takes no more deliveries; what is pending is sent until `deadline`
  // (attempts shortened to fit it), then dropped (counted).
  void stop(core::Clock::Duration deadline);
  void join();
  bool finished() const { return finished_; }  // its thread has returned (stopped, nothing pending)
  size_t length() const;

 private:
  void run();
  // Sends one delivery (no lock held) and settles it (lock held).
  void attempt(Delivery delivery, const WebhookTarget& target, std::chrono::milliseconds timeout);
  void count(const std::string& event, const char* result, size_t n = 1);
  void update_length_locked();

  core::Clock& clock_;
  MetricsRegistry& metrics_;
  QueueLengthGauge& gauge_;
  BackoffPolicy policy_;
  const std::string url_;
  mutable std::mutex mutex_;
  std::shared_ptr<const WebhookTarget> target_;
  WebhookQueue queue_;
  size_t reported_ = 0;  // the queue length last added to the gauge
  bool stopping_ = false;
  bool full_warned_ = false;  // the queue is full and that was logged
  core::Clock::Duration deadline_{0};  // while stopping: when pending deliveries are dropped
  std::mt19937 random_{std::random_device{}()};
  std::atomic<bool> finished_{false};
  std::jthread thread_;
};

class WebhookDispatcher final : public EventSink {
 public:
  // `daemon` names this host in the bodies.
  WebhookDispatcher(core::Clock& clock, MetricsRegistry& metrics, std::string daemon, BackoffPolicy policy = {});
  ~WebhookDispatcher() override;  // shutdown(0) when not done yet

  // Replaces the webhook list and the bound of each one's queue (start,
  // SIGHUP). A webhook whose url stays keeps its sender and the pending
  // deliveries of events it still asks for; the others are dropped
  // (counted) with the senders of webhooks that left.
  void configure(std::vector<std::shared_ptr<const WebhookTarget>> targets, size_t queue_capacity);

  void publish(const std::string& event, const std::string& cluster, const core::Json& fields) override;

  // Takes no more events, delivers what is pending for at most `grace`
  // (attempts shortened to fit it), then drops the rest (counted) and joins
  // the senders.
  void shutdown(core::Clock::Duration grace);

  // Deliveries waiting in all queues.
  size_t queue_length() const;

 private:
  void count_dropped(const std::string& event);

  core::Clock& clock_;
  MetricsRegistry& metrics_;
  std::string daemon_;
  BackoffPolicy policy_;
  QueueLengthGauge gauge_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<WebhookSender>> senders_;  // in the order of service.webhooks
  std::vector<std::unique_ptr<WebhookSender>> retired_;  // of webhooks that left: finishing an attempt
  bool stopping_ = false;
};

}  // namespace pvekit::daemon
