#include "oci/linux/backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/files.h"
#include "core/log.h"
#include "core/process.h"
#include "core/strings.h"
#include "oci/linux/cgroups.h"
#include "oci/linux/console.h"
#include "oci/linux/hooks.h"
#include "oci/linux/init.h"
#include "oci/linux/mounts.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/process.h"
#include "oci/linux/seccomp.h"
#include "oci/linux/stats.h"
#include "oci/linux/sync.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

namespace {

// Kills and reaps the init child unless released: a failed create leaves no process.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ > 0) core::kill_and_reap(pid_);
  }
  void release() { pid_ = -1; }

 private:
  pid_t pid_;
};

// Removes the cgroup unless released.
class CgroupGuard {
 public:
  explicit CgroupGuard(CgroupManager& mgr) : mgr_(&mgr) {}
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;
  ~CgroupGuard() {
    if (mgr_) (void)mgr_->destroy();  // best effort on the failure path; the first error is what matters
  }
  void release() { mgr_ = nullptr; }

 private:
  CgroupManager* mgr_;
};

core::Result<std::unique_ptr<CgroupManager>> manager_for(const std::string& root, const std::string& path) {
  PVEKIT_ASSIGN(auto layout, detect_cgroup_layout(root));
  return make_cgroup_manager(layout, root, path);
}

// Without a mount namespace (the runtime's is inherited, runtime-spec
// config-linux), the container is the rootfs entered with chroot. Whatever
// would be mounted would land in the host's namespace and outlive the
// container (runc leaves such mounts behind): refused, naming the field.
Status check_without_mount_namespace(const Spec& s) {
  auto refuse = [](const std::string& field) {
    return Error(ErrorCategory::Config, field + ": needs a mount namespace (linux.namespaces has none), or it would "
                                                "be mounted in the host's and outlive the container")
        .with_detail("field", field);
  };
  if (!s.mounts.empty()) return refuse("mounts");
  if (s.root.readonly) return refuse("root.readonly");
  if (!s.linux->masked_paths.empty()) return refuse("linux.maskedPaths");
  if (!s.linux->readonly_paths.empty()) return refuse("linux.readonlyPaths");
  if (!s.linux->devices.empty()) return refuse("linux.devices");
  if (!s.linux->sysctl.empty()) return refuse("linux.sysctl");
  if (!s.linux->rootfs_propagation.empty()) return refuse("linux.rootfsPropagation");
  return core::ok();
}

// The LSM labels the spec asks for, against what this host has (lsm.h).
core::Result<LsmSupport> check_lsm(const Spec& spec, LsmPolicy policy) {
  LsmSupport support = detect_lsm_support();
  std::vector<std::string> warnings;
  PVEKIT_TRY(check_lsm_requests(spec, support, policy, warnings));
  for (const auto& w : warnings) spdlog::warn("{}", w);
  return support;
}

