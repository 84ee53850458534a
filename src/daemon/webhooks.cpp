#include "daemon/webhooks.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "balance/audit.h"
#include "core/config.h"
#include "core/strings.h"
#include "pve/curl_transport.h"

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;

// scheme://host[:port] of a URL: its user info, path and query may be
// secrets (Slack and Teams put the token in the path).
std::string shown_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "(webhook)";
  size_t start = scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, start) + authority;
}

bool asks_for(const WebhookTarget& target, const std::string& event) {
  const auto& events = target.config.events;
  return std::find(events.begin(), events.end(), event) != events.end();
}

}  // namespace

core::Result<std::shared_ptr<pve::Transport>> curl_webhook_transport(const balance::WebhookConfig& hook) {
  pve::CurlTransportOptions options;
  if (!hook.ca_file.empty()) {
    options.tls.verify = pve::TlsVerify::CaFile;
    options.tls.ca_file = hook.ca_file;
  }
  options.connect_timeout = std::min<std::chrono::milliseconds>(options.connect_timeout, std::chrono::seconds(hook.timeout));
  options.max_idle_handles = 2;
  PVEKIT_ASSIGN(auto transport, pve::CurlTransport::create(std::move(options)));
  return std::shared_ptr<pve::Transport>(std::move(transport));
}

core::Result<std::vector<std::shared_ptr<const WebhookTarget>>> make_webhook_targets(
    const std::vector<balance::WebhookConfig>& hooks,
    const std::function<core::Result<std::string>(const std::string&)>& read_file, const TransportFactory& transport) {
  std::vector<std::shared_ptr<const WebhookTarget>> targets;
  for (size_t i = 0; i < hooks.size(); ++i) {
    const std::string key = "service.webhooks[" + std::to_string(i) + "]";
    auto target = std::make_shared<WebhookTarget>();
    target->config = hooks[i];
    target->shown = shown_url(hooks[i].url);
    target->headers = {{"Content-Type", "application/json"}, {"User-Agent", "proxlb"}};
    for (const auto& header : hooks[i].headers) target->headers.push_back(header);
    for (const auto& [name, path] : hooks[i].header_files) {
      const std::string file_key = key + ".header_files." + name;
      PVEKIT_ASSIGN(auto content, read_file(path).wrap(file_key));
      std::string value(core::trim(content));
      if (value.empty()) return core::config_key_error(file_key, "file " + path + " is empty");
      // A CR or LF inside would end the header and start another one.
      if (std::any_of(value.begin(), value.end(),
                      [](unsigned char ch) { return (ch < 0x20 && ch != '\t') || ch == 0x7f; })) {
        return core::config_key_error(file_key, "file " + path + " holds a control character (CR, LF, ...)");
      }
      target->headers.emplace_back(name, std::move(value));
    }
    PVEKIT_ASSIGN(target->transport, transport(hooks[i]).wrap(key));
    targets.push_back(std::move(target));
  }
  return targets;
}

core::Status declare_webhook_metrics(MetricsRegistry& metrics) {
  PVEKIT_TRY(metrics.declare("proxlb_webhook_deliveries_total", MetricType::Counter,
                             "Webhook deliveries by event and result: delivered (2xx), failed (refused or out of "
                             "retries), dropped (the webhook's queue was full, or pending at shutdown or after a "
                             "reload).",
                             {"event", "result"}));
  return metrics.declare("proxlb_webhook_queue_length", MetricType::Gauge,
                         "Webhook deliveries waiting to be sent or retried, all webhooks' queues together.");
}

QueueLengthGauge::QueueLengthGauge(MetricsRegistry& metrics) : metrics_(metrics) {
  (void)metrics_.set("proxlb_webhook_queue_length", {}, 0);
}

void QueueLengthGauge::add(int64_t delta) {
  std::lock_guard lock(mutex_);
  total_ += delta;
  (void)metrics_.set("proxlb_webhook_queue_length", {}, static_cast<double>(total_));
}

size_t QueueLengthGauge::total() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(total_);
}

