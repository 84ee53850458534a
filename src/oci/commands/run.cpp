#include <sys/socket.h>

#include <cerrno>

#include "oci/commands.h"
#include "oci/linux/console.h"

namespace pvekit::oci {

using core::Error;

core::Result<int> cmd_run(Context& ctx, const RunOptions& o) {
  // In the foreground, a container with a terminal sends its pty master to us
  // and we relay it (runc does the same when no --console-socket is given).
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::system("socketpair", errno);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  bool relay = !o.detach && o.create.console_socket.empty();
  PVEKIT_TRY(cmd_create(ctx, o.create, relay ? theirs.get() : -1));
  theirs.reset();
  core::Status started = cmd_start(ctx, StartOptions{o.create.id});
  if (!started.ok()) {
    if (auto c = load_container(ctx, o.create.id); c.ok()) (void)destroy_container(ctx, *c);  // report the start error
    return std::move(started).error();
  }
  if (o.detach) return 0;
  PVEKIT_ASSIGN(auto state, ctx.store.load(o.create.id));
  UniqueFd master;
  if (relay) {
    auto spec = stored_spec(ctx, o.create.id);
    if (spec.ok() && spec->process && spec->process->terminal) {
      PVEKIT_ASSIGN(master, linux::recv_fd(ours.get()));
    }
  }
  PVEKIT_ASSIGN(int code, linux::wait_forwarding(state.pid, master.get()));
  if (!o.keep) {
    PVEKIT_ASSIGN(auto c, load_container(ctx, o.create.id));
    PVEKIT_TRY(destroy_container(ctx, c));
  }
  return code;
}

}  // namespace pvekit::oci
