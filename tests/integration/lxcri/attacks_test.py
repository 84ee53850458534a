#!/usr/bin/python3
"""Attacks on the runtime from a hostile bundle or a hostile container.

Runs busybox-static containers with the runtime given by --runtime (lxcri
or runc, the control) and checks that nothing reaches the host:

  symlink_loop      a mount destination below a rootfs symlink looping onto itself
  symlink_targets   mount destinations below absolute, relative and /proc magic
                    symlinks in the rootfs (to /, /etc, /proc, /proc/self/root, ...)
  symlink_race      a host process swapping a rootfs directory with a symlink (to a
                    host directory, then to a rootfs directory by its host path)
                    while containers with mounts below it are created and deleted
  exec_ptrace_race  a container with CAP_SYS_PTRACE scanning /proc/<pid>/{fd,cwd,root}
                    of every process while the host runs `exec` 50 times
  hooks_hostile     a missing hook program, hooks that never read their state and
                    never end (timeout), with a small and a large state
  fd_and_cwd        process.cwd /proc/self/fd/N and reads through /proc/self/fd/N
                    (CVE-2024-21626 class)
  seccomp_minimal   a default-deny seccomp profile allowing only what runc needs
                    after loading it (no close_range), with and without noNewPrivileges
  interrupted       a create killed during its prestart hook, and a bare state directory:
                    list shows them, delete --force removes everything
  fork_bomb         kill --all TERM of a container whose processes fork as fast as they
                    can, 5 rounds (only freezing the cgroup while signalling stops it);
                    kill --all KILL and delete --force of one
  exe_overwrite     /proc/<pid>/exe of the runtime's process in the container held
                    and reopened for writing after it exits (CVE-2019-5736), with
                    environment variables that once switched lxcri's protection off

runc is the control: every scenario passes with it. Where runc refuses a
bundle, the scenario accepts a refusal with a message that leaves nothing
behind, or a run after which nothing happened on the host; a runtime that
lets the attack through fails. Every host path checked carries the run's
unique name. Uses lxcri_test.py's harness (temp bundle and state root, own
cgroup parent, cleanup even on failure) and skips (77) the same way.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxcri_test import Failure, check, expect_failure, run_main  # noqa: E402

# Enough `..` to climb from any directory on this host to its root (a walk
# starting inside the container stops at the container's root).
UP = "../" * 24


def is_lxcri(env):
    return os.path.basename(env.runtime) == "lxcri"


def unique(env):
    """A name no other run uses, for every host path a scenario checks."""
    return "atk-" + env.cg_parent


def host_mountinfo():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def host_paths_named(env, name, extra=()):
    """Host paths containing `name`: in the usual places of the host and anywhere
    in the scenario's temp dir except the rootfs (where the container may write)."""
    found = [p for p in ["/" + name, "/etc/" + name, "/tmp/" + name, "/run/" + name, "/var/tmp/" + name,
                         os.path.join(os.getcwd(), name)] + list(extra) if os.path.lexists(p)]
    rootfs = os.path.realpath(env.rootfs)
    for top, dirs, files in os.walk(env.tmp):
        if os.path.realpath(top) == rootfs:
            dirs[:] = []
            continue
        found += [os.path.join(top, n) for n in dirs + files if name in n]
    return found


def remove_host_paths(paths):
    """Removes what a runtime under test wrongly made on the host (mounts first)."""
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            subprocess.run(["umount", "-R", "-l", path], capture_output=True)
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)


def check_host_clean(env, name, extra=()):
    """Nothing named `name` on the host, and no host mount naming it; removes what it finds."""
    found = host_paths_named(env, name, extra)
    mounts = [line for line in host_mountinfo().splitlines() if name in line]
    remove_host_paths(found)
    check(not found, "the container reached the host: %s" % found)
    check(not mounts, "a container mount appeared on the host: %s" % mounts)


