#include "oci/cli.h"

#include <seccomp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <ostream>
#include <set>

#include "core/log.h"
#include "oci/commands.h"
#include "oci/linux/selfexec.h"
#include "oci/proxmox_helper.h"
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
  ExecOptions exec;
  UpdateOptions update;
  EventsOptions events;
  CheckpointOptions checkpoint;
  RestoreOptions restore;
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
  // As runc: everything after the container id goes to ps(1) ("ps ID -o pid,comm"), "--" optional.
  ps->prefix_command();
  ps->footer("PS-ARGS: options for ps(1) after the container id (default -ef)");
  ps->callback([&, ps] {
    o.ps.ps_args = ps->remaining();
    if (!o.ps.ps_args.empty() && o.ps.ps_args.front() == "--") o.ps.ps_args.erase(o.ps.ps_args.begin());
    action = [&](Context& c) { return status_code(cmd_ps(c, o.ps)); };
  });
}

void add_exec(CLI::App& app, Options& o, Action& action) {
  auto* exec = app.add_subcommand("exec", "execute a new process inside a container");
  auto& e = o.exec;
  exec->add_option("container-id", e.id)->required();
  exec->add_option("-p,--process", e.process_file, "process.json to run (the flags are ignored then)");
  exec->add_flag("-t,--tty", e.tty, "allocate a pseudo-TTY");
  exec->add_flag("-d,--detach", e.detach, "detach from the process");
  exec->add_option("-e,--env", e.env, "set an environment variable (NAME=VALUE)")
      ->allow_extra_args(false);
  exec->add_option("--cwd", e.cwd, "working directory in the container");
  exec->add_option("-u,--user", e.user, "UID[:GID]");
  exec->add_option("-g,--additional-gids", e.additional_gids, "additional group id")
      ->allow_extra_args(false);
  exec->add_option("-c,--cap", e.caps, "add a capability (CAP_NAME)")
      ->allow_extra_args(false);
  exec->add_flag("--no-new-privs", e.no_new_privs, "set no_new_privs");
  exec->add_option("--pid-file", e.pid_file, "file to write the process's pid to");
  exec->add_option("--console-socket", e.console_socket, "AF_UNIX socket that receives the pty master");
  exec->add_option("--preserve-fds", e.preserve_fds, "pass N extra fds (3..3+N-1) to the process");
  exec->add_option("--cgroup", e.cgroups,
                   "run the process in an existing sub-cgroup of the container: [<controller>[,...]:]<path>")
      ->allow_extra_args(false);
  exec->add_flag("--ignore-paused", e.ignore_paused, "exec in a paused container (the process waits until resumed)");
  exec->add_option("--process-label", e.process_label, "SELinux label of the process (refused where SELinux is not enabled)");
  exec->add_option("--apparmor", e.apparmor, "AppArmor profile of the process (refused where AppArmor is not enabled)");
  // Everything after the container id is the command, flags included ("sh -c ...").
  exec->prefix_command();
  exec->callback([&, exec] {
    e.args = exec->remaining();
    if (!e.args.empty() && e.args.front() == "--") e.args.erase(e.args.begin());
    action = [&](Context& c) { return cmd_exec(c, e); };
  });

  auto* update = app.add_subcommand("update", "update a container's resource limits");
  auto& u = o.update;
  update->add_option("container-id", u.id)->required();
  update->add_option("-r,--resources", u.resources_file, "LinuxResources JSON file (- for stdin); flags are ignored then");
  update->add_option("--memory", u.memory, "memory limit (bytes, k/m/g suffix, -1 unlimited)");
  update->add_option("--memory-swap", u.memory_swap, "memory plus swap limit");
  update->add_option("--memory-reservation", u.memory_reservation, "memory soft limit");
  update->add_option("--kernel-memory", u.kernel_memory, "kernel memory limit (refused)");
  update->add_option("--kernel-memory-tcp", u.kernel_memory_tcp, "kernel TCP memory limit (refused)");
  update->add_option("--cpu-quota", u.cpu_quota, "CPU CFS quota (microseconds per period, -1 unlimited)");
  update->add_option("--cpu-period", u.cpu_period, "CPU CFS period (microseconds)");
  update->add_option("--cpu-share,--cpu-shares", u.cpu_shares, "CPU shares (relative weight)");
  update->add_option("--cpuset-cpus", u.cpuset_cpus, "CPUs to use (0-3, 0,1)");
  update->add_option("--cpuset-mems", u.cpuset_mems, "memory nodes to use");
  update->add_option("--pids-limit", u.pids_limit, "maximum number of pids (-1 unlimited)");
  update->add_option("--blkio-weight", u.blkio_weight, "block I/O weight (10..1000)");
  update->callback([&] { action = [&](Context& c) { return status_code(cmd_update(c, u)); }; });

  auto* events = app.add_subcommand("events", "display container events (stats, oom)");
  events->add_option("container-id", o.events.id)->required();
  events->add_flag("--stats", o.events.stats, "display one stats event, then exit");
  events->add_option("--interval", o.events.interval, "stats interval")->capture_default_str();
  events->callback([&] { action = [&](Context& c) { return status_code(cmd_events(c, o.events)); }; });
}

