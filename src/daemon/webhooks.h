// Webhooks, the I/O part: a JSON POST per event to each webhook of
// service.webhooks that asks for it, through pve's HTTP transport, from a
// bounded queue on a thread of its own, so a slow or dead receiver never
// delays a round. The policy (retries, backoff, the bound) is webhook_queue.h.
#pragma once

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

class WebhookDispatcher final : public EventSink {
 public:
  // Starts the sending thread. `daemon` names this host in the bodies.
  WebhookDispatcher(core::Clock& clock, MetricsRegistry& metrics, std::string daemon, BackoffPolicy policy = {});
  ~WebhookDispatcher() override;  // shutdown(0) when not done yet

  // Replaces the webhook list and the queue's bound (start, SIGHUP). Pending
  // deliveries stay queued for a webhook of the same url that still asks for
  // their event; the others are dropped (counted).
  void configure(std::vector<std::shared_ptr<const WebhookTarget>> targets, size_t queue_capacity);

  void publish(const std::string& event, const std::string& cluster, const core::Json& fields) override;

  // Takes no more events, delivers what is pending for at most `grace`
  // (attempts shortened to fit it), then drops the rest (counted) and joins
  // the thread.
  void shutdown(core::Clock::Duration grace);

  size_t queue_length() const;

 private:
  void run();
  // Sends one delivery (no lock held) and settles it (lock held).
  void attempt(Delivery delivery, const WebhookTarget& target, std::chrono::milliseconds timeout);
  void count(const std::string& event, const char* result, size_t n = 1);
  void drop_locked(const Delivery& delivery);
  void update_length_locked();

  core::Clock& clock_;
  MetricsRegistry& metrics_;
  std::string daemon_;
  BackoffPolicy policy_;
  mutable std::mutex mutex_;
  WebhookQueue queue_{100};
  std::vector<std::shared_ptr<const WebhookTarget>> targets_;
  bool stopping_ = false;
  bool full_warned_ = false;  // the queue is full and that was logged
  core::Clock::Duration deadline_{0};  // while stopping: when pending deliveries are dropped
  std::mt19937 random_{std::random_device{}()};
  std::jthread thread_;
};

}  // namespace pvekit::daemon
