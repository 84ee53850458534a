#include "oci/signals.h"

#include <gtest/gtest.h>

#include <csignal>

namespace pvekit::oci {
namespace {

TEST(ParseSignal, NamesNumbersAndRealtime) {
  struct Case {
    std::string text;
    int sig;
  };
  const Case cases[] = {{"9", SIGKILL},       {"KILL", SIGKILL},       {"SIGKILL", SIGKILL},
                        {"sigterm", SIGTERM}, {"term", SIGTERM},       {"HUP", SIGHUP},
                        {"SIGUSR1", SIGUSR1}, {"WINCH", SIGWINCH},     {"15", SIGTERM},
                        {"RTMIN", SIGRTMIN},  {"SIGRTMIN+3", SIGRTMIN + 3}, {"RTMAX-1", SIGRTMAX - 1}};
  for (const auto& c : cases) {
    auto r = parse_signal(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().to_string();
    EXPECT_EQ(*r, c.sig) << c.text;
  }
}

TEST(ParseSignal, RejectsUnknown) {
  for (std::string text : {"", "0", "-1", "65", "FOO", "SIG", "SIGKILLX", "RTMIN+100", "1.5"}) {
    auto r = parse_signal(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().category(), core::ErrorCategory::Usage) << text;
  }
}

TEST(SignalName, KnownAndUnknown) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGRTMIN + 1), "SIG" + std::to_string(SIGRTMIN + 1));
}

}  // namespace
}  // namespace pvekit::oci