// The effective config decides root and logging too.
core::Status load_global_config(GlobalOptions& g, const ConfigSources& sources) {
  PVEKIT_ASSIGN(g.config, load_runtime_config(sources));
  g.root = g.config.root;
  g.log = g.config.log;
  g.log_format = g.config.log_format;
  g.debug = g.config.debug;
  return core::ok();
}

// runc's CRIU flags, shared by checkpoint and restore.
void add_criu_flags(CLI::App* cmd, snapshot::CriuOptions& c) {
  cmd->add_option("--image-path", c.image_path, "path for the criu image files (default ./checkpoint)");
  cmd->add_option("--work-path", c.work_path, "path for criu work files and logs (default: the image path)");
  cmd->add_flag("--tcp-established", c.tcp_established, "allow open tcp connections");
  cmd->add_flag("--ext-unix-sk", c.ext_unix_sk, "allow external unix sockets");
  cmd->add_flag("--shell-job", c.shell_job, "allow shell jobs");
  cmd->add_flag("--file-locks", c.file_locks, "handle file locks");
  cmd->add_option("--manage-cgroups-mode", c.manage_cgroups_mode, "cgroups mode: soft (default), full, strict, ignore");
  cmd->add_option("--empty-ns", c.empty_ns, "create a namespace, but do not restore its properties (network)");
  cmd->add_flag("--auto-dedup", c.auto_dedup, "enable auto deduplication of memory images");
  cmd->add_flag("--lazy-pages", c.lazy_pages, "use userfaultfd to lazily restore memory pages");
}

void add_checkpoint(CLI::App& app, Options& o, Action& action) {
  auto* cp = app.add_subcommand("checkpoint", "checkpoint a container (criu, or a zfs/btrfs/pve snapshot)");
  auto& c = o.checkpoint;
  cp->add_option("container-id", c.id)->required();
  cp->add_option("--snapshot", c.snapshot, "take a storage snapshot with this name (zfs, btrfs, pve)");
  cp->add_flag("--list", c.list, "list the container's storage snapshots");
  cp->add_option("--delete", c.remove, "delete the named storage snapshot");
  cp->add_option("-f,--format", c.format, "--list output: table or json")->capture_default_str();
  add_criu_flags(cp, c.criu);
  cp->add_option("--parent-path", c.criu.parent_path, "path for previous criu image files in pre-dump");
  cp->add_flag("--leave-running", c.criu.leave_running, "leave the process running after checkpointing");
  cp->add_flag("--pre-dump", c.criu.pre_dump, "dump the container's memory only, leaving it running");
  cp->callback([&] { action = [&](Context& ctx) { return status_code(cmd_checkpoint(ctx, c)); }; });

  auto* rs = app.add_subcommand("restore", "restore a container from a checkpoint or a storage snapshot");
  auto& r = o.restore;
  r.create.bundle.clear();  // empty: the stopped container's bundle, else the current directory
  rs->add_option("container-id", r.create.id)->required();
  rs->add_option("--snapshot", r.snapshot, "roll the rootfs back to this storage snapshot, then run the container");
  rs->add_option("-b,--bundle", r.create.bundle, "path to the root of the bundle directory");
  rs->add_flag("-d,--detach", r.detach, "detach from the container's process");
  rs->add_option("--pid-file", r.create.pid_file, "file to write the container's init pid to");
  rs->add_option("--console-socket", r.create.console_socket, "AF_UNIX socket that receives the pty master");
  rs->add_flag("--no-pivot", r.create.no_pivot, "do not use pivot_root (MS_MOVE + chroot instead)");
  rs->add_flag("--no-subreaper", r.no_subreaper, "disable the subreaper (lxcri never uses one)");
  add_criu_flags(rs, r.criu);
  rs->callback([&] { action = [&](Context& ctx) { return cmd_restore(ctx, r); }; });
}

