#pragma once

// A CommandRunner that records every command line and answers from rules
// matched on the command line's prefix; unmatched commands succeed with no
// output.

#include <functional>
#include <string>
#include <vector>

#include "core/strings.h"
#include "core/process.h"

namespace pvekit::testing {

class FakeRunner final : public core::CommandRunner {
 public:
  using Handler = std::function<core::CommandOutput(const std::vector<std::string>&)>;

  core::Result<core::CommandOutput> run(const std::vector<std::string>& argv) override {
    calls.push_back(core::join(argv, " "));
    for (const auto& [prefix, handler] : rules_)
      if (core::starts_with(calls.back(), prefix)) return handler(argv);
    return core::CommandOutput{};
  }

  // Commands starting with `prefix` get `handler`'s answer (first rule wins).
  void on(const std::string& prefix, Handler handler) { rules_.push_back({prefix, std::move(handler)}); }
  void answer(const std::string& prefix, int status, std::string out, std::string err = "") {
    on(prefix, [=](const std::vector<std::string>&) { return core::CommandOutput{status, out, err}; });
  }

  std::vector<std::string> calls;  // command lines joined by spaces

 private:
  std::vector<std::pair<std::string, Handler>> rules_;
};

}  // namespace pvekit::testing
