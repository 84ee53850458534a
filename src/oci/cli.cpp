#include "oci/cli.h"

#include <seccomp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <set>
#include <ostream>

#include "core/log.h"
#include "oci/commands.h"
#include "pvekit/version.h"

namespace pvekit::oci {

namespace {

using Action = std::function<core::Result<int>(Context&)>;

core::Result<int> status_code(core::Status s) {
  if (!s.ok()) return std::move(s).error();
  return 0;
}

void add_create_flags(CLI::App* cmd, CreateOptions& o) {
  cmd->add_option("container-id", o.id, "container id")->required();
  cmd->add_option("-b,--bundle", o.bundle, "path to the root of the bundle directory")->capture_default_str();
  cmd->add_option("--console-socket", o.console_socket, "AF_UNIX socket that receives the pty master");
  cmd->add_option("--pid-file", o.pid_file, "file to write the container's init pid to");
  cmd->add_flag("--no-pivot", o.no_pivot, "do not use pivot_root (MS_MOVE + chroot instead)");
  cmd->add_flag("--no-new-keyring", o.no_new_keyring, "do not create a new session keyring");
  cmd->add_option("--preserve-fds", o.preserve_fds, "pass N extra fds (3..3+N-1) to the container");
}

struct Options {
  CreateOptions create;
  RunOptions run;
  StartOptions start;
  StateOptions state;
  KillOptions kill;
  DeleteOptions del;
  ListOptions list;
  SpecOptions spec;
  PauseOptions pause;
  ResumeOptions resume;
  PsOptions ps;
};

void add_lifecycle(CLI::App& app, Options& o, Action& action) {
  auto* create = app.add_subcommand("create", "create a container");
  add_create_flags(create, o.create);
  create->callback([&] { action = [&](Context& c) { return status_code(cmd_create(c, o.create)); }; });
  auto* run = app.add_subcommand("run", "create and start a container");
  add_create_flags(run, o.run.create);
  run->add_flag("-d,--detach", o.run.detach, "detach from the container's process");
  run->add_flag("--keep", o.run.keep, "do not delete the container after it exits");
  run->callback([&] { action = [&](Context& c) { return cmd_run(c, o.run); }; });
  auto* start = app.add_subcommand("start", "execute the user process in a created container");
  start->add_option("container-id", o.start.id)->required();
  start->callback([&] { action = [&](Context& c) { return status_code(cmd_start(c, o.start)); }; });
  auto* state = app.add_subcommand("state", "output the state of a container");
  state->add_option("container-id", o.state.id)->required();
  state->callback([&] { action = [&](Context& c) { return status_code(cmd_state(c, o.state)); }; });
  auto* kill = app.add_subcommand("kill", "send a signal (default SIGTERM) to the container's init");
  kill->add_option("container-id", o.kill.id)->required();
  kill->add_option("signal", o.kill.signal, "signal name or number")->capture_default_str();
  kill->add_flag("-a,--all", o.kill.all, "send the signal to all processes in the container");
  kill->callback([&] { action = [&](Context& c) { return status_code(cmd_kill(c, o.kill)); }; });
  auto* del = app.add_subcommand("delete", "delete a container's resources");
  del->add_option("container-id", o.del.id)->required();
  del->add_flag("-f,--force", o.del.force, "kill the container first if it is still running");
  del->callback([&] { action = [&](Context& c) { return status_code(cmd_delete(c, o.del)); }; });
}

void add_others(CLI::App& app, Options& o, Action& action) {
  auto* list = app.add_subcommand("list", "list containers");
  list->add_option("-f,--format", o.list.format, "table or json")->capture_default_str();
  list->add_flag("-q,--quiet", o.list.quiet, "display only container ids");
  list->callback([&] { action = [&](Context& c) { return status_code(cmd_list(c, o.list)); }; });
  auto* spec = app.add_subcommand("spec", "create a new specification file (config.json)");
  spec->add_option("-b,--bundle", o.spec.bundle, "directory to write config.json to");
  spec->add_flag("--rootless", o.spec.rootless, "a spec for a rootless container");
  spec->callback([&] { action = [&](Context& c) { return status_code(cmd_spec(c, o.spec)); }; });
  auto* features = app.add_subcommand("features", "show the enabled features");
  features->callback([&] { action = [&](Context& c) { return status_code(cmd_features(c)); }; });
  auto* pause = app.add_subcommand("pause", "suspend all processes of a container (cgroup freezer)");
  pause->add_option("container-id", o.pause.id)->required();
  pause->callback([&] { action = [&](Context& c) { return status_code(cmd_pause(c, o.pause)); }; });
  auto* resume = app.add_subcommand("resume", "resume a paused container");
  resume->add_option("container-id", o.resume.id)->required();
  resume->callback([&] { action = [&](Context& c) { return status_code(cmd_resume(c, o.resume)); }; });
  auto* ps = app.add_subcommand("ps", "display the processes running inside a container");
  ps->add_option("-f,--format", o.ps.format, "table or json")->capture_default_str();
  ps->add_option("container-id", o.ps.id)->required();
  ps->add_option("ps-args", o.ps.ps_args, "options for ps(1) (default -ef)");
  ps->callback([&] { action = [&](Context& c) { return status_code(cmd_ps(c, o.ps)); }; });
}

std::string version_text() {
  const scmp_version* v = seccomp_version();
  return std::string("lxcri version ") + kVersion + "\nspec: 1.1.0\nlibseccomp: " + std::to_string(v->major) +
         "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

core::Status setup_logging(const GlobalOptions& g) {
  if (g.systemd_cgroup)
    return core::Error(core::ErrorCategory::Usage,
                       "--systemd-cgroup: the systemd cgroup driver is not supported by lxcri yet (use cgroupfs)");
  PVEKIT_ASSIGN(auto format, core::parse_log_format(g.log_format));
  return core::init_logging({.level = g.debug ? "debug" : "warn", .format = format, .file = g.log, .program = "lxcri"});
}

}  // namespace

bool cli_needs_sealed_binary(int argc, char** argv) {
  // Global options that take a separate value; the first other word is the command.
  static const std::set<std::string> with_value = {"--root", "--log", "--log-format"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (with_value.count(a)) {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return a == "create" || a == "run" || a == "exec";
  }
  return false;
}

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"lxcri: an OCI container runtime with runc's command line", "lxcri"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--root", global.root, "root directory for container state")->capture_default_str();
  app.add_option("--log", global.log, "log file (default: stderr)");
  app.add_option("--log-format", global.log_format, "text or json")->capture_default_str();
  app.add_flag("--debug", global.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", global.systemd_cgroup, "use the systemd cgroup driver");
  app.set_version_flag("-v,--version", version_text());
  Options options;
  Action action;
  add_lifecycle(app, options, action);
  add_others(app, options, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 1;
  }
  core::Status logging = setup_logging(global);
  core::Result<int> result = logging.ok() ? core::Result<int>(0) : core::Result<int>(std::move(logging).error());
  if (result.ok()) {
    Context ctx{global, StateStore(global.root), out};
    result = action(ctx);
  }
  if (result.ok()) return *result;
  std::string message = result.error().to_string();
  if (!global.log.empty()) spdlog::error("{}", message);  // podman reads the error from the log file
  err << "lxcri: error: " << message << "\n";
  return 1;
}

}  // namespace pvekit::oci