def attempt(env, cid, script, patch=None):
    """Runs `sh -c script` after printing a sentinel. Returns the run's stdout if the
    container ran, None if the runtime refused the bundle (with a message, leaving nothing)."""
    sentinel = "ran-" + cid
    env.config(cid, ["sh", "-c", "echo %s; %s" % (sentinel, script)], patch=patch or (lambda cfg: None))
    env.ids.add(cid)
    p = env.rt("run", "--bundle", env.bundle, cid)
    if sentinel not in p.stdout.split():
        expect_failure(p, "the refused bundle %s" % cid)
    env.rt("delete", "--force", cid)
    env.assert_nothing_left(cid)
    return p.stdout if sentinel in p.stdout.split() else None


def tmpfs(dest):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}


def bind(src, dest):
    return {"destination": dest, "type": "none", "source": src, "options": ["bind"]}


def add_mounts(*mounts):
    def patch(cfg):
        cfg["mounts"].extend(mounts)
    return patch


# ---------------------------------------------------------------------------
# Symlinks in the rootfs


def scenario_symlink_loop(env):
    # rootfs/tmp -> /tmp loops onto itself inside the root; outside it, it is the host's /tmp.
    name = unique(env)
    shutil.rmtree(os.path.join(env.rootfs, "tmp"))
    os.symlink("/tmp", os.path.join(env.rootfs, "tmp"))
    try:
        # runc refuses: "too many levels of symbolic links".
        attempt(env, "loop", "true", add_mounts(tmpfs("/tmp/%s/y" % name)))
    finally:
        check_host_clean(env, name)


def scenario_symlink_targets(env):
    name = unique(env)
    src = os.path.join(env.tmp, "host", "bind-src")  # Env.cleanup unmounts everything under host/
    os.makedirs(src)
    with open(os.path.join(src, "bind-marker"), "w") as f:
        f.write("bind-marker\n")
    # link -> (target, where a mount below it lands in the container, or None for "anywhere in the root")
    links = {
        "l_abs_root": ("/", ""), "l_rel_root": ("../../../../../../../..", ""),
        "l_abs_etc": ("/etc", "/etc"), "l_rel_etc": ("../../../../../../../../etc", "/etc"),
        "l_abs_proc": ("/proc", None), "l_rel_proc": ("../../../../../../../../proc", None),
        # Magic links of the container's /proc: the runtime's own root and cwd are the host's.
        "evil_self_root": ("/proc/self/root/", None), "evil_1_root": ("/proc/1/root", None),
        "evil_self_cwd": ("/proc/self/cwd", None), "evil_1_cwd": ("/proc/1/cwd/", None),
        "evil_self_fd": ("/proc/self/fd/3", None),
    }
    for link, (target, _) in links.items():
        os.symlink(target, os.path.join(env.rootfs, link))
    extra = ["/etc/%s-bind" % name, "/%s-bind" % name, os.path.join(env.bundle, name), "/proc/" + name]
    try:
        for n, (link, (target, lands)) in enumerate(links.items()):
            dest = "/%s/%s" % (link, name)
            probe = "grep -q '/%s ' /proc/self/mountinfo && echo tmpfs-in-root" % name
            if lands is not None:
                probe += ("; grep -q ' %s/%s ' /proc/self/mountinfo && echo tmpfs-inside; "
                         "cat %s/%s-bind/bind-marker" % (lands, name, lands, name))
            out = attempt(env, "link%d" % n, probe, add_mounts(tmpfs(dest), bind(src, dest + "-bind")))
            check_host_clean(env, name, extra)
            if out is not None:
                check("tmpfs-in-root" in out.split(), "the mount below %s -> %s is not in the container: %r"
                      % (link, target, out))
                if lands is not None:
                    check("tmpfs-inside" in out.split() and "bind-marker" in out.split(),
                          "mounts below %s -> %s did not land in the container at %s/%s: %r"
                          % (link, target, lands, name, out))
    finally:
        remove_host_paths(host_paths_named(env, name, extra))


