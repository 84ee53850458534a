#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/strings.h"
#include "oci/commands.h"
#include "oci/fd.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// Runs ps(1) with `args` and returns its standard output.
core::Result<std::string> run_ps(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::system("pipe", errno);
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> argv_s = {"ps"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Error::system("fork ps", errno);
  if (pid == 0) {
    ::dup2(wr.get(), 1);
    ::execvp("ps", argv.data());
    _exit(127);
  }
  wr.reset();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error(ErrorCategory::Runtime, "ps " + core::join(args, " ") + " failed");
  return out;
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
