// Webhooks, the pure part: the JSON body of an event, which HTTP answers are
// retried, the backoff between attempts, and the bounded queue of pending
// deliveries. No I/O and no clock of its own: times are given, so a test
// drives them by hand. The sender (webhooks.h) does the HTTP.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/json.h"

namespace pvekit::daemon {

// What every event's body shares.
struct WebhookSource {
  std::string time;     // RFC 3339 UTC (balance::rfc3339_utc)
  std::string cluster;  // the cluster's name (its entry in clusters:, else PVE's)
  std::string daemon;   // this daemon's host
};

// {"event", "time", "cluster", "daemon"} plus the event's own `fields` (an
// object); a field named like a shared one does not override it.
core::Json webhook_body(const std::string& event, const core::Json& fields, const WebhookSource& source);

// What an attempt's answer means: 2xx delivered; 408, 429 and 5xx (and no
// answer at all: status 0) are worth another attempt; any other status
// (4xx: the receiver refuses this request, 1xx/3xx: not followed) is final.
enum class AttemptOutcome { Delivered, Retry, Failed };
AttemptOutcome classify_attempt(int http_status);

struct BackoffPolicy {
  core::Clock::Duration first = std::chrono::seconds(1);  // before the first retry
  core::Clock::Duration cap = std::chrono::seconds(30);   // no wait is longer
};

// The wait before retry `retry` (1 for the first): first * 2^(retry-1),
// capped, then scaled by a jitter in [0.5, 1] (`jitter01` in [0, 1]) so that
// daemons hit by the same outage do not retry in lockstep.
core::Clock::Duration backoff(const BackoffPolicy& policy, int retry, double jitter01);

struct Delivery {
  std::string event;
  std::string body;
  int attempts = 0;  // made so far
  core::Clock::Duration due{0};  // monotonic time of the next attempt
};

// Deliveries in order of arrival, at most `capacity` of them: a push onto a
// full queue drops the oldest (returned, so the caller counts it).
class WebhookQueue {
 public:
  explicit WebhookQueue(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  std::optional<Delivery> push(Delivery delivery);
  // The earliest-queued delivery due at `now`, removed from the queue.
  std::optional<Delivery> take_due(core::Clock::Duration now);
  // Empties the queue (at shutdown), handing back what was in it.
  std::deque<Delivery> take_all();
  size_t size() const { return items_.size(); }
  size_t capacity() const { return capacity_; }
  // A new bound (SIGHUP); shrinking drops the oldest, handed back.
  std::deque<Delivery> set_capacity(size_t capacity);

 private:
  size_t capacity_;
  std::deque<Delivery> items_;
};

// After an attempt: Delivered or Failed end the delivery; Retry means it
// goes back into the queue, due after backoff(attempts). An answer that is
// worth retrying fails once `retries` retries were made.
struct AttemptVerdict {
  AttemptOutcome outcome;
  core::Clock::Duration due{0};  // Retry: when
};
AttemptVerdict after_attempt(const Delivery& delivery, int http_status, int retries, const BackoffPolicy& policy,
                             core::Clock::Duration now, double jitter01);

}  // namespace pvekit::daemon