void add_config(CLI::App& app, Action& action) {
  auto* config = app.add_subcommand("config", "print lxcri's effective configuration and where each value came from");
  config->callback([&] {
    action = [](Context& c) -> core::Result<int> {
      c.out << config_report(c.global.config).dump(2) << "\n";
      return 0;
    };
  });
}

std::string version_text() {
  const scmp_version* v = seccomp_version();
  return std::string("lxcri version ") + kVersion + "\nspec: 1.1.0\nlibseccomp: " + std::to_string(v->major) +
         "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

core::Status setup_logging(const GlobalOptions& g) {
  PVEKIT_ASSIGN(auto format, core::parse_log_format(g.log_format));
  return core::init_logging({.level = g.debug ? "debug" : "warn", .format = format, .file = g.log, .program = "lxcri"});
}

}  // namespace

bool cli_needs_sealed_binary(int argc, char** argv) {
  // Global options that take a separate value; the first other word is the command.
  static const std::set<std::string> with_value = {"--root", "--log", "--log-format", "--config"};
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
  // These four are also config keys; given here they are the top layer.
  auto* root_flag = app.add_option("--root", global.root, "root directory for container state")->capture_default_str();
  auto* log_flag = app.add_option("--log", global.log, "log file (default: stderr)");
  auto* format_flag = app.add_option("--log-format", global.log_format, "text or json")->capture_default_str();
  auto* debug_flag = app.add_flag("--debug", global.debug, "enable debug logging");
  app.add_option("--config", global.config_file,
                 std::string("lxcri's config file (JSON or YAML; default: $LXCRI_CONFIG, else ") + kDefaultConfigPath +
                     " when present)");
  app.add_flag("--systemd-cgroup", global.systemd_cgroup, "use the systemd cgroup driver");
  app.set_version_flag("-v,--version", version_text());
  Options options;
  Action action;
  add_lifecycle(app, options, action);
  add_others(app, options, action);
  add_exec(app, options, action);
  add_config(app, action);
  add_checkpoint(app, options, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 1;
  }
  ConfigSources sources{.file = global.config_file, .environment = core::LayeredConfig::process_environment()};
  if (root_flag->count()) sources.flags.emplace_back("root", global.root);
  if (log_flag->count()) sources.flags.emplace_back("log", global.log);
  if (format_flag->count()) sources.flags.emplace_back("log_format", global.log_format);
  if (debug_flag->count()) sources.flags.emplace_back("debug", "true");
  core::Status logging = load_global_config(global, sources);
  if (logging.ok()) logging = setup_logging(global);
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

int lxcri_main(int argc, char** argv) {
  if (cli_needs_sealed_binary(argc, argv)) {
    // Never hand a container a way to our writable binary (CVE-2019-5736).
    auto s = linux::ensure_protected_exe(argv);
    if (!s.ok()) {
      std::cerr << "lxcri: error: " << s.error().to_string() << "\n";
      return 1;
    }
  }
  set_command_line(argv);
  return run_cli(argc, argv, std::cout, std::cerr);
}

}  // namespace pvekit::oci
