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
                             "retries), dropped (the queue was full, or pending at shutdown or after a reload).",
                             {"event", "result"}));
  return metrics.declare("proxlb_webhook_queue_length", MetricType::Gauge,
                         "Webhook deliveries waiting to be sent or retried.");
}

WebhookDispatcher::WebhookDispatcher(core::Clock& clock, MetricsRegistry& metrics, std::string daemon,
                                     BackoffPolicy policy)
    : clock_(clock), metrics_(metrics), daemon_(std::move(daemon)), policy_(policy) {
  (void)metrics_.set("proxlb_webhook_queue_length", {}, 0);
  thread_ = std::jthread([this] { run(); });
}

WebhookDispatcher::~WebhookDispatcher() { shutdown(core::Clock::Duration{0}); }

void WebhookDispatcher::count(const std::string& event, const char* result, size_t n) {
  (void)metrics_.add("proxlb_webhook_deliveries_total", {event, result}, static_cast<double>(n));
}

void WebhookDispatcher::drop_locked(const Delivery& delivery) { count(delivery.event, "dropped"); }

void WebhookDispatcher::update_length_locked() {
  (void)metrics_.set("proxlb_webhook_queue_length", {}, static_cast<double>(queue_.size()));
}

void WebhookDispatcher::configure(std::vector<std::shared_ptr<const WebhookTarget>> targets, size_t queue_capacity) {
  std::lock_guard lock(mutex_);
  auto pending = queue_.take_all();
  auto old = std::exchange(targets_, std::move(targets));
  (void)queue_.set_capacity(queue_capacity);
  for (const auto& target : targets_) {
    // Every series from the start, so rate() sees the first delivery.
    for (const auto& event : target->config.events) {
      for (const char* result : {"delivered", "failed", "dropped"}) count(event, result, 0);
    }
  }
  for (auto& delivery : pending) {
    const std::string& url = old[delivery.hook]->config.url;
    auto same = std::find_if(targets_.begin(), targets_.end(), [&](const auto& t) {
      return t->config.url == url && asks_for(*t, delivery.event);
    });
    if (same == targets_.end()) {
      drop_locked(delivery);
      continue;
    }
    delivery.hook = static_cast<size_t>(same - targets_.begin());
    if (auto dropped = queue_.push(std::move(delivery))) drop_locked(*dropped);
  }
  update_length_locked();
}

void WebhookDispatcher::publish(const std::string& event, const std::string& cluster, const core::Json& fields) {
  std::lock_guard lock(mutex_);
  if (targets_.empty()) return;
  std::string body;
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (!asks_for(*targets_[i], event)) continue;
    if (stopping_) {
      drop_locked(Delivery{.event = event});
      continue;
    }
    if (body.empty()) {
      body = webhook_body(event, fields, {balance::rfc3339_utc(clock_.now_unix()), cluster, daemon_}).dump();
    }
    Delivery delivery{.hook = i, .event = event, .body = body, .due = clock_.monotonic()};
    if (auto dropped = queue_.push(std::move(delivery))) {
      // Once per spell of a full queue, not per drop: the metric counts them.
      if (!full_warned_) {
        spdlog::warn("webhooks: queue full ({} deliveries), dropping the oldest", queue_.capacity());
        full_warned_ = true;
      }
      drop_locked(*dropped);
    }
  }
  update_length_locked();
}

size_t WebhookDispatcher::queue_length() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WebhookDispatcher::run() {
  for (;;) {
    std::optional<Delivery> next;
    std::shared_ptr<const WebhookTarget> target;
    std::chrono::milliseconds timeout{0};
    {
      std::lock_guard lock(mutex_);
      auto now = clock_.monotonic();
      if (stopping_ && (queue_.size() == 0 || now >= deadline_)) {
        auto left = queue_.take_all();
        if (!left.empty()) {
          spdlog::warn("webhooks: {} deliveries still pending at shutdown dropped", left.size());
        }
        for (const auto& d : left) drop_locked(d);
        update_length_locked();
        return;
      }
      next = queue_.take_due(now);
      if (queue_.size() < queue_.capacity()) full_warned_ = false;
      if (next) {
        // Resolved under the lock that took it: a reload may replace the list.
        target = targets_.at(next->hook);
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

void WebhookDispatcher::attempt(Delivery delivery, const WebhookTarget& target, std::chrono::milliseconds timeout) {
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
    case AttemptOutcome::Retry: {
      spdlog::info("webhook {}: {} attempt {} failed ({}); retrying in {:.1f} s", target.shown, delivery.event,
                   delivery.attempts, answer,
                   std::chrono::duration<double>(verdict.due - clock_.monotonic()).count());
      // A reload meanwhile may have moved or removed the webhook.
      auto same = std::find_if(targets_.begin(), targets_.end(), [&](const auto& t) {
        return t->config.url == target.config.url && asks_for(*t, delivery.event);
      });
      if (same == targets_.end()) {
        drop_locked(delivery);
        break;
      }
      delivery.hook = static_cast<size_t>(same - targets_.begin());
      delivery.due = verdict.due;
      if (auto dropped = queue_.push(std::move(delivery))) drop_locked(*dropped);
      break;
    }
  }
  update_length_locked();
}

void WebhookDispatcher::shutdown(core::Clock::Duration grace) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = clock_.monotonic() + grace;
    }
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace pvekit::daemon
