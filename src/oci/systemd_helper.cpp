#include "oci/systemd_helper.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/process.h"
#include "core/strings.h"
#include "oci/helper.h"
#include "oci/linux/selfexec.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

constexpr const char* kWhat = "systemd cgroup driver";

class HelperBus final : public linux::SystemdBus {
 public:
  explicit HelperBus(std::string path) : path_(std::move(path)) {}

  core::Status start_transient_unit(const std::string& unit,
                                    const std::vector<linux::UnitProperty>& properties) override {
    return call("start-transient-unit", unit, properties);
  }
  core::Status set_unit_properties(const std::string& unit,
                                   const std::vector<linux::UnitProperty>& properties) override {
    return call("set-unit-properties", unit, properties);
  }
  core::Status stop_unit(const std::string& unit) override { return call("stop-unit", unit, std::nullopt); }

 private:
  // Calls that take properties always send a JSON list, "[]" included (an
  // update that changes only files systemd does not manage, such as io.max).
  core::Status call(const std::string& method, const std::string& unit,
                    const std::optional<std::vector<linux::UnitProperty>>& properties) {
    core::ProcessRunner runner(properties ? linux::unit_properties_to_json(*properties) : std::string());
    auto out = runner.run({path_, method, unit});
    if (!out.ok()) return helper_error(path_, kWhat, out.error().to_string());
    if (out->exit_status == 0) return core::ok();
    std::string why(core::trim(out->err));
    if (why.empty()) why = "exit status " + std::to_string(out->exit_status);
    return Error(ErrorCategory::Runtime, why);
  }

  std::string path_;
};

}  // namespace

core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd_helper(const std::string& path) {
  if (::access(path.c_str(), X_OK) != 0) return helper_error(path, kWhat, std::strerror(errno));
  return std::unique_ptr<linux::SystemdBus>(std::make_unique<HelperBus>(path));
}

core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd() {
  PVEKIT_ASSIGN(auto executable, linux::original_executable());
  return connect_systemd_helper(helper_path(executable, "lxcri-systemd"));
}

int serve_systemd_call(const std::vector<std::string>& args, const std::string& input,
                       const linux::SystemdConnector& connect, std::ostream& err) {
  auto fail = [&](const core::Error& e) {
    err << e.to_string() << "\n";
    return 1;
  };
  const bool with_properties = args.size() == 2 && (args[0] == "start-transient-unit" || args[0] == "set-unit-properties");
  if (!with_properties && !(args.size() == 2 && args[0] == "stop-unit"))
    return fail(Error(ErrorCategory::Usage,
                      "usage: lxcri-systemd start-transient-unit|set-unit-properties|stop-unit UNIT "
                      "(properties as JSON on stdin); it is run by lxcri"));
  std::vector<linux::UnitProperty> properties;
  if (with_properties) {
    auto parsed = linux::unit_properties_from_json(input);
    if (!parsed.ok()) return fail(parsed.error());
    properties = std::move(*parsed);
  }
  auto bus = connect();
  if (!bus.ok()) return fail(bus.error());
  core::Status done = args[0] == "start-transient-unit" ? (*bus)->start_transient_unit(args[1], properties)
                      : args[0] == "set-unit-properties" ? (*bus)->set_unit_properties(args[1], properties)
                                                          : (*bus)->stop_unit(args[1]);
  return done.ok() ? 0 : fail(done.error());
}

}  // namespace pvekit::oci