# The racer dies with the test (PR_SET_PDEATHSIG): a test runner killed
# with SIGKILL must not leave it spinning.
RACER = """
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[3]):
    sys.exit("the test exited before the racer started")
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
while libc.renameat2(-100, a, -100, b, 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
    pass
sys.exit("renameat2: errno %d" % ctypes.get_errno())
"""


def only_empty_dirs(path):
    """Whether `path` holds nothing but empty directories (what a mkdir made, no mount, no file)."""
    for top, dirs, files in os.walk(path):
        if files or os.path.ismount(top):
            return False
    return True


def scenario_symlink_race(env):
    """A racer swaps rootfs/race (a directory) with a symlink (renameat2
    RENAME_EXCHANGE) while containers with a tmpfs at /race/m and a bind at
    /race/b are created and deleted. The symlink points first at a host
    directory, then at a directory of the rootfs by its host path: a mount
    that followed it would show at /elsewhere in the container."""
    name = unique(env)
    host_dir = os.path.join(env.tmp, "race-host-" + name)
    elsewhere = os.path.join(env.rootfs, "elsewhere")
    src = os.path.join(env.tmp, "host", "bind-src")
    for d in (host_dir, elsewhere, src):
        os.makedirs(d)
    race, alt = os.path.join(env.rootfs, "race"), os.path.join(env.rootfs, "race-alt")
    mounts = add_mounts(tmpfs("/race/m"), bind(src, "/race/b"))
    attempts = refused = 0
    deadline = time.time() + 20
    for target in (host_dir, elsewhere):
        for path in (race, alt):
            if os.path.islink(path):
                os.unlink(path)
            elif os.path.isdir(path):
                shutil.rmtree(path)
        os.makedirs(race)
        os.symlink(target, alt)
        racer = subprocess.Popen(["/usr/bin/python3", "-c", RACER, race, alt, str(os.getpid())],
                                 stderr=subprocess.PIPE)
        try:
            time.sleep(0.1)
            for _ in range(15):
                if racer.poll() is not None or time.time() > deadline:
                    break
                cid = "race%d" % attempts
                attempts += 1
                env.config(cid, ["true"], patch=mounts)
                p = env.create(cid)
                if p.returncode != 0:
                    refused += 1
                    check(p.stderr.strip() != "", "create %s failed without a message" % cid)
                else:
                    with open("/proc/%d/mountinfo" % env.state(cid)["pid"]) as f:
                        inside = [line for line in f.read().splitlines() if " /elsewhere/" in line]
                    check(not inside, "a mount followed the swapped symlink to /elsewhere: %s" % inside)
                check(target not in host_mountinfo(), "a container mount appeared at %s on the host" % target)
                # runc 1.1.5 (the control) still makes empty directories through the
                # symlink (CVE-2024-45310, fixed in runc 1.1.14); lxcri must not.
                made = os.listdir(target)
                check(only_empty_dirs(target) and not (made and is_lxcri(env)),
                      "the mounts below the swapped symlink reached %s: %s" % (target, made))
                env.rt("delete", "--force", cid)
                env.assert_nothing_left(cid)
            if racer.poll() is not None:
                check(False, "the racer stopped: %s" % racer.stderr.read())
        finally:
            racer.kill()
            racer.wait()
            racer.stderr.close()
            if os.path.isdir(host_dir):
                remove_host_paths([os.path.join(host_dir, sub) for sub in os.listdir(host_dir)])
    check(attempts >= 10, "only %d attempts in the time allowed" % attempts)
    print("symlink_race: %d attempts, %d refused" % (attempts, refused))


# ---------------------------------------------------------------------------
# A container with CAP_SYS_PTRACE watching the runtime's exec


def rt_in(env, cwd, *args, timeout=30):
    """env.rt, run from the directory `cwd`."""
    cmd = env.command(*args)
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        rc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd).returncode
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, rc, out.read(), err.read())


