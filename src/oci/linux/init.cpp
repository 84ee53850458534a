#include "oci/linux/init.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/files.h"
#include "oci/fd.h"
#include "oci/linux/capabilities.h"
#include "oci/linux/console.h"
#include "oci/linux/hooks.h"
#include "oci/linux/mounts.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/process.h"
#include "oci/linux/seccomp.h"
#include "oci/linux/sync.h"
#include "oci/linux/syscalls.h"
#include "oci/state.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

namespace {

Status apply_sysctl(const LinuxConfig& linux, const Rootfs& rootfs, Syscalls& sys) {
  for (const auto& [key, value] : linux.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    PVEKIT_TRY(sys.write_proc_file(rootfs.fd.get(), path, value).wrap("sysctl " + key));
  }
  return core::ok();
}

bool protects_or_pivots(const MountOp& op) {
  return op.kind == MountOp::Kind::MaskPath || op.kind == MountOp::Kind::ReadonlyPath ||
         op.kind == MountOp::Kind::PivotRoot;
}

Status run_create_container_hooks(const InitConfig& c) {
  const Spec& spec = *c.spec;
  if (spec.hooks.create_container.empty()) return core::ok();
  ContainerState state{.id = c.id, .status = ContainerStatus::Creating, .pid = ::getpid(), .bundle = c.bundle};
  return run_hooks(spec.hooks.create_container, "createContainer",
                   runc_state_json(state, ContainerStatus::Creating).dump());
}

Status create_cwd(const Spec& spec, const Rootfs& rootfs, Syscalls& sys) {
  // A cwd the image lacks is created, as runc does (before the root may turn read-only).
  if (!spec.process || spec.process->cwd.empty()) return core::ok();
  auto dir = sys.mkdir_in_root(rootfs.fd.get(), spec.process->cwd, 0755);
  if (!dir.ok()) return std::move(dir).wrap("process.cwd").error();
  return core::ok();
}

// In the runtime's mount namespace nothing is mounted (check_supported
// refuses what would be): the rootfs is entered with chroot.
Status enter_rootfs_without_mount_namespace(const InitConfig& c, Syscalls& sys) {
  Rootfs rootfs{c.rootfs, UniqueFd()};
  PVEKIT_ASSIGN(rootfs.fd, sys.open_dir(c.rootfs));
  PVEKIT_TRY(run_create_container_hooks(c));
  PVEKIT_TRY(create_cwd(*c.spec, rootfs, sys));
  if (::fchdir(rootfs.fd.get()) != 0 || ::chroot(".") != 0) return Error::system("chroot " + c.rootfs, errno);
  return core::ok();
}

Status setup_rootfs(const InitConfig& c, Syscalls& sys) {
  const Spec& spec = *c.spec;
  if (!spec.linux->has_namespace("mount")) return enter_rootfs_without_mount_namespace(c, sys);
  MountContext ctx{c.rootfs, c.no_pivot, c.new_user_namespace, c.cgroup_binds,
                   effective_mount_label(*spec.linux, c.lsm)};
  auto ops = plan_mounts(spec, ctx);
  auto split = std::find_if(ops.begin(), ops.end(), protects_or_pivots);
  std::vector<MountOp> build(ops.begin(), split), finish(split, ops.end());
  Rootfs rootfs{c.rootfs, UniqueFd()};
  PVEKIT_TRY(apply_mounts(build, rootfs, sys));
  // createContainer hooks: in the container's namespaces, mounts done, root not yet switched.
  PVEKIT_TRY(run_create_container_hooks(c));
  PVEKIT_TRY(create_cwd(spec, rootfs, sys));
  // sysctls go in before /proc/sys turns read-only.
  if (spec.linux) PVEKIT_TRY(apply_sysctl(*spec.linux, rootfs, sys));
  return apply_mounts(finish, rootfs, sys);
}

Status setup_identity(const Spec& spec, Syscalls& sys) {
  if (!spec.hostname.empty()) PVEKIT_TRY(sys.sethostname(spec.hostname));
  if (!spec.domainname.empty()) PVEKIT_TRY(sys.setdomainname(spec.domainname));
  return core::ok();
}

// Before the user's seccomp filter: it need not allow what these take.
Status setup_process_early(const Process& p, PreparedProcess& out, const LsmSupport& lsm) {
  PVEKIT_TRY(apply_exec_labels(p, lsm));
  PVEKIT_TRY(apply_rlimits(p.rlimits));
  ::umask(p.user.umask.value_or(022));
  auto passwd = core::read_file("/etc/passwd");  // the container's; without one HOME is "/"
  out.env = env_with_home(p.env, p.user.uid, passwd.ok() ? *passwd : "");
  return core::ok();
}

// After a filter loaded without noNewPrivileges: only calls runc's init makes
// at this point too (prctl, setgroups, setgid, setuid, capset, chdir, stat).
Status setup_process_late(const Process& p, PreparedProcess& out) {
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Error::system("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  Capabilities caps = p.capabilities.value_or(Capabilities{});
  PVEKIT_TRY(drop_bounding(caps));
  PVEKIT_TRY(switch_user(p.user));
  PVEKIT_TRY(apply_capabilities(caps));
  PVEKIT_TRY(enter_cwd(p.cwd));
  PVEKIT_ASSIGN(out.executable, find_executable(p.args[0], out.env));
  return core::ok();
}

Status setup(const InitConfig& c, PreparedProcess& out) {
  const Spec& spec = *c.spec;
  PVEKIT_TRY(expect_sync(c.sync_fd, SyncType::Go));
  // Our id maps are written (that needed us dumpable): from here until execve
  // nothing in the container may ptrace us or open our /proc files.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Error::system("prctl(PR_SET_DUMPABLE)", errno);
  // Before joining a user namespace by path: the new network namespace is owned by ours.
  if (const auto* net = spec.linux->find_namespace("network"); net && net->path.empty())
    PVEKIT_TRY(bring_loopback_up().wrap("network namespace"));
  PVEKIT_TRY(join_namespaces(*spec.linux));
  if (c.new_user_namespace && (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0))
    return Error::system("become root in the user namespace", errno);
  // Go came after the runtime put us in the container's cgroup.
  PVEKIT_TRY(unshare_cgroup_namespace(*spec.linux));
  if (::setsid() < 0) return Error::system("setsid", errno);
  if (!c.no_new_keyring) {
    // A fresh session keyring keeps the host's keys out; kernels without keyrings are fine.
    (void)::syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, nullptr);
  }
  if (::chdir(c.bundle.c_str()) != 0) return Error::system("chdir " + c.bundle, errno);
  LinuxSyscalls sys;
  PVEKIT_TRY(setup_identity(spec, sys));
  PVEKIT_TRY(setup_rootfs(c, sys));
  if (c.console_fd >= 0) {
    PVEKIT_TRY(setup_console(c.console_fd).wrap("terminal"));
    ::close(c.console_fd);
  }
  // Before the seccomp filter: the user's profile need not allow what this takes.
  PVEKIT_TRY(prepare_fds(c.preserve_fds));
  return prepare_process(spec, out, c.sync_fd, c.lsm);
}

// Blocks until `start` opens the fifo for reading. The fifo lives in the host's
// state dir, which the pivot hid: reopen it through the O_PATH descriptor.
Status wait_for_start(int fifo_fd) {
  std::string path = fd_path(fifo_fd);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open exec fifo (is /proc mounted in the container?)", errno);
  if (::write(fd.get(), "0", 1) != 1) return Error::system("write exec fifo", errno);
  return core::ok();
}

[[noreturn]] void die(const char* what, const Error& e) {
  std::string text = std::string("lxcri init: ") + what + ": " + e.to_string() + "\n";
  (void)!::write(2, text.data(), text.size());
  _exit(1);
}

}  // namespace

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
}

