#include <sys/socket.h>

#include "core/files.h"
#include "core/strings.h"
#include "oci/commands.h"
#include "oci/linux/cgroups.h"
#include "oci/linux/console.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

core::Result<std::pair<uint32_t, std::optional<uint32_t>>> parse_exec_user(const std::string& text) {
  auto parts = core::split(text, ':');
  auto id = [&](const std::string& s) -> std::optional<uint32_t> {
    auto n = core::parse_int(s);
    if (!n || *n < 0 || *n > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(*n);
  };
  if (parts.size() > 2 || parts.empty() || !id(parts[0]) || (parts.size() == 2 && !id(parts[1])))
    return Error(ErrorCategory::Usage, "--user: want uid[:gid] as numbers, got \"" + text + "\"");
  return std::make_pair(*id(parts[0]), parts.size() == 2 ? id(parts[1]) : std::nullopt);
}

core::Result<Json> exec_process_json(const Json& base, const ExecOptions& o, const std::optional<Json>& process_file) {
  // As runc: a process file is taken as it is, the flags shape only the spec's process.
  if (process_file) return *process_file;
  if (o.args.empty()) return Error(ErrorCategory::Usage, "exec: no command given (args or --process)");
  Json p = base.is_object() ? base : Json::object();
  p["args"] = o.args;
  p["terminal"] = o.tty;
  for (const auto& e : o.env) p["env"].push_back(e);
  if (!o.cwd.empty()) p["cwd"] = o.cwd;
  if (!o.user.empty()) {
    PVEKIT_ASSIGN(auto user, parse_exec_user(o.user));
    p["user"]["uid"] = user.first;
    if (user.second) p["user"]["gid"] = *user.second;
  }
  for (uint32_t g : o.additional_gids) p["user"]["additionalGids"].push_back(g);
  for (const auto& cap : o.caps) {
    for (const char* set : {"bounding", "effective", "permitted"}) p["capabilities"][set].push_back(cap);
    // Ambient needs the capability inheritable, which --cap does not add (runc's rule).
    if (p["capabilities"].contains("inheritable") && !p["capabilities"]["inheritable"].empty())
      p["capabilities"]["ambient"].push_back(cap);
  }
  if (o.no_new_privs) p["noNewPrivileges"] = true;
  // Applied, refused or warned about as the same fields of config.json (linux/lsm.h).
  if (!o.apparmor.empty()) p["apparmorProfile"] = o.apparmor;
  if (!o.process_label.empty()) p["selinuxLabel"] = o.process_label;
  return p;
}

namespace {

struct Started {
  pid_t pid = 0;
  bool terminal = false;
};

core::Result<Spec> exec_spec(Context& ctx, const ExecOptions& o) {
  std::string stored_path = ctx.store.dir(o.id) + "/config.json";
  PVEKIT_ASSIGN(auto text, core::read_file(stored_path));
  PVEKIT_ASSIGN(Json doc, core::parse_json(text, stored_path));
  std::optional<Json> file;
  if (!o.process_file.empty()) {
    PVEKIT_ASSIGN(auto ptext, core::read_file(o.process_file));
    PVEKIT_ASSIGN(file, core::parse_json(ptext, "--process " + o.process_file));
  }
  PVEKIT_ASSIGN(doc["process"], exec_process_json(doc.value("process", Json::object()), o, file));
  return parse_spec(doc).wrap(o.process_file.empty() ? std::string("exec process") : "--process " + o.process_file);
}

// Starts the process with the container locked; the caller waits unlocked.
core::Result<Started> start_exec(Context& ctx, const ExecOptions& o, int proxy_fd) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (!can_exec(c.status, o.ignore_paused)) {
    if (c.status == ContainerStatus::Paused)
      return Error(ErrorCategory::Conflict, "cannot exec in a paused container (use --ignore-paused to override)");
    return Error(ErrorCategory::Conflict, "cannot exec in a " + std::string(to_string(c.status)) + " container");
  }
  // The process freezes on joining the cgroup and only reports its execve
  // after `resume`, which needs the lock.
  if (c.status == ContainerStatus::Paused) c.lock.unlock();
  ExecRequest request;
  PVEKIT_ASSIGN(request.sub_cgroups, linux::parse_sub_cgroups(o.cgroups));
  PVEKIT_ASSIGN(request.spec, exec_spec(ctx, o));
  bool terminal = request.spec.process->terminal;
  if (terminal && o.console_socket.empty() && o.detach)
    return Error(ErrorCategory::Usage, "cannot allocate a tty when detaching without --console-socket");
  if (!terminal && !o.console_socket.empty())
    return Error(ErrorCategory::Usage, "--console-socket needs a terminal (--tty or process.terminal)");
  UniqueFd console;
  if (terminal && !o.console_socket.empty()) {
    PVEKIT_ASSIGN(console, linux::connect_console_socket(o.console_socket));
    request.console_fd = console.get();
  } else if (terminal) {
    request.console_fd = proxy_fd;
  }
  request.preserve_fds = o.preserve_fds;
  PVEKIT_ASSIGN(pid_t pid, c.backend->exec(c.state, request));
  if (!o.pid_file.empty()) PVEKIT_TRY(core::write_file_atomic(o.pid_file, std::to_string(pid), 0644,
                                                                  core::Durability::RuntimeState)
                                         .wrap("--pid-file"));
  return Started{pid, terminal && o.console_socket.empty()};
}

}  // namespace

core::Result<int> cmd_exec(Context& ctx, const ExecOptions& o) {
  if (o.preserve_fds < 0) return Error(ErrorCategory::Usage, "--preserve-fds must not be negative");
  // Our end of the pty proxy, used when the process wants a terminal and no socket was given.
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::system("socketpair", errno);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  PVEKIT_ASSIGN(auto started, start_exec(ctx, o, theirs.get()));
  theirs.reset();
  if (o.detach) return 0;
  UniqueFd master;
  if (started.terminal) {
    PVEKIT_ASSIGN(master, linux::recv_fd(ours.get()));
  }
  return linux::wait_forwarding(started.pid, master.get());
}

}  // namespace pvekit::oci