# For every directory reachable through /proc/<pid>/{cwd,root,fd/N}: a climb to
# /etc/hostname (the rootfs has none, so any content is the host's) and the marker
# file of the directory the runtime is invoked from; writes through it land, if
# anywhere, on the host and are looked for there.
SCANNER = r'''
F=/dev/shm/found
: > $F
: > /dev/shm/wrote
i=0
while [ ! -e /dev/shm/stop ]; do
  i=$((i+1))
  for d in /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/fd/*; do
    [ -d "$d/" ] 2>/dev/null || continue
    c=$(cat "$d/%(up)setc/hostname" 2>/dev/null) && echo "host /etc/hostname via $d: $c" >> $F
    c=$(cat "$d/%(marker)s" 2>/dev/null) && echo "marker via $d: $c" >> $F
    c=$(cat "$d/%(up)s%(inv)s/%(marker)s" 2>/dev/null) && echo "marker via $d/..: $c" >> $F
    l=$(ls -a "$d/" 2>/dev/null) && case "$l" in *%(marker)s*) echo "marker listed in $d" >> $F;; esac
    touch "$d/pwned-%(name)s" 2>/dev/null && readlink "$d" >> /dev/shm/wrote
    touch "$d/../pwned-%(name)s" 2>/dev/null && echo "$(readlink "$d")/.." >> /dev/shm/wrote
  done
done
echo "scanner-stopped after $i rounds" >> $F
'''


def scenario_exec_ptrace_race(env):
    name = unique(env)
    invoke = os.path.join(env.tmp, "invoke")  # the runtime's cwd for exec, with a marker file
    os.makedirs(invoke)
    marker = "marker-" + name
    with open(os.path.join(invoke, marker), "w") as f:
        f.write("marker-content-%s\n" % name)
    ptrace = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"]

    def patch(cfg):
        cfg["hostname"] = name[:63]
        for s in ("bounding", "effective", "permitted", "inheritable"):
            cfg["process"]["capabilities"][s] = ptrace
        cfg["process"]["noNewPrivileges"] = False

    script = SCANNER % {"up": UP, "marker": marker, "inv": invoke.lstrip("/"), "name": name}
    env.config("ptr", ["sh", "-c", "( %s ) & exec sleep 1000" % script], patch=patch)
    p = env.create("ptr")
    check(p.returncode == 0, "create failed: %s" % p.stderr)
    env.rt("start", "ptr", check_ok=True)
    with open("/etc/hostname") as f:
        host_hostname = f.read().strip()
    try:
        time.sleep(0.2)
        for i in range(50):
            p = rt_in(env, invoke, "exec", "ptr", "true")
            check(p.returncode == 0, "exec %d failed (%d): %s" % (i, p.returncode, p.stderr.strip()))
        p = env.rt("exec", "ptr", "sh", "-c", "cat /proc/self/status | grep CapEff; hostname", check_ok=True)
        check(p.stdout.split()[-1] == name[:63], "the container's hostname is not its own: %r" % p.stdout)
        check(int(p.stdout.split()[1], 16) & (1 << 19), "CAP_SYS_PTRACE is not effective in exec: %r" % p.stdout)
        env.rt("exec", "ptr", "touch", "/dev/shm/stop", check_ok=True)
        deadline = time.time() + 10
        found = ""
        while "scanner-stopped" not in found and time.time() < deadline:
            time.sleep(0.1)
            found = env.rt("exec", "ptr", "cat", "/dev/shm/found", check_ok=True).stdout
        check("scanner-stopped" in found, "the scanner did not stop: %r" % found)
        lines = [line for line in found.splitlines() if not line.startswith("scanner-stopped")]
        rounds = int(found.split("scanner-stopped after ")[1].split()[0])
        check(rounds >= 10, "the scanner ran only %d rounds during the execs" % rounds)
        print("exec_ptrace_race: %d scanner rounds" % rounds)
        hosts = [line for line in lines if line.endswith(": " + host_hostname)]
        check(not lines, "the container reached host files during exec (%d lines, %d showing the host's "
              "hostname %r): %s" % (len(lines), len(hosts), host_hostname, lines[:5]))
    finally:
        # Where the scanner could write (inside the container, or on the host if a
        # descriptor leaked): look there on the host, and in the usual places.
        wrote = env.rt("exec", "ptr", "cat", "/dev/shm/wrote").stdout.split("\n")
        extra = [os.path.normpath(os.path.join(d, "pwned-" + name)) for d in set(wrote) if d.startswith("/")]
        pwned = host_paths_named(env, "pwned-" + name, extra)
        remove_host_paths(pwned)
    check(not pwned, "the container wrote on the host through a descriptor: %s" % pwned)
    env.rt("delete", "--force", "ptr", check_ok=True)
    env.assert_nothing_left("ptr")


