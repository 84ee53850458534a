#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/files.h"
#include "core/log.h"
#include "oci/commands.h"
#include "oci/routing.h"
#include "oci/linux/console.h"
#include "oci/linux/process.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

core::Result<std::string> real_path(const std::string& path, const std::string& what) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return Error::system(what + " " + path, errno);
  return std::string(buf);
}

// Removes the state directory of a failed create.
class StateDirGuard {
 public:
  StateDirGuard(const StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  StateDirGuard(const StateDirGuard&) = delete;
  StateDirGuard& operator=(const StateDirGuard&) = delete;
  ~StateDirGuard() {
    if (armed_) (void)store_.remove(id_);  // the create error is what the user needs to see
  }
  void release() { armed_ = false; }

 private:
  const StateStore& store_;
  std::string id_;
  bool armed_ = true;
};

// The creating user's name, as runc's "owner" ("root"); the uid when unnamed.
// Read from /etc/passwd as runc's static Go build does: NSS would load shared
// libraries into the static lxcri.
std::string owner_name() {
  auto passwd = core::read_file("/etc/passwd");
  return linux::user_name(::geteuid(), passwd.ok() ? *passwd : "");
}

core::Result<CreateRequest> make_request(Context& ctx, const CreateOptions& o) {
  CreateRequest r;
  r.id = o.id;
  PVEKIT_ASSIGN(r.bundle, real_path(o.bundle, "bundle"));
  PVEKIT_ASSIGN(r.spec, load_spec(r.bundle));
  std::string root = r.spec.root.path[0] == '/' ? r.spec.root.path : r.bundle + "/" + r.spec.root.path;
  PVEKIT_ASSIGN(r.rootfs, real_path(root, "root.path"));
  r.state_dir = ctx.store.dir(o.id);
  r.options = o;
  return r;
}

}  // namespace

core::Status cmd_create(Context& ctx, const CreateOptions& o, int console_fd) {
  PVEKIT_TRY(validate_id(o.id));
  if (o.preserve_fds < 0) return Error(ErrorCategory::Usage, "--preserve-fds must not be negative");
  PVEKIT_ASSIGN(auto request, make_request(ctx, o));
  // runc's rules: a terminal needs somewhere to send the pty, and a socket needs a terminal.
  bool terminal = request.spec.process && request.spec.process->terminal;
  if (terminal && o.console_socket.empty() && console_fd < 0)
    return Error(ErrorCategory::Usage, "cannot allocate a tty without --console-socket (process.terminal is true)");
  if (!terminal && !o.console_socket.empty())
    return Error(ErrorCategory::Usage, "--console-socket needs process.terminal: true");
  PVEKIT_ASSIGN(auto route, route_container(ctx.global.config.rules, ctx.global.config.default_backend,
                                            {.id = o.id, .bundle = request.bundle,
                                             .annotations = request.spec.annotations}));
  spdlog::debug("container {}: backend {} ({})", o.id, route.backend, route.reason);
  // Before the console socket: the proxmox backend hands the command over to
  // its helper here, which must find the socket not yet connected.
  PVEKIT_ASSIGN(auto backend, make_backend(route.backend, ctx.global));
  UniqueFd console;
  if (terminal && !o.console_socket.empty()) {
    PVEKIT_ASSIGN(console, linux::connect_console_socket(o.console_socket));
    console_fd = console.get();
  }
  request.console_fd = terminal ? console_fd : -1;
  PVEKIT_ASSIGN(auto lock, ctx.store.create(o.id));
  StateDirGuard guard(ctx.store, o.id);
  std::string created = rfc3339_now(), owner = owner_name();
  auto stamp = [&](ContainerState state) {
    state.created = created;
    state.backend = backend->name();
    state.owner = owner;
    return state;
  };
  // From here on a killed create leaves a state.json that `list` shows and `delete --force` cleans up.
  request.record_progress = [&](const ContainerState& so_far) { return ctx.store.save(stamp(so_far)); };
  PVEKIT_TRY(request.record_progress(ContainerState{.id = o.id, .status = ContainerStatus::Creating,
                                                    .bundle = request.bundle, .rootfs = request.rootfs}));
  PVEKIT_TRY(core::write_file_atomic(request.state_dir + "/config.json",
                                     core::read_file(request.bundle + "/config.json").value_or(""), 0600,
                                     core::Durability::RuntimeState));
  PVEKIT_ASSIGN(auto state, backend->create(request));
  state = stamp(std::move(state));
  core::Status saved = ctx.store.save(state);
  if (saved.ok() && !o.pid_file.empty())
    saved = core::write_file_atomic(o.pid_file, std::to_string(state.pid), 0644, core::Durability::RuntimeState)
                .wrap("--pid-file");
  if (!saved.ok()) {
    (void)backend->destroy(state);  // undo the running init; report the save error
    return saved;
  }
  guard.release();
  return core::ok();
}

}  // namespace pvekit::oci