WebhookSender::WebhookSender(core::Clock& clock, MetricsRegistry& metrics, QueueLengthGauge& gauge,
                             BackoffPolicy policy, std::shared_ptr<const WebhookTarget> target, size_t capacity)
    : clock_(clock),
      metrics_(metrics),
      gauge_(gauge),
      policy_(policy),
      url_(target->config.url),
      target_(std::move(target)),
      queue_(capacity) {
  // Every series from the start, so rate() sees the first delivery.
  for (const auto& event : target_->config.events) {
    for (const char* result : {"delivered", "failed", "dropped"}) count(event, result, 0);
  }
  thread_ = std::jthread([this] { run(); });
}

WebhookSender::~WebhookSender() {
  stop(clock_.monotonic());
  join();
}

void WebhookSender::count(const std::string& event, const char* result, size_t n) {
  (void)metrics_.add("proxlb_webhook_deliveries_total", {event, result}, static_cast<double>(n));
}

void WebhookSender::update_length_locked() {
  gauge_.add(static_cast<int64_t>(queue_.size()) - static_cast<int64_t>(reported_));
  reported_ = queue_.size();
}

bool WebhookSender::asks_for(const std::string& event) const {
  std::lock_guard lock(mutex_);
  return daemon::asks_for(*target_, event);
}

size_t WebhookSender::length() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WebhookSender::retarget(std::shared_ptr<const WebhookTarget> target, size_t capacity) {
  std::lock_guard lock(mutex_);
  for (const auto& event : target->config.events) {
    for (const char* result : {"delivered", "failed", "dropped"}) count(event, result, 0);
  }
  target_ = std::move(target);
  for (const auto& dropped : queue_.set_capacity(capacity)) count(dropped.event, "dropped");
  for (auto& delivery : queue_.take_all()) {
    if (!daemon::asks_for(*target_, delivery.event)) {
      count(delivery.event, "dropped");
      continue;
    }
    (void)queue_.push(std::move(delivery));  // fewer than before: nothing is dropped
  }
  update_length_locked();
}

void WebhookSender::push(const std::string& event, const std::string& body) {
  std::lock_guard lock(mutex_);
  if (stopping_) {
    count(event, "dropped");
    return;
  }
  if (auto dropped = queue_.push(Delivery{.event = event, .body = body, .due = clock_.monotonic()})) {
    // Once per spell of a full queue, not per drop: the metric counts them.
    if (!full_warned_) {
      spdlog::warn("webhook {}: queue full ({} deliveries), dropping the oldest", target_->shown, queue_.capacity());
      full_warned_ = true;
    }
    count(dropped->event, "dropped");
  }
  update_length_locked();
}

void WebhookSender::stop(core::Clock::Duration deadline) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  stopping_ = true;
  deadline_ = deadline;
}

void WebhookSender::join() {
  if (thread_.joinable()) thread_.join();
}

void WebhookSender::run() {
  for (;;) {
    std::optional<Delivery> next;
    std::shared_ptr<const WebhookTarget> target;
    std::chrono::milliseconds timeout{0};
    {
      std::lock_guard lock(mutex_);
      auto now = clock_.monotonic();
      if (stopping_ && (queue_.size() == 0 || now >= deadline_)) {
        auto left = queue_.take_all();
        if (!left.empty()) spdlog::warn("webhook {}: {} deliveries still pending dropped", target_->shown, left.size());
        for (const auto& d : left) count(d.event, "dropped");
        update_length_locked();
        finished_ = true;
        return;
      }
      next = queue_.take_due(now);
      if (queue_.size() < queue_.capacity()) full_warned_ = false;
      if (next) {
        // Taken under the lock: a reload may replace the config.
        target = target_;
        timeout = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds(target->config.timeout));
        if (stopping_) {
          // Attempts at shutdown end with the grace period.
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
          timeout = std::clamp(left, std::chrono::milliseconds(100), timeout);
        }
      }
      update_length_locked();
    }
    if (next) attempt(std::move(*next), *target, timeout);
    else clock_.sleep_for(50ms);
  }
}