# ---------------------------------------------------------------------------
# Hooks


def hook_processes(arg):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if arg.encode() in f.read().split(b"\0"):
                        found.append(int(pid))
            except OSError:
                pass
    return found


def scenario_hooks_hostile(env):
    name = unique(env)
    # (a) A hook program that does not exist.
    for stage in ("prestart", "createRuntime"):
        cid = "missing-" + stage.lower()
        missing = "/nonexistent-%s/hook" % name
        env.config(cid, ["true"], patch=lambda cfg: cfg.update(hooks={stage: [{"path": missing}]}))
        p = env.create(cid)
        expect_failure(p, "create with a missing %s hook" % stage)
        if is_lxcri(env):
            check("no such file" in p.stderr.lower() or "enoent" in p.stderr.lower(),
                  "the error for a missing hook does not say why: %s" % p.stderr.strip())
        env.assert_nothing_left(cid)

    # (b) Hooks that never read their state on stdin and never end: the timeout
    # ends them, also when the state is larger than a pipe's buffer.
    for stage in ("prestart", "createRuntime"):
        for big in (False, True):
            cid = "stuck-%s%s" % (stage.lower(), "-big" if big else "")
            arg = "1000.%d%d" % (os.getpid(), int(time.time() * 1000) % 1000000)
            hook = {"path": "/bin/busybox", "args": ["busybox", "sleep", arg], "timeout": 2}

            def patch(cfg):
                cfg["hooks"] = {stage: [hook]}
                if big:
                    cfg["annotations"] = {"org.pvekit.test.padding": "x" * (1 << 20)}

            env.config(cid, ["true"], patch=patch)
            began = time.time()
            env.ids.add(cid)
            try:
                try:
                    p = env.rt("create", "--bundle", env.bundle, cid, timeout=25)
                except subprocess.TimeoutExpired:
                    raise Failure("create with a stuck %s hook (%s state) did not return in 25 s"
                                  % (stage, "big" if big else "small"))
                took = time.time() - began
                expect_failure(p, "create with a %s hook past its timeout (%s state)"
                               % (stage, "big" if big else "small"))
                check(took < 20, "create with a stuck %s hook took %.1f s" % (stage, took))
                env.assert_nothing_left(cid)
                time.sleep(0.2)
                check(not hook_processes(arg), "the stuck %s hook is still running: %s" % (stage, hook_processes(arg)))
            finally:
                for pid in hook_processes(arg):
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass


# ---------------------------------------------------------------------------
# Descriptors as cwd and paths (CVE-2024-21626 class)


