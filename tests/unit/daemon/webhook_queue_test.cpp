// Webhooks' pure policy: the body, which answers are retried, the backoff
// schedule and the bounded drop-oldest queue, on hand-driven times.
#include "daemon/webhook_queue.h"

#include <gtest/gtest.h>

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;
using Duration = core::Clock::Duration;

Delivery delivery(const std::string& event, Duration due = Duration{0}) {
  return Delivery{.event = event, .body = "{}", .due = due};
}

TEST(WebhookBody, SharedFieldsThenTheEventsOwn) {
  auto body = webhook_body("plan_executed", {{"plan_id", "p1"}, {"event", "forged"}, {"moves", core::Json::array()}},
                           {.time = "2026-12-07T06:48:52.123Z", .cluster = "lab", .daemon = "pve1"});
  EXPECT_EQ(body.dump(), R"({"cluster":"lab","daemon":"pve1","event":"plan_executed","moves":[],"plan_id":"p1",)"
                         R"("time":"2026-12-07T06:48:52.123Z"})");
  EXPECT_EQ(webhook_body("round_failed", nullptr, {.time = "t", .cluster = "c", .daemon = "d"}).size(), 4u);
}

TEST(WebhookRetry, OnlyTimeoutsThrottlingServerErrorsAndNoAnswerAreRetried) {
  for (int status : {200, 201, 202, 204, 299}) EXPECT_EQ(classify_attempt(status), AttemptOutcome::Delivered) << status;
  for (int status : {0, 408, 429, 500, 502, 503, 504, 599})
    EXPECT_EQ(classify_attempt(status), AttemptOutcome::Retry) << status;
  for (int status : {100, 301, 302, 400, 401, 403, 404, 410, 413, 422, 600, -1})
    EXPECT_EQ(classify_attempt(status), AttemptOutcome::Failed) << status;
}

TEST(WebhookRetry, BackoffDoublesUpToTheCapWithJitterInItsUpperHalf) {
  BackoffPolicy policy{.first = 1s, .cap = 30s};
  EXPECT_EQ(backoff(policy, 1, 1.0), Duration(1s));
  EXPECT_EQ(backoff(policy, 2, 1.0), Duration(2s));
  EXPECT_EQ(backoff(policy, 3, 1.0), Duration(4s));
  EXPECT_EQ(backoff(policy, 5, 1.0), Duration(16s));
  EXPECT_EQ(backoff(policy, 6, 1.0), Duration(30s));
  EXPECT_EQ(backoff(policy, 1000, 1.0), Duration(30s));
  EXPECT_EQ(backoff(policy, 3, 0.0), Duration(2s));
  EXPECT_EQ(backoff(policy, 3, 0.5), Duration(3s));
  // Out-of-range inputs stay within the schedule.
  EXPECT_EQ(backoff(policy, -5, 7.0), Duration(1s));
  EXPECT_EQ(backoff(policy, 1000, -1.0), Duration(15s));
}

TEST(WebhookRetry, RetriesUntilTheBudgetIsSpentThenFails) {
  BackoffPolicy policy{.first = 1s, .cap = 30s};
  Delivery d = delivery("plan_executed");
  const Duration now = 100s;
  d.attempts = 1;
  auto first = after_attempt(d, 503, 2, policy, now, 1.0);
  EXPECT_EQ(first.outcome, AttemptOutcome::Retry);
  EXPECT_EQ(first.due, now + Duration(1s));
  d.attempts = 2;
  auto second = after_attempt(d, 0, 2, policy, now, 1.0);
  EXPECT_EQ(second.outcome, AttemptOutcome::Retry);
  EXPECT_EQ(second.due, now + Duration(2s));
  d.attempts = 3;  // the first attempt and both retries
  EXPECT_EQ(after_attempt(d, 503, 2, policy, now, 1.0).outcome, AttemptOutcome::Failed);
  d.attempts = 1;
  EXPECT_EQ(after_attempt(d, 503, 0, policy, now, 1.0).outcome, AttemptOutcome::Failed);
  EXPECT_EQ(after_attempt(d, 404, 5, policy, now, 1.0).outcome, AttemptOutcome::Failed);
  EXPECT_EQ(after_attempt(d, 204, 5, policy, now, 1.0).outcome, AttemptOutcome::Delivered);
}

TEST(WebhookQueue, AFullQueueDropsTheOldest) {
  WebhookQueue q(3);
  for (const char* e : {"a", "b", "c"}) EXPECT_FALSE(q.push(delivery(e)).has_value());
  auto dropped = q.push(delivery("d"));
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(dropped->event, "a");
  EXPECT_EQ(q.size(), 3u);
  for (int i = 0; i < 1000; ++i) (void)q.push(delivery("flood"));
  EXPECT_EQ(q.size(), 3u);
  auto left = q.take_all();
  EXPECT_EQ(left.size(), 3u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(WebhookQueue, TakesTheEarliestQueuedThatIsDue) {
  WebhookQueue q(10);
  (void)q.push(delivery("retry-later", 50s));
  (void)q.push(delivery("now", 10s));
  (void)q.push(delivery("also-now", 0s));
  auto first = q.take_due(10s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->event, "now");
  auto second = q.take_due(10s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->event, "also-now");
  EXPECT_FALSE(q.take_due(49s).has_value());
  auto last = q.take_due(50s);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->event, "retry-later");
}

TEST(WebhookQueue, ShrinkingDropsTheOldestAndAZeroBoundIsOne) {
  WebhookQueue q(5);
  for (const char* e : {"a", "b", "c", "d"}) (void)q.push(delivery(e));
  auto dropped = q.set_capacity(2);
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].event, "a");
  EXPECT_EQ(dropped[1].event, "b");
  WebhookQueue one(0);
  EXPECT_EQ(one.capacity(), 1u);
  (void)one.push(delivery("x"));
  EXPECT_EQ(one.push(delivery("y"))->event, "x");
}

}  // namespace
}  // namespace pvekit::daemon
