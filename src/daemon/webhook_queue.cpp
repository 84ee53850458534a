#include "daemon/webhook_queue.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace pvekit::daemon {

core::Json webhook_body(const std::string& event, const core::Json& fields, const WebhookSource& source) {
  core::Json body = {{"event", event}, {"time", source.time}, {"cluster", source.cluster}, {"daemon", source.daemon}};
  if (!fields.is_object()) return body;
  for (const auto& [name, value] : fields.items()) {
    if (!body.contains(name)) body[name] = value;
  }
  return body;
}

AttemptOutcome classify_attempt(int http_status) {
  if (http_status >= 200 && http_status < 300) return AttemptOutcome::Delivered;
  if (http_status == 0 || http_status == 408 || http_status == 429 || (http_status >= 500 && http_status < 600))
    return AttemptOutcome::Retry;
  return AttemptOutcome::Failed;
}

core::Clock::Duration backoff(const BackoffPolicy& policy, int retry, double jitter01) {
  double wait = std::chrono::duration<double>(policy.first).count() * std::ldexp(1.0, std::clamp(retry, 1, 62) - 1);
  wait = std::min(wait, std::chrono::duration<double>(policy.cap).count());
  wait *= 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::duration_cast<core::Clock::Duration>(std::chrono::duration<double>(wait));
}

std::optional<Delivery> WebhookQueue::push(Delivery delivery) {
  std::optional<Delivery> dropped;
  if (items_.size() >= capacity_) {
    dropped = std::move(items_.front());
    items_.pop_front();
  }
  items_.push_back(std::move(delivery));
  return dropped;
}

std::optional<Delivery> WebhookQueue::take_due(core::Clock::Duration now) {
  auto it = std::find_if(items_.begin(), items_.end(), [now](const Delivery& d) { return d.due <= now; });
  if (it == items_.end()) return std::nullopt;
  Delivery d = std::move(*it);
  items_.erase(it);
  return d;
}

std::deque<Delivery> WebhookQueue::take_all() { return std::exchange(items_, {}); }

std::deque<Delivery> WebhookQueue::set_capacity(size_t capacity) {
  capacity_ = capacity < 1 ? 1 : capacity;
  std::deque<Delivery> dropped;
  while (items_.size() > capacity_) {
    dropped.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return dropped;
}

AttemptVerdict after_attempt(const Delivery& delivery, int http_status, int retries, const BackoffPolicy& policy,
                             core::Clock::Duration now, double jitter01) {
  AttemptOutcome outcome = classify_attempt(http_status);
  if (outcome != AttemptOutcome::Retry) return {outcome};
  if (delivery.attempts > retries) return {AttemptOutcome::Failed};
  return {AttemptOutcome::Retry, now + backoff(policy, delivery.attempts, jitter01)};
}

}  // namespace pvekit::daemon