def scenario_fd_and_cwd(env):
    name = unique(env)
    marker = "marker-" + name
    content = "marker-content-" + name
    with open(os.path.join(env.tmp, marker), "w") as f:
        f.write(content + "\n")
    via_host = UP + env.tmp.lstrip("/") + "/" + marker
    for n in range(3, 9):
        cid = "cwd%d" % n

        def cwd(cfg, n=n):
            cfg["process"]["cwd"] = "/proc/self/fd/%d" % n

        script = "pwd; cat %s; ls -a %s; cat %setc/hostname" % (via_host, UP + env.tmp.lstrip("/"), UP)
        out = attempt(env, cid, script, cwd)
        if out is not None:
            check(content not in out and marker not in out and "unreachable" not in out,
                  "process.cwd /proc/self/fd/%d is outside the container: %r" % (n, out))
            lines = out.splitlines()
            check(lines[1:2] != [] and lines[1].startswith("/"), "process.cwd /proc/self/fd/%d: pwd %r" % (n, out))

        cid = "cat%d" % n
        env.config(cid, ["cat", "/proc/self/fd/%d/%s" % (n, via_host), "/proc/self/fd/%d/%setc/hostname" % (n, UP)])
        env.ids.add(cid)
        p = env.rt("run", "--bundle", env.bundle, cid)
        check(p.stdout.strip() == "", "reading through /proc/self/fd/%d showed host files: %r" % (n, p.stdout))
        env.rt("delete", "--force", cid)
        env.assert_nothing_left(cid)


# ---------------------------------------------------------------------------
# Seccomp

# Found with runc 1.1.5 (Go 1.19) on this project's machines (strace of its init
# after the filter is loaded, then trimmed one name at a time while 2 x 15 runs
# with and without noNewPrivileges still passed; the final list held for 2 x 100
# runs): what runc's init calls after loading the filter (closing descriptors,
# capabilities, user, cwd, execve) and busybox `true` (static glibc start-up).
# The Go runtime's signal, scheduling, memory and thread calls in the second
# part are needed only now and then (a preemption signal needs rt_sigreturn,
# a wakeup futex) and stay. close_range is deliberately absent: a runtime
# that closes descriptors with it after loading the filter fails here.
MINIMAL_SYSCALLS = [
    # runc's init and busybox true
    "arch_prctl", "capget", "capset", "chdir", "close", "execve", "exit_group", "fstat", "fstatfs", "getcwd",
    "getdents64", "getppid", "getuid", "mprotect", "newfstatat", "openat", "prctl", "read", "setgid", "setgroups",
    "setuid", "write",
    # the Go runtime (and glibc's TLS block: mmap)
    "futex", "mmap", "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "sched_yield", "nanosleep", "tgkill", "gettid",
    "getpid", "munmap", "madvise", "clone", "exit",
]


def scenario_seccomp_minimal(env):
    check("close_range" not in MINIMAL_SYSCALLS, "the list must not allow close_range")
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": MINIMAL_SYSCALLS, "action": "SCMP_ACT_ALLOW"}]}
    for nnp in (False, True):
        cid = "min-nnp" if nnp else "min-privs"
        env.config(cid, ["true"], seccomp=profile, no_new_privileges=nnp)
        env.ids.add(cid)
        p = env.rt("run", "--bundle", env.bundle, cid)
        check(p.returncode == 0, "true under the minimal profile (noNewPrivileges %s) exited %d: %s"
              % (nnp, p.returncode, p.stderr.strip()))
        env.assert_nothing_left(cid)


def scenario_interrupted(env):
    """A create killed (SIGKILL) while its prestart hook runs: `list` shows the
    container, `delete --force` removes everything it made, and the id can be
    created again. A state directory alone (killed earlier still) as well."""
    hook = {"path": "/bin/busybox", "args": ["busybox", "sleep", "30"]}
    env.config("cut", ["true"], patch=lambda cfg: cfg.setdefault("hooks", {}).update(prestart=[hook]))
    env.ids.add("cut")
    cmd = env.command("create", "--bundle", env.bundle, "cut")
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=null, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not env.cgroup_dirs_left():
            time.sleep(0.02)
        check(env.cgroup_dirs_left(), "create never got to its cgroup")
        time.sleep(0.3)  # inside the hook
    finally:
        proc.kill()
        proc.wait()
    # runc writes its state only at the end of create: it neither lists the
    # container nor finds its cgroups to remove (measured with runc 1.1.5:
    # every controller's cgroup stays). lxcri must do both.
    if is_lxcri(env):
        check("cut" in env.list_ids(), "list does not show the interrupted container: %s" % env.list_ids())
    p = env.rt("delete", "--force", "cut")
    check(p.returncode == 0, "delete --force of the interrupted container: %s" % p.stderr.strip())
    time.sleep(0.2)
    if is_lxcri(env):
        env.assert_nothing_left("cut")
    else:
        env.remove_leftovers_of("cut")
    env.config("cut", ["true"])
    p = env.rt("run", "--bundle", env.bundle, "cut")
    check(p.returncode == 0, "the id cannot be used again: %s" % p.stderr.strip())
    env.assert_nothing_left("cut")

    # Only the directory (a create killed right after making it).
    os.makedirs(os.path.join(env.root, "bare"))
    env.ids.add("bare")
    if is_lxcri(env):
        check("bare" in env.list_ids(), "list does not show a bare state directory")
    p = env.rt("delete", "--force", "bare")
    check(p.returncode == 0, "delete --force of a bare state directory: %s" % p.stderr.strip())
    check(not os.path.exists(os.path.join(env.root, "bare")), "delete --force left the bare state directory")