void WebhookSender::attempt(Delivery delivery, const WebhookTarget& target, std::chrono::milliseconds timeout) {
  pve::HttpRequest request{.method = pve::HttpMethod::Post,
                           .url = target.config.url,
                           .headers = target.headers,
                           .body = delivery.body,
                           .timeout = timeout};
  auto response = target.transport->send(request);
  ++delivery.attempts;
  int status = response ? response->status : 0;
  std::string answer = response ? "HTTP " + std::to_string(status) : response.error().to_string();

  std::lock_guard lock(mutex_);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  auto verdict = after_attempt(delivery, status, target.config.retries, policy_, clock_.monotonic(), jitter(random_));
  switch (verdict.outcome) {
    case AttemptOutcome::Delivered:
      spdlog::debug("webhook {}: {} delivered ({})", target.shown, delivery.event, answer);
      count(delivery.event, "delivered");
      break;
    case AttemptOutcome::Failed:
      spdlog::warn("webhook {}: {} not delivered after {} attempt(s): {}", target.shown, delivery.event,
                   delivery.attempts, answer);
      count(delivery.event, "failed");
      break;
    case AttemptOutcome::Retry:
      spdlog::info("webhook {}: {} attempt {} failed ({}); retrying in {:.1f} s", target.shown, delivery.event,
                   delivery.attempts, answer,
                   std::chrono::duration<double>(verdict.due - clock_.monotonic()).count());
      // A reload meanwhile may have dropped the event from the webhook's list.
      if (!daemon::asks_for(*target_, delivery.event)) {
        count(delivery.event, "dropped");
        break;
      }
      delivery.due = verdict.due;
      if (auto dropped = queue_.push(std::move(delivery))) count(dropped->event, "dropped");
      break;
  }
  update_length_locked();
}

WebhookDispatcher::WebhookDispatcher(core::Clock& clock, MetricsRegistry& metrics, std::string daemon,
                                     BackoffPolicy policy)
    : clock_(clock), metrics_(metrics), daemon_(std::move(daemon)), policy_(policy), gauge_(metrics) {}

WebhookDispatcher::~WebhookDispatcher() { shutdown(core::Clock::Duration{0}); }

void WebhookDispatcher::count_dropped(const std::string& event) {
  (void)metrics_.add("proxlb_webhook_deliveries_total", {event, "dropped"}, 1);
}

void WebhookDispatcher::configure(std::vector<std::shared_ptr<const WebhookTarget>> targets, size_t queue_capacity) {
  std::lock_guard lock(mutex_);
  std::vector<std::unique_ptr<WebhookSender>> senders;
  for (auto& target : targets) {
    auto same = std::find_if(senders_.begin(), senders_.end(),
                             [&](const auto& s) { return s && s->url() == target->config.url; });
    if (same != senders_.end()) {
      (*same)->retarget(std::move(target), queue_capacity);
      senders.push_back(std::move(*same));
    } else {
      senders.push_back(
          std::make_unique<WebhookSender>(clock_, metrics_, gauge_, policy_, std::move(target), queue_capacity));
    }
  }
  // Senders of webhooks that left drop what is pending and end after the
  // attempt they may be in (joined at shutdown, not here: it may hang).
  std::erase_if(retired_, [](const auto& s) { return s->finished(); });
  for (auto& sender : senders_) {
    if (!sender) continue;
    sender->stop(clock_.monotonic());
    retired_.push_back(std::move(sender));
  }
  senders_ = std::move(senders);
}

void WebhookDispatcher::publish(const std::string& event, const std::string& cluster, const core::Json& fields) {
  std::lock_guard lock(mutex_);
  std::string body;
  for (const auto& sender : senders_) {
    if (!sender->asks_for(event)) continue;
    if (stopping_) {
      count_dropped(event);
      continue;
    }
    if (body.empty()) {
      body = webhook_body(event, fields, {balance::rfc3339_utc(clock_.now_unix()), cluster, daemon_}).dump();
    }
    sender->push(event, body);
  }
}

size_t WebhookDispatcher::queue_length() const { return gauge_.total(); }

void WebhookDispatcher::shutdown(core::Clock::Duration grace) {
  std::vector<WebhookSender*> all;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      for (const auto& sender : senders_) sender->stop(clock_.monotonic() + grace);
    }
    for (const auto& sender : senders_) all.push_back(sender.get());
    for (const auto& sender : retired_) all.push_back(sender.get());
  }
  // The senders wind down at once, each within the grace period.
  for (auto* sender : all) sender->join();
}

}  // namespace pvekit::daemon