Status check_supported(const CreateRequest& r) {
  const Spec& s = r.spec;
  if (!s.process) return Error(ErrorCategory::Config, "process: is required to create a container");
  if (!s.linux) return Error(ErrorCategory::Config, "linux: is required by the linux backend");
  if (!s.linux->has_namespace("mount")) PVEKIT_TRY(check_without_mount_namespace(s));
  for (size_t i = 0; i < s.mounts.size(); ++i) PVEKIT_TRY(check_mount_options(s.mounts[i], i));
  PVEKIT_TRY(check_sysctl_namespaces(*s.linux));
  if (s.process->terminal && r.console_fd < 0)
    return Error(ErrorCategory::Usage, "process.terminal is true but there is no --console-socket to send the pty to");
  struct stat st{};
  if (::stat(r.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error(ErrorCategory::Config, "root.path: " + r.rootfs + " is not a directory");
  return core::ok();
}

pid_t clone_init(int flags) {
  // Raw clone without a new stack behaves like fork, but with namespace flags.
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

Status write_oom_score(pid_t pid, int value) {
  UniqueFd fd(::open(("/proc/" + std::to_string(pid) + "/oom_score_adj").c_str(), O_WRONLY | O_CLOEXEC));
  std::string v = std::to_string(value);
  if (!fd.valid() || ::write(fd.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size()))
    return Error::system("set oom_score_adj", errno);
  return core::ok();
}

// The parent's half of setup, while the init waits for Go.
Status prepare_child(const CreateRequest& r, pid_t pid, ContainerState& state) {
  const LinuxConfig& linux = *r.spec.linux;
  if (const auto* user = linux.find_namespace("user"); user && user->path.empty())
    PVEKIT_TRY(write_id_maps(pid, linux).wrap("user namespace mappings"));
  if (r.spec.process->oom_score_adj) PVEKIT_TRY(write_oom_score(pid, *r.spec.process->oom_score_adj));
  std::string hook_state = runc_state_json(state, ContainerStatus::Creating).dump();
  PVEKIT_TRY(run_hooks(r.spec.hooks.prestart, "prestart", hook_state));
  return run_hooks(r.spec.hooks.create_runtime, "createRuntime", hook_state);
}

bool wait_gone(const ContainerState& s, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (process_alive(s.pid, s.pid_start_time)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

core::Result<std::unique_ptr<CgroupManager>> LinuxBackend::cgroup_of(const ContainerState& state) const {
  if (state.systemd_unit.empty()) return manager_for(state.cgroup_root, state.cgroup_path);
  return make_systemd_cgroup_manager(state.cgroup_root, state.id, {state.systemd_slice, state.systemd_unit},
                                     driver_.connect_systemd, true);
}

core::Result<std::unique_ptr<CgroupManager>> LinuxBackend::new_cgroup(const LinuxConfig& linux,
                                                                      ContainerState& state) const {
  if (!driver_.systemd) {
    PVEKIT_ASSIGN(state.cgroup_path, resolve_cgroup_path(linux.cgroups_path, state.id));
    return manager_for(cgroup_root_, state.cgroup_path);
  }
  PVEKIT_ASSIGN(auto unit, parse_systemd_cgroups_path(linux.cgroups_path, state.id));
  PVEKIT_ASSIGN(auto layout, detect_cgroup_layout(cgroup_root_));
  if (layout != CgroupLayout::V2)
    return Error(ErrorCategory::Config, "--systemd-cgroup: lxcri's systemd cgroup driver needs a pure cgroup v2 host; " +
                                            cgroup_root_ + " is " + std::string(to_string(layout)) +
                                            " (use the cgroupfs driver)");
  PVEKIT_ASSIGN(state.cgroup_path, systemd_cgroup_path(unit));
  state.systemd_slice = unit.slice;
  state.systemd_unit = unit.unit;
  return make_systemd_cgroup_manager(cgroup_root_, state.id, std::move(unit), driver_.connect_systemd, false);
}

core::Result<ContainerState> LinuxBackend::create(const CreateRequest& r) {
  PVEKIT_TRY(check_supported(r));
  PVEKIT_ASSIGN(LsmSupport lsm, check_lsm(r.spec, lsm_policy_));
  const LinuxConfig& linux = *r.spec.linux;
  ContainerState state{.id = r.id, .bundle = r.bundle, .rootfs = r.rootfs, .annotations = r.spec.annotations};
  state.oci_version = r.spec.oci_version;
  state.cgroup_root = cgroup_root_;
  PVEKIT_ASSIGN(auto cg, new_cgroup(linux, state));
  auto record = [&]() { return r.record_progress ? r.record_progress(state) : core::ok(); };
  PVEKIT_TRY(record());

  std::string fifo = r.state_dir + "/exec.fifo";
  if (::mkfifo(fifo.c_str(), 0622) != 0) return Error::system("create " + fifo, errno);
  // Not left to the umask: an init running as a non-root process.user opens it for writing.
  if (::chmod(fifo.c_str(), 0622) != 0) return Error::system("chmod " + fifo, errno);
  UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo_fd.valid()) return Error::system("open " + fifo, errno);
  PVEKIT_ASSIGN(auto sync, make_sync_pair());

  // Socket activation (as runc): the init gets the LISTEN_FDS descriptors, then
  // --preserve-fds more, and its environment names itself (pid 1) as LISTEN_PID.
  int listen_fds = inherited_listen_fds(::getenv("LISTEN_FDS"), ::getenv("LISTEN_PID"), ::getpid());
  Spec activated;
  if (listen_fds > 0) {
    activated = r.spec;
    activated.process->env.push_back("LISTEN_FDS=" + std::to_string(listen_fds));
    activated.process->env.push_back("LISTEN_PID=1");
  }
  const auto* user = linux.find_namespace("user");
  InitConfig init{listen_fds > 0 ? &activated : &r.spec, r.id, r.bundle, r.rootfs, sync.child.get(),
                  fifo_fd.get(), r.options.no_pivot, r.options.no_new_keyring, user && user->path.empty(),
                  listen_fds + r.options.preserve_fds, cg->container_binds(),
                  r.spec.process->terminal ? r.console_fd : -1, lsm};
  CgroupGuard cg_guard(*cg);
  PVEKIT_TRY(cg->create().wrap("cgroup"));
  if (linux.resources) PVEKIT_TRY(cg->apply(*linux.resources).wrap("cgroup resources"));
  PVEKIT_ASSIGN(UniqueFd own_pid_ns, enter_child_pid_namespace(linux));
  // In a pid namespace others live in, the init is seen from its birth, with
  // host descriptors, root and cwd: not dumpable, so nothing there may ptrace
  // it or open its /proc files (the init stays so until execve).
  if (own_pid_ns.valid() && ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return Error::system("prctl(PR_SET_DUMPABLE)", errno);
  auto spawned = cg->spawn_inside({}, [&] {
    pid_t child = clone_init(clone_flags(linux));
    if (child == 0) {
      sync.parent.reset();
      run_init(init);
    }
    return child;
  });
  Status back = leave_child_pid_namespace(own_pid_ns);
  if (!spawned.ok()) return std::move(spawned).wrap("clone the container init").error();
  pid_t pid = *spawned;
  sync.child.reset();
  ChildGuard child_guard(pid);
  PVEKIT_TRY(back);
  state.pid = pid;
  if (auto st = read_proc_stat(pid)) state.pid_start_time = st->start_time;
  PVEKIT_TRY(record());
  PVEKIT_TRY(prepare_child(r, pid, state));
  PVEKIT_TRY(send_sync(sync.parent.get(), {SyncType::Go, 0, ""}));
  SeccompListenerHandler to_agent;
  if (linux.seccomp)
    to_agent = [&](UniqueFd listener) {
      return send_to_seccomp_agent(*linux.seccomp, runc_state_json(state, ContainerStatus::Creating), pid,
                                   listener.get());
    };
  PVEKIT_TRY(expect_sync(sync.parent.get(), SyncType::Ready, to_agent).wrap("container init"));
  child_guard.release();
  cg_guard.release();
  state.status = ContainerStatus::Created;
  return state;
}

Status LinuxBackend::start(const ContainerState& state, const std::string& state_dir) {
  std::string fifo = state_dir + "/exec.fifo";
  UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + fifo, errno);
  // The init opens the fifo for writing and writes one byte; it may not have
  // got there yet, and it may have died: poll while it lives.
  while (true) {
    pollfd p{fd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 20);
    if (n > 0 && (p.revents & POLLIN)) {
      char c;
      if (::read(fd.get(), &c, 1) == 1) break;
    }
    if (n < 0 && errno != EINTR) return Error::system("poll " + fifo, errno);
    if (!process_alive(state.pid, state.pid_start_time))
      return Error(ErrorCategory::Runtime, "container init exited before it could start");
  }
  // Gone fifo == started (see derive_status).
  if (::unlink(fifo.c_str()) != 0 && errno != ENOENT) return Error::system("remove " + fifo, errno);
  return core::ok();
}

bool LinuxBackend::alive(const ContainerState& state) { return process_alive(state.pid, state.pid_start_time); }

namespace {

// Signals every process of the cgroup while it is frozen, so that none can
// fork a child the signal misses (runc's signalAllProcesses). `stay_frozen`
// leaves a paused container paused. SIGKILL goes through cgroup.kill where
// the kernel has it (v2, Linux 5.14), which needs no freezing and kills a
// frozen cgroup as well, as runc 1.2 does.
Status signal_all(CgroupManager& cg, int signal, bool stay_frozen) {
  if (signal == SIGKILL) {
    PVEKIT_ASSIGN(bool killed, cg.kill_all());
    if (killed) return core::ok();
  }
  if (auto pids = cg.pids(); pids.ok() && pids->empty()) return core::ok();  // nothing to freeze for
  bool frozen = cg.freeze().ok();  // without a freezer: signal as they are
  Status result = core::ok();
  if (auto pids = cg.pids(); !pids.ok()) {
    result = pids.error();
  } else {
    for (pid_t p : *pids)
      if (::kill(p, signal) != 0 && errno != ESRCH && result.ok()) result = Error::system("kill " + std::to_string(p), errno);
  }
  if (frozen && !stay_frozen) {
    Status thawed = cg.thaw();
    if (result.ok()) result = thawed;
  }
  return result;
}

}  // namespace

Status LinuxBackend::kill(const ContainerState& state, int signal, bool all) {
  if (all) {
    PVEKIT_ASSIGN(auto cg, cgroup_of(state));
    // A killed process dies only once thawed.
    return signal_all(*cg, signal, state.status == ContainerStatus::Paused && signal != SIGKILL);
  }
  if (!alive(state)) return Error(ErrorCategory::Conflict, "container not running");
  if (::kill(state.pid, signal) != 0) return Error::system("kill " + std::to_string(state.pid), errno);
  return core::ok();
}

Status LinuxBackend::destroy(const ContainerState& state) {
  if (state.cgroup_path.empty()) {
    // A create killed before it made a cgroup left at most a state directory.
    if (alive(state)) ::kill(state.pid, SIGKILL);
    return core::ok();
  }
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  // A cgroup that is gone has nothing to kill (fine).
  (void)signal_all(*cg, SIGKILL, false);
  if (alive(state)) ::kill(state.pid, SIGKILL);
  if (!wait_gone(state, std::chrono::seconds(10)))
    return Error(ErrorCategory::Runtime, "container init " + std::to_string(state.pid) + " did not exit");
  return cg->destroy().wrap("cgroup");
}

Status LinuxBackend::pause(const ContainerState& state) {
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  return cg->freeze();
}

Status LinuxBackend::resume(const ContainerState& state) {
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  return cg->thaw();
}

core::Result<std::vector<pid_t>> LinuxBackend::pids(const ContainerState& state) {
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  return cg->pids();
}

namespace {

const char* proc_ns_name(const std::string& type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return type.c_str();
}

bool same_namespace(pid_t pid, const std::string& name) {
  struct stat mine{}, theirs{};
  if (::stat(("/proc/self/ns/" + name).c_str(), &mine) != 0) return false;
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/" + name).c_str(), &theirs) != 0) return false;
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

struct JoinNs {
  std::string type;
  UniqueFd fd;
};

// The container init's namespaces that differ from ours, user first and mount
// last (joining mount resets our root, which the exec child replaces anyway).
core::Result<std::vector<JoinNs>> open_namespaces(pid_t pid, const LinuxConfig& linux) {
  std::vector<JoinNs> out;
  auto add = [&](const std::string& type) -> Status {
    std::string name = proc_ns_name(type);
    if (same_namespace(pid, name)) return core::ok();
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::system("open " + path, errno);
    out.push_back({type, std::move(fd)});
    return core::ok();
  };
  if (linux.has_namespace("user")) PVEKIT_TRY(add("user"));
  for (const auto& ns : linux.namespaces)
    if (ns.type != "user" && ns.type != "pid" && ns.type != "mount") PVEKIT_TRY(add(ns.type));
  if (linux.has_namespace("mount")) PVEKIT_TRY(add("mount"));
  return out;
}

struct ExecChild {
  const ExecRequest* request;
  int sync_fd;
  int root_fd;    // O_PATH of /proc/<init>/root
  int pid_ns_fd;  // the init's pid namespace; -1 when it is ours
  std::vector<JoinNs>* namespaces;
  LsmSupport lsm;
};

// Every namespace but pid, then the container's root: after this, nothing the
// process holds or points at (root, cwd, descriptors) is the host's.
Status enter_container(const ExecChild& c) {
  PVEKIT_TRY(expect_sync(c.sync_fd, SyncType::Go));
  for (auto& ns : *c.namespaces) {
    if (::setns(ns.fd.get(), namespace_flag(ns.type)) != 0) return Error::system("join " + ns.type + " namespace", errno);
    ns.fd.reset();
  }
  // The init's root, not the mount namespace's: right with --no-pivot too.
  if (::fchdir(c.root_fd) != 0 || ::chroot(".") != 0) return Error::system("enter the container's root", errno);
  ::close(c.root_fd);
  if (c.pid_ns_fd >= 0) {
    // Affects our children only: the exec process is the first thing the container can see.
    if (::setns(c.pid_ns_fd, CLONE_NEWPID) != 0) return Error::system("join pid namespace", errno);
    ::close(c.pid_ns_fd);
  }
  return core::ok();
}

// The process the container sees: set up as the spec says, then execve.
[[noreturn]] void run_exec_process(const ExecChild& c) {
  const ExecRequest& r = *c.request;
  PreparedProcess prepared;
  Status s = expect_sync(c.sync_fd, SyncType::Go);
  if (s.ok() && r.console_fd >= 0) {
    s = setup_console(r.console_fd).wrap("terminal");
    ::close(r.console_fd);
  }
  // Descriptors first: after the seccomp filter, only what runc's init needs too.
  if (s.ok()) s = prepare_fds(r.preserve_fds);
  if (s.ok()) s = prepare_process(r.spec, prepared, c.sync_fd, c.lsm);
  if (s.ok()) s = exec_process(*r.spec.process, prepared);
  send_sync_error(c.sync_fd, s.error());
  _exit(1);
}

// The intermediate child (runc's nsexec stages): it lives in our pid namespace,
// so no process of the container can see it while it still holds host
// descriptors, root and cwd; it is not dumpable, and neither is the exec
// process it forks (that lasts until execve). It reports the exec process's
// pid and exits; the exec process is reparented to us (a child subreaper).
[[noreturn]] void run_exec_child(const ExecChild& c) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::vector<int> keep = {c.sync_fd, c.root_fd, c.pid_ns_fd, c.request->console_fd};
  for (const auto& ns : *c.namespaces) keep.push_back(ns.fd.get());
  close_fds_from(3 + c.request->preserve_fds, keep);
  reset_signals();
  Status s = enter_container(c);
  if (s.ok()) {
    pid_t pid = ::fork();
    if (pid == 0) run_exec_process(c);
    if (pid > 0) {
      s = send_sync(c.sync_fd, {SyncType::Pid, 0, std::to_string(pid)});
      _exit(s.ok() ? 0 : 1);
    }
    s = Error::system("fork the exec process", errno);
  }
  send_sync_error(c.sync_fd, s.error());
  _exit(1);
}

core::Result<UniqueFd> open_pid_namespace(pid_t init) {
  if (same_namespace(init, "pid")) return UniqueFd();
  std::string path = "/proc/" + std::to_string(init) + "/ns/pid";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + path, errno);
  return fd;
}

// Reaps the intermediate child and returns the exec process's pid it reported.
core::Result<pid_t> take_exec_pid(int sync_fd, pid_t intermediate) {
  PVEKIT_ASSIGN(auto msg, expect_message(sync_fd, SyncType::Pid));
  auto pid = core::parse_int(msg.payload);
  if (!pid || *pid <= 0) return Error(ErrorCategory::Runtime, "exec: bad pid from the intermediate child: " + msg.payload);
  int status = 0;
  while (::waitpid(intermediate, &status, 0) < 0)
    if (errno != EINTR) return Error::system("wait for the intermediate exec child", errno);
  return static_cast<pid_t>(*pid);
}

}  // namespace

core::Result<pid_t> LinuxBackend::exec(const ContainerState& state, const ExecRequest& r) {
  if (!r.spec.process || !r.spec.linux) return Error(ErrorCategory::Config, "exec: the spec has no process or linux section");
  PVEKIT_ASSIGN(LsmSupport lsm, check_lsm(r.spec, lsm_policy_));
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  PVEKIT_ASSIGN(auto namespaces, open_namespaces(state.pid, *r.spec.linux));
  PVEKIT_ASSIGN(UniqueFd pid_ns, open_pid_namespace(state.pid));
  std::string root_path = "/proc/" + std::to_string(state.pid) + "/root";
  UniqueFd root(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Error::system("open " + root_path, errno);
  // The descriptors above must belong to the recorded init, not a reused pid.
  if (!alive(state)) return Error(ErrorCategory::Conflict, "container " + state.id + " is not running");
  // The exec process outlives its parent, the intermediate child: as a
  // subreaper we become its parent and can wait for it.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return Error::system("become a child subreaper", errno);
  PVEKIT_ASSIGN(auto sync, make_sync_pair());
  // The exec process inherits the intermediate's cgroup.
  auto spawned = cg->spawn_inside(r.sub_cgroups, [&] {
    pid_t child = ::fork();
    if (child == 0) {
      sync.parent.reset();
      run_exec_child({&r, sync.child.get(), root.get(), pid_ns.get(), &namespaces, lsm});
    }
    return child;
  });
  if (!spawned.ok()) return std::move(spawned).wrap("fork the exec process in the container's cgroup").error();
  pid_t intermediate = *spawned;
  sync.child.reset();
  ChildGuard intermediate_guard(intermediate);
  PVEKIT_TRY(send_sync(sync.parent.get(), {SyncType::Go, 0, ""}));
  PVEKIT_ASSIGN(pid_t pid, take_exec_pid(sync.parent.get(), intermediate).wrap("exec"));
  intermediate_guard.release();
  ChildGuard guard(pid);
  // The intermediate has exited, so the socket is the exec process's alone.
  PVEKIT_TRY(send_sync(sync.parent.get(), {SyncType::Go, 0, ""}));
  SeccompListenerHandler to_agent;
  if (r.spec.linux->seccomp)
    to_agent = [&](UniqueFd listener) {
      return send_to_seccomp_agent(*r.spec.linux->seccomp, runc_state_json(state, ContainerStatus::Running), pid,
                                   listener.get());
    };
  PVEKIT_TRY(expect_exec(sync.parent.get(), to_agent).wrap("exec"));
  guard.release();
  return pid;
}

Status LinuxBackend::update(const ContainerState& state, const ResourceUpdate& u) {
  PVEKIT_ASSIGN(auto cg, cgroup_of(state));
  return cg->apply(u.resources).wrap("update cgroup " + state.cgroup_path);
}

core::Result<core::Json> LinuxBackend::stats(const ContainerState& state) {
  PVEKIT_ASSIGN(auto layout, detect_cgroup_layout(state.cgroup_root));
  PVEKIT_ASSIGN(auto stats, read_cgroup_stats(layout, state.cgroup_root, state.cgroup_path));
  return stats_json(stats);
}

}  // namespace pvekit::oci::linux