# Eight chains of shells, each forking a child that does the same and waiting
# for it, down to the pids limit, where forks fail and the deepest shells exit
# and are forked again at once: about 120 processes, and a pid freed anywhere
# is taken by a new shell within a fork's time. The init, as its pid
# namespace's init, does not get the runtime's SIGTERM; it waits (so reaps
# orphans) while its chains live, then idles on a fifo: a fork would fail at
# the pids limit and end it.
FORK_BOMB = ("exec 2>/dev/null; mkfifo /dev/idle; exec 3<>/dev/idle; "
             "w() { while :; do (w); done; }; "
             "i=0; while [ $i -lt 8 ]; do (w) & i=$((i+1)); done; "
             "wait; while :; do read -t 1 x <&3; done")
FORK_BOMB_ROUNDS = 10
PF_EXITING = 0x4


def bomb_processes(env, cid, init_pid):
    """The container's processes other than its init."""
    try:
        with open(os.path.join(env.cgroup_dir(cid, "pids"), "cgroup.procs")) as f:
            return [int(x) for x in f.read().split() if int(x) != init_pid]
    except OSError:
        return []


def not_signalled(pids, signal):
    """The processes among `pids` that are alive, not exiting, and have neither
    `signal` nor SIGKILL pending (the kernel turns a fatal signal into SIGKILL)."""
    missed = []
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/status" % pid) as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue  # gone
        pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
        if fields[0] in ("Z", "X") or int(fields[6]) & PF_EXITING:
            continue
        if pending & (1 << (signal - 1) | 1 << (9 - 1)):
            continue
        missed.append(pid)
    return missed


def start_bomb(env, cid):
    env.config(cid, ["sh", "-c", FORK_BOMB], resources={"pids": {"limit": 128}})
    p = env.create(cid)
    check(p.returncode == 0, "create %s: %s" % (cid, p.stderr.strip()))
    env.rt("start", cid, check_ok=True)
    init_pid = env.state(cid)["pid"]
    deadline = time.time() + 10  # slower on a loaded machine
    while len(bomb_processes(env, cid, init_pid)) < 64 and time.time() < deadline:
        time.sleep(0.05)
    check(len(bomb_processes(env, cid, init_pid)) >= 64,
          "the fork bomb did not grow to 64 processes in 10 s: %d" % len(bomb_processes(env, cid, init_pid)))
    return init_pid


