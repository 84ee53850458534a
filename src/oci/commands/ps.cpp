#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/process.h"
#include "core/strings.h"
#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// Runs ps(1) with `args` and returns its standard output.
core::Result<std::string> run_ps(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  core::ProcessRunner runner;
  return core::run_checked(runner, argv);
}

}  // namespace

core::Status cmd_ps(Context& ctx, const PsOptions& o) {
  if (o.format != "table" && o.format != "json")
    return Error(ErrorCategory::Usage, "invalid format option \"" + o.format + "\" (table or json)");
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (c.status == ContainerStatus::Stopped) return Error(ErrorCategory::Conflict, "container not running");
  PVEKIT_ASSIGN(auto pids, c.backend->pids(c.state));
  if (o.format == "json") {
    ctx.out << core::Json(pids).dump() << "\n";
    return core::ok();
  }
  PVEKIT_ASSIGN(auto text, run_ps(o.ps_args.empty() ? std::vector<std::string>{"-ef"} : o.ps_args));
  auto lines = core::split(text, '\n', true);
  if (lines.empty()) return core::ok();
  auto header = core::split(lines[0], ' ', true);
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end()) return Error(ErrorCategory::Runtime, "ps output has no PID column");
  size_t index = static_cast<size_t>(col - header.begin());
  ctx.out << lines[0] << "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = core::split(lines[i], ' ', true);
    if (fields.size() <= index) continue;
    auto pid = core::parse_int(fields[index]);
    if (pid && std::find(pids.begin(), pids.end(), static_cast<pid_t>(*pid)) != pids.end())
      ctx.out << lines[i] << "\n";
  }
  return core::ok();
}

}  // namespace pvekit::oci