namespace {

// A notify listener goes to the runtime right after the load: that sendmsg is
// the only syscall in between (validation refuses SCMP_ACT_NOTIFY for it).
// The filter is released only afterwards, since free() may make syscalls.
Status load_seccomp(PreparedProcess& out, int sync_fd) {
  PVEKIT_ASSIGN(UniqueFd listener, out.seccomp->load());
  if (listener.valid()) {
    SyncMessage msg{SyncType::Seccomp, 0, "", std::move(listener)};
    PVEKIT_TRY(send_sync(sync_fd, msg).wrap("hand the seccomp notify listener to the runtime"));
  }
  out.seccomp.reset();
  return core::ok();
}

}  // namespace

Status prepare_process(const Spec& spec, PreparedProcess& out, int sync_fd, const LsmSupport& lsm) {
  PVEKIT_TRY(setup_process_early(*spec.process, out, lsm).wrap("process"));
  if (spec.linux && spec.linux->seccomp) {
    PVEKIT_ASSIGN(auto filter, SeccompFilter::build(*spec.linux->seccomp));
    out.seccomp.emplace(std::move(filter));
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter,
    // so load it before the capabilities are dropped (as runc does).
    if (!spec.process->no_new_privileges) PVEKIT_TRY(load_seccomp(out, sync_fd));
  }
  PVEKIT_TRY(setup_process_late(*spec.process, out).wrap("process"));
  // The agent must hold the listener before create (or exec) returns, as with
  // runc, so a notifying filter cannot wait until just before execve.
  if (out.seccomp && out.seccomp->notifies()) PVEKIT_TRY(load_seccomp(out, sync_fd));
  return core::ok();
}

Error exec_process(const Process& process, PreparedProcess& prepared) {
  if (prepared.seccomp) {
    // Notifying filters are loaded already: no listener here.
    if (auto l = prepared.seccomp->load(); !l.ok()) return l.error();
  }
  std::vector<std::string> args = process.args;
  std::vector<std::string> env = prepared.env;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(prepared.executable.c_str(), argv.data(), envp.data());
  return Error::system("exec " + prepared.executable, errno);
}

void run_init(const InitConfig& c) {
  close_fds_from(3 + c.preserve_fds, {c.sync_fd, c.fifo_fd, c.console_fd});
  reset_signals();
  PreparedProcess prepared;
  Status s = setup(c, prepared);
  if (!s.ok()) {
    send_sync_error(c.sync_fd, s.error());
    _exit(1);
  }
  if (!send_sync(c.sync_fd, {SyncType::Ready, 0, ""}).ok()) _exit(1);
  ::close(c.sync_fd);
  if (Status w = wait_for_start(c.fifo_fd); !w.ok()) die("start", w.error());
  ::close(c.fifo_fd);
  // startContainer hooks see the container's own view; the user process has not
  // been executed yet, so the container is still "created" (as runc reports).
  ContainerState hook_state;
  hook_state.id = c.id;
  hook_state.pid = 1;
  hook_state.bundle = c.bundle;
  hook_state.status = ContainerStatus::Created;
  std::string state_json = runc_state_json(hook_state, ContainerStatus::Created).dump();
  if (Status h = run_hooks(c.spec->hooks.start_container, "startContainer", state_json); !h.ok())
    die("hooks", h.error());
  die("exec", exec_process(*c.spec->process, prepared));
}

}  // namespace pvekit::oci::linux