def scenario_fork_bomb(env):
    """kill --all signals every process of a container whose processes fork
    as fast as they can, including children forked while the runtime signals:
    that needs the cgroup frozen while signalling (runc's signalAllProcesses).
    A runtime that reads cgroup.procs and signals the pids as they run misses
    the children forked meanwhile, and those fork on: the bomb survives.
    SIGTERM, so that the kernel's pid namespace teardown (which SIGKILL of the
    init starts) does not do the runtime's work. Then kill --all KILL and
    delete --force of a running bomb leave nothing."""
    for n in range(1, FORK_BOMB_ROUNDS + 1):
        cid = "bomb%d" % n
        init_pid = start_bomb(env, cid)
        p = env.rt("kill", "--all", cid, "TERM")
        check(p.returncode == 0, "kill --all TERM: %s" % p.stderr.strip())
        # At once: a process the runtime signalled has SIGTERM pending or is
        # exiting, and cannot fork any more; one forked while it signalled has not.
        missed = not_signalled(bomb_processes(env, cid, init_pid), signal.SIGTERM)
        if missed:
            # One that has just taken the signal but not yet begun to exit
            # shows neither; it is gone a moment later, a missed one is not.
            time.sleep(0.5)
            missed = not_signalled(missed, signal.SIGTERM)
        check(not missed, "round %d: kill --all TERM returned with %d processes not signalled (forked while "
              "it signalled)" % (n, len(missed)))
        deadline = time.time() + 3
        while bomb_processes(env, cid, init_pid) and time.time() < deadline:
            time.sleep(0.05)
        left = bomb_processes(env, cid, init_pid)
        check(not left, "round %d: %d processes still running 3 s after kill --all TERM" % (n, len(left)))
        check(env.status(cid) == "running", "round %d: the init did not outlive kill --all TERM" % n)
        env.rt("delete", "--force", cid, check_ok=True)
        env.assert_nothing_left(cid)

    init_pid = start_bomb(env, "bombk")
    p = env.rt("kill", "--all", "bombk", "KILL")
    check(p.returncode == 0, "kill --all KILL: %s" % p.stderr.strip())
    deadline = time.time() + 5
    while time.time() < deadline and env.processes_in_rootfs():
        time.sleep(0.05)
    check(not env.processes_in_rootfs(), "kill --all KILL left processes: %s" % env.processes_in_rootfs())
    env.rt("delete", "--force", "bombk", check_ok=True)
    env.assert_nothing_left("bombk")

    start_bomb(env, "bombd")
    p = env.rt("delete", "--force", "bombd")
    check(p.returncode == 0, "delete --force: %s" % p.stderr.strip())
    env.assert_nothing_left("bombd")


# Environment variables that switched the protection off in lxcri's past (a
# caller's environment may carry anything).
BYPASS_ENV = {"_LXCRI_MEMFD_CLONED": "1", "_LXCRI_ORIGINAL_EXE": "/nonexistent"}


def scenario_exe_overwrite(env):
    """CVE-2019-5736: hold /proc/<pid>/exe of the runtime's own process in the
    container, wait for it to exit, then reopen it for writing. The runtime's
    binary must stay unwritable and unchanged, whatever the caller's environment."""
    with open(env.runtime, "rb") as f:
        before = f.read()
    env.config("exe", ["sleep", "1000"])
    env.ids.add("exe")
    saved = dict(os.environ)
    os.environ.update(BYPASS_ENV)
    try:
        p = env.create("exe")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    check(p.returncode == 0, "create failed: %s" % p.stderr.strip())
    pid = env.state("exe")["pid"]
    held = os.open("/proc/%d/exe" % pid, os.O_PATH)
    try:
        check(os.path.realpath("/proc/%d/exe" % pid) != os.path.realpath(env.runtime) or
              os.statvfs("/proc/%d/exe" % pid).f_flag & os.ST_RDONLY,
              "the init's /proc/<pid>/exe is the runtime's writable binary")
        env.rt("delete", "--force", "exe", check_ok=True)
        try:
            fd = os.open("/proc/self/fd/%d" % held, os.O_WRONLY)
        except OSError:
            fd = None
        if fd is not None:
            os.close(fd)
            raise Failure("the runtime's exe, held through /proc/<pid>/exe, reopened for writing after exit")
    finally:
        os.close(held)
    with open(env.runtime, "rb") as f:
        check(f.read() == before, "the runtime's binary changed")
    env.assert_nothing_left("exe")


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


if __name__ == "__main__":
    sys.exit(run_main(SCENARIOS, label="attacks_"))
