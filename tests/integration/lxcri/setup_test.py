#!/usr/bin/python3
"""What config.json asks of the container's set-up, checked on real containers.

Namespaces (new, joined by path, user with id mappings), mounts (bind/rbind
options, tmpfs, propagation, --no-pivot), devices, hooks (order, state on
stdin, failures) and descriptors (--pid-file, --preserve-fds, LISTEN_FDS,
session keyring), each run with the runtime under test and with runc as the
control. Reuses lxcri_test.py's harness: every scenario removes what it made,
and skips (77) with the reason when the host lacks something.
"""

import ctypes
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxcri_test import check, expect_failure, run_main, skip  # noqa: E402

NAMESPACES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup"}


def write_config(env, mutate):
    """Applies `mutate(cfg)` to the bundle's config.json (for keys config() has no argument for)."""
    path = os.path.join(env.bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    mutate(cfg)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def ns_inode(pid, name):
    return os.stat("/proc/%s/ns/%s" % (pid, name)).st_ino


def run_ok(env, cid):
    env.ids.add(cid)
    p = env.rt("run", "--bundle", env.bundle, cid)
    check(p.returncode == 0, "run %s exited %d: %s" % (cid, p.returncode, p.stderr.strip()))
    return p.stdout


def started(env, cid):
    p = env.create(cid)
    check(p.returncode == 0, "create %s failed: %s" % (cid, p.stderr.strip()))
    env.rt("start", cid, check_ok=True)
    return env.state(cid)["pid"]


def mountinfo_line(text, mount_point):
    """The /proc/self/mountinfo line of `mount_point` (the last, i.e. topmost, one)."""
    found = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == mount_point:
            found = line
    check(found is not None, "%s is not a mount point in the container:\n%s" % (mount_point, text))
    return found


def mount_options(line):
    """Per-mount options (field 6) and the optional propagation fields of a mountinfo line."""
    fields = line.split()
    sep = fields.index("-")
    return set(fields[5].split(",")), fields[6:sep]


# ---------------------------------------------------------------------------
# Namespaces


def scenario_namespaces(env):
    # New namespaces of each type runc 1.1 knows (it has no time namespace).
    env.config("ns", ["sleep", "1000"])
    write_config(env, lambda c: c["linux"]["namespaces"].append({"type": "cgroup"}))
    pid = started(env, "ns")
    for kind, name in NAMESPACES.items():
        check(ns_inode(pid, name) != ns_inode(os.getpid(), name), "%s namespace is the host's" % kind)
    check(ns_inode(pid, "user") == ns_inode(os.getpid(), "user"), "a user namespace was made without being asked")

    # A second container joins the first one's network and ipc namespaces and
    # the uts namespace of a process made with unshare.
    holder = subprocess.Popen(["unshare", "--uts", "sleep", "1000"])
    try:
        deadline = time.time() + 5
        while ns_inode(holder.pid, "uts") == ns_inode(os.getpid(), "uts") and time.time() < deadline:
            time.sleep(0.02)
        joins = {"network": "/proc/%d/ns/net" % pid, "ipc": "/proc/%d/ns/ipc" % pid,
                 "uts": "/proc/%d/ns/uts" % holder.pid}

        def join(cfg):
            # lxcri refuses to set the hostname of a joined uts namespace (it is
            # not the container's own); runc sets it. Leave it unset.
            del cfg["hostname"]
            for ns in cfg["linux"]["namespaces"]:
                if ns["type"] in joins:
                    ns["path"] = joins[ns["type"]]

        env.config("join", ["sleep", "1000"])
        write_config(env, join)
        joined = started(env, "join")
        check(ns_inode(joined, "net") == ns_inode(pid, "net"), "network namespace not joined")
        check(ns_inode(joined, "ipc") == ns_inode(pid, "ipc"), "ipc namespace not joined")
        check(ns_inode(joined, "uts") == ns_inode(holder.pid, "uts"), "uts namespace of unshare not joined")
        check(ns_inode(joined, "pid") not in (ns_inode(pid, "pid"), ns_inode(os.getpid(), "pid")),
              "pid namespace should be new")
        check(ns_inode(joined, "mnt") != ns_inode(pid, "mnt"), "mount namespace should be new")
    finally:
        holder.kill()
        holder.wait()
    for cid in ("join", "ns"):
        env.rt("delete", "--force", cid, check_ok=True)
    env.assert_nothing_left("ns")

    # A namespace path that does not exist fails create and leaves nothing.
    env.config("badjoin", ["true"])
    write_config(env, lambda c: c["linux"]["namespaces"][1].update(path="/proc/999999999/ns/net"))
    expect_failure(env.create("badjoin"), "create joining a missing namespace")
    env.assert_nothing_left("badjoin")


def lchown_tree(top, uid, gid):
    os.lchown(top, uid, gid)
    for base, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(base, name), uid, gid)


def scenario_userns(env):
    host_root = 100000
    # The mapped root walks the bundle's path on the host: the temp dir must be traversable.
    os.chmod(env.tmp, 0o755)
    lchown_tree(env.rootfs, host_root, host_root)
    shared = os.path.join(env.tmp, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    mapping = [{"containerID": 0, "hostID": host_root, "size": 65536}]

    def userns(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = mapping
        cfg["linux"]["gidMappings"] = mapping
        # sysfs belongs to the host's user namespace; runc's rootless spec binds it too.
        for m in cfg["mounts"]:
            if m["destination"] == "/sys":
                m.update(type="none", source="/sys", options=["rbind", "nosuid", "noexec", "nodev", "ro"])
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/sys/fs/cgroup"]

    env.config("user", ["sh", "-c", "id -u; id -g; touch /shared/made; exec sleep 1000"],
               extra_mounts=[{"destination": "/shared", "type": "none", "source": shared, "options": ["bind"]}])
    write_config(env, userns)
    p = env.create("user")
    check(p.returncode == 0, "create user failed: %s" % p.stderr.strip())
    pid = env.state("user")["pid"]
    p = env.rt("start", "user")
    check(p.returncode == 0, "start user failed: %s %s" % (p.stderr.strip(), env.rt("state", "user").stdout))
    check(ns_inode(pid, "user") != ns_inode(os.getpid(), "user"), "no new user namespace")
    with open("/proc/%d/uid_map" % pid) as f:
        check(f.read().split() == ["0", str(host_root), "65536"], "uid_map of the container init")
    with open("/proc/%d/gid_map" % pid) as f:
        check(f.read().split() == ["0", str(host_root), "65536"], "gid_map of the container init")
    status = open("/proc/%d/status" % pid).read()
    uid_line = [line for line in status.splitlines() if line.startswith("Uid:")][0]
    check(uid_line.split()[1] == str(host_root), "container root is not host uid %d: %s" % (host_root, uid_line))
    made = os.path.join(shared, "made")
    deadline = time.time() + 5
    while not os.path.exists(made) and time.time() < deadline:
        time.sleep(0.02)
    check(os.path.exists(made), "the container did not create a file in its bind mount")
    st = os.stat(made)
    check((st.st_uid, st.st_gid) == (host_root, host_root), "file owned by %d:%d on the host" % (st.st_uid, st.st_gid))
    env.rt("delete", "--force", "user", check_ok=True)
    env.assert_nothing_left("user")

    # A bind remount in a user namespace may not clear the flags the kernel
    # locked on the source (ro, nosuid, noatime): they are kept, as crun does.
    # runc 1.1.5 fails this with EPERM, so the part is lxcri's alone.
    if os.path.basename(env.runtime) != "lxcri":
        return
    locked = os.path.join(env.tmp, "host", "locked")
    os.makedirs(locked)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "locked", locked], check=True)
    with open(os.path.join(locked, "file"), "w") as f:
        f.write("locked\n")
    subprocess.run(["mount", "-o", "remount,ro,nosuid,noatime", locked], check=True)
    env.config("locked", ["sh", "-c", "cat /locked/file; grep ' /locked ' /proc/self/mountinfo"],
               extra_mounts=[{"destination": "/locked", "type": "none", "source": locked,
                              "options": ["bind", "nodev"]}])
    write_config(env, userns)
    p = run_ok(env, "locked")
    lines = p.splitlines()
    check(lines[0] == "locked", "contents of the locked bind: %r" % p)
    opts = set(lines[1].split()[5].split(","))
    check({"ro", "nosuid", "nodev", "noatime"} <= opts, "flags of the locked bind: %s" % sorted(opts))


# ---------------------------------------------------------------------------
# Mounts


def scenario_mounts(env):
    host = os.path.join(env.tmp, "host")  # Env.cleanup unmounts everything under it
    src, sub = os.path.join(host, "src"), os.path.join(host, "src", "sub")
    os.makedirs(sub)
    with open(os.path.join(src, "file"), "w") as f:
        f.write("from-host\n")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "sub", sub], check=True)
    with open(os.path.join(sub, "inner"), "w") as f:
        f.write("inner\n")
    mounts = [
        {"destination": "/flags", "type": "none", "source": src, "options": ["bind", "ro", "nosuid", "nodev", "noexec"]},
        {"destination": "/plain", "type": "none", "source": src, "options": ["bind"]},
        {"destination": "/rec", "type": "none", "source": src, "options": ["rbind", "ro", "nosuid"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m", "mode=1770", "nodev"]},
        {"destination": "/shr", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]},
    ]
    script = ("cat /proc/self/mountinfo; echo ---; cat /flags/file /rec/sub/inner; ls /plain/sub | wc -l; "
              "stat -c %a /scratch; touch /flags/x 2>/dev/null && echo writable; echo end")
    env.config("mnt", ["sh", "-c", script], extra_mounts=mounts)
    out = run_ok(env, "mnt")
    info, rest = out.split("---\n")
    opts, _ = mount_options(mountinfo_line(info, "/flags"))
    check({"ro", "nosuid", "nodev", "noexec"} <= opts, "bind ro,nosuid,nodev,noexec: %s" % sorted(opts))
    opts, _ = mount_options(mountinfo_line(info, "/plain"))
    check("rw" in opts and not {"nosuid", "noexec"} & opts, "plain bind: %s" % sorted(opts))
    opts, _ = mount_options(mountinfo_line(info, "/rec"))
    check({"ro", "nosuid"} <= opts, "rbind ro,nosuid: %s" % sorted(opts))
    mountinfo_line(info, "/rec/sub")  # rbind carried the submount
    check(not any(l.split()[4] == "/plain/sub" for l in info.splitlines()), "bind (not rbind) carried the submount")
    scratch = mountinfo_line(info, "/scratch")
    check("size=2048k" in scratch and "mode=1770" in scratch and "nodev" in mount_options(scratch)[0],
          "tmpfs size/mode/nodev: %s" % scratch)
    check(any(f.startswith("shared:") for f in mount_options(mountinfo_line(info, "/shr"))[1]),
          "rshared tmpfs is not shared: %s" % mountinfo_line(info, "/shr"))
    check(rest.split() == ["from-host", "inner", "0", "1770", "end"], "contents seen in the container: %r" % rest)
    env.assert_nothing_left("mnt")

    # linux.rootfsPropagation decides how the mounts the rootfs carries from the
    # host relate to the host's: a shared host mount inside the rootfs becomes
    # a slave (default rslave), stays a peer (rshared) or is cut off (rprivate).
    carried = os.path.join(env.rootfs, "carried")
    os.mkdir(carried)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "carried", carried], check=True)
    try:
        subprocess.run(["mount", "--make-shared", carried], check=True)
        for propagation, field in (("rslave", "master:"), ("rshared", "shared:"), ("rprivate", None)):
            cid = "prop-" + propagation
            env.config(cid, ["cat", "/proc/self/mountinfo"])
            write_config(env, lambda c: c["linux"].update(rootfsPropagation=propagation))
            fields = mount_options(mountinfo_line(run_ok(env, cid), "/carried"))[1]
            got = [f for f in fields if f.startswith(("master:", "shared:"))]
            check([f.split(":")[0] + ":" for f in got] == ([field] if field else []),
                  "rootfsPropagation %s: /carried has %s" % (propagation, fields))
            env.assert_nothing_left(cid)
    finally:
        subprocess.run(["umount", "-l", carried], capture_output=True)


def scenario_no_pivot(env):
    marker = "host-only-" + env.cg_parent
    with open(os.path.join(env.tmp, marker), "w"):
        pass
    env.config("np", ["sh", "-c", "ls -a /; ls /proc/1/root/ >/dev/null && echo proc-ok"])
    env.ids.add("np")
    p = env.rt("run", "--no-pivot", "--bundle", env.bundle, "np")
    check(p.returncode == 0, "run --no-pivot exited %d: %s" % (p.returncode, p.stderr.strip()))
    seen = set(p.stdout.split()) - {".", "..", "proc-ok"}
    check(seen == set(os.listdir(env.rootfs)), "--no-pivot root shows %s, rootfs has %s"
          % (sorted(seen), sorted(os.listdir(env.rootfs))))
    check(marker not in p.stdout and "proc-ok" in p.stdout, "--no-pivot: %r" % p.stdout)
    env.assert_nothing_left("np")


# ---------------------------------------------------------------------------
# Devices


def scenario_devices(env):
    devices = [
        {"path": "/dev/mychar", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/sub/myblock", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 6},
        {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620, "uid": 2, "gid": 3},
    ]
    script = ("for d in /dev/mychar /dev/sub/myblock /dev/myfifo /dev/null /dev/zero /dev/full /dev/random "
              "/dev/urandom /dev/tty; do stat -c '%n %F %t:%T %a %u:%g' $d; done; "
              "for d in /dev/pts /dev/shm; do stat -c '%n %F' $d; done; "
              "for l in fd stdin stdout stderr ptmx; do echo /dev/$l $(readlink /dev/$l); done; "
              "head -c 4 /dev/zero | wc -c")
    env.config("dev", ["sh", "-c", script], linux_devices=devices)
    lines = run_ok(env, "dev").splitlines()
    want = [
        "/dev/mychar character special file 1:3 640 1000:1001",
        "/dev/sub/myblock block special file 7:c8 600 0:6",
        "/dev/myfifo fifo 0:0 620 2:3",
        "/dev/null character special file 1:3 666 0:0",
        "/dev/zero character special file 1:5 666 0:0",
        "/dev/full character special file 1:7 666 0:0",
        "/dev/random character special file 1:8 666 0:0",
        "/dev/urandom character special file 1:9 666 0:0",
        "/dev/tty character special file 5:0 666 0:0",
        "/dev/pts directory",
        "/dev/shm directory",
        "/dev/fd /proc/self/fd",
        "/dev/stdin /proc/self/fd/0",
        "/dev/stdout /proc/self/fd/1",
        "/dev/stderr /proc/self/fd/2",
        "/dev/ptmx pts/ptmx",
        "4",
    ]
    for got, expected in zip(lines, want):
        check(got == expected, "device: want %r, got %r" % (expected, got))
    check(len(lines) == len(want), "device listing: %r" % lines)
    env.assert_nothing_left("dev")


# ---------------------------------------------------------------------------
# Hooks

STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def scenario_hooks(env):
    out = os.path.join(env.tmp, "hooks")
    os.makedirs(out)
    os.chmod(out, 0o777)

    def hook(stage):
        # startContainer runs in the container: its path and files are the container's.
        where = "/hooks" if stage == "startContainer" else out
        return {"path": "/bin/sh",
                "args": ["sh", "-c", 'cat > %s/$1.json; echo "$1 $2 $FOO" >> %s/order' % (where, where), "hook", stage, "arg2"],
                "env": ["FOO=foo-" + stage, "PATH=/bin:/usr/bin"]}

    env.config("hk", ["sleep", "1000"],
               extra_mounts=[{"destination": "/hooks", "type": "none", "source": out, "options": ["bind"]}])
    write_config(env, lambda c: c.update(hooks={s: [hook(s)] for s in STAGES}))
    pid = started(env, "hk")
    env.rt("delete", "--force", "hk", check_ok=True)
    with open(os.path.join(out, "order")) as f:
        order = f.read().splitlines()
    check(sorted(order) == sorted("%s arg2 foo-%s" % (s, s) for s in STAGES), "hooks args/env: %s" % order)
    # startContainer (run by the init right before its execve) and poststart
    # (run by `start` once the init is released) race in runc 1.1 too.
    position = {line.split()[0]: i for i, line in enumerate(order)}
    check(position["prestart"] < position["createRuntime"] < position["createContainer"]
          < min(position["startContainer"], position["poststart"]) and position["poststop"] == len(STAGES) - 1,
          "hooks order: %s" % order)
    bundle = os.path.realpath(env.bundle)
    statuses = {}
    for stage in STAGES:
        with open(os.path.join(out, stage + ".json")) as f:
            state = json.load(f)
        check(state["id"] == "hk" and state["bundle"] == bundle, "%s state: %s" % (stage, state))
        statuses[stage] = state["status"]
        # The container's init runs createContainer and startContainer: it is pid 1 there.
        want_pid = {"createContainer": 1, "startContainer": 1, "poststop": 0}.get(stage, pid)
        check(state.get("pid", 0) == want_pid, "%s state pid %s, want %d" % (stage, state.get("pid"), want_pid))
    want = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
            "startContainer": "created", "poststart": "running", "poststop": "stopped"}
    # runc 1.1 hands poststart the status it read before start ("created").
    if statuses.get("poststart") == "created":
        want["poststart"] = "created"
    check(statuses == want, "hook states: %s, want %s" % (statuses, want))
    env.assert_nothing_left("hk")

    # A failing hook or one past its timeout fails create with a clear error and leaves nothing.
    for stage in ("prestart", "createRuntime", "createContainer"):
        cid = "fail-" + stage.lower()
        env.config(cid, ["true"])
        write_config(env, lambda c: c.update(hooks={stage: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}))
        p = env.create(cid)
        expect_failure(p, "create with a failing %s hook" % stage)
        check("status 3" in p.stderr, "failing %s hook: unclear error %r" % (stage, p.stderr))
        env.assert_nothing_left(cid)
    env.config("slow", ["true"])
    write_config(env, lambda c: c.update(hooks={"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 20"], "timeout": 1}]}))
    began = time.time()
    p = env.create("slow")
    expect_failure(p, "create with a hook past its timeout")
    check(time.time() - began < 10, "the hook timeout was not enforced")
    check("timeout" in p.stderr or "timed out" in p.stderr, "hook timeout: unclear error %r" % p.stderr)
    env.assert_nothing_left("slow")


# ---------------------------------------------------------------------------
# Descriptors


def fds_in_container(stdout):
    """The descriptor numbers `ls /proc/self/fd` printed, without the one ls opened for itself."""
    fds = sorted(int(x) for x in stdout.split() if x.isdigit())
    return fds[:-1]


def with_fds(env, shell_prefix, fds):
    """Runs the runtime from `sh` that sets `shell_prefix` and opens `fds` (n -> file) for it."""
    redirs = " ".join('%d>"%s"' % (n, path) for n, path in sorted(fds.items()))
    env.wrap = ["sh", "-c", '%s exec "$@" %s' % (shell_prefix, redirs), "sh"]


def scenario_fds(env):
    pidfile = os.path.join(env.tmp, "init.pid")
    env.config("pf", ["sleep", "1000"])
    env.ids.add("pf")
    env.rt("create", "--pid-file", pidfile, "--bundle", env.bundle, "pf", check_ok=True)
    with open(pidfile) as f:
        check(f.read().strip() == str(env.state("pf")["pid"]), "--pid-file differs from the state's pid")
    env.rt("delete", "--force", "pf", check_ok=True)

    files = {n: os.path.join(env.tmp, "fd%d" % n) for n in (3, 4, 5)}
    script = "echo to-3 >&3; echo to-4 >&4; echo LISTEN=$LISTEN_FDS:$LISTEN_PID; ls /proc/self/fd"

    def written(n):
        with open(files[n]) as f:
            return f.read()

    # --preserve-fds 2: 3 and 4 reach the container, 5 does not.
    with_fds(env, "", files)
    env.config("pres", ["sh", "-c", script])
    out = run_ok(env, "pres")
    check(fds_in_container(out) == [0, 1, 2], "without --preserve-fds: fds %s" % fds_in_container(out))
    env.ids.add("pres2")
    p = env.rt("run", "--preserve-fds", "2", "--bundle", env.bundle, "pres2")
    check(p.returncode == 0, "run --preserve-fds 2: %s" % p.stderr.strip())
    check(fds_in_container(p.stdout) == [0, 1, 2, 3, 4], "--preserve-fds 2: fds %s" % fds_in_container(p.stdout))
    check(written(3) == "to-3\n" and written(4) == "to-4\n", "writes through preserved fds did not arrive")
    check("LISTEN=:" in p.stdout, "LISTEN_* set without socket activation: %r" % p.stdout)

    # Socket activation: LISTEN_FDS fds for the runtime's own pid are passed on,
    # LISTEN_PID becomes the container's init (1), and --preserve-fds counts after them.
    with_fds(env, "export LISTEN_FDS=2 LISTEN_PID=$$;", files)
    env.ids.add("listen")
    p = env.rt("run", "--preserve-fds", "1", "--bundle", env.bundle, "listen")
    check(p.returncode == 0, "run with LISTEN_FDS: %s" % p.stderr.strip())
    check("LISTEN=2:1" in p.stdout, "LISTEN_FDS/LISTEN_PID in the container: %r" % p.stdout)
    check(fds_in_container(p.stdout) == [0, 1, 2, 3, 4, 5], "LISTEN_FDS=2 + --preserve-fds 1: fds %s"
          % fds_in_container(p.stdout))
    # LISTEN_PID naming another process: not ours to pass on.
    with_fds(env, "export LISTEN_FDS=2 LISTEN_PID=1;", files)
    out = run_ok(env, "listen-other")
    check("LISTEN=:" in out and fds_in_container(out) == [0, 1, 2], "LISTEN_PID of another process: %r" % out)
    env.wrap = []
    env.assert_nothing_left("listen-other")

    # Session keyring: a new one by default, the caller's with --no-new-keyring.
    # busybox has no keyctl: a createContainer hook (forked by the container's
    # init after the keyring is joined, still seeing host paths) reports it.
    libc = ctypes.CDLL(None, use_errno=True)
    keyctl, get_keyring_id, session = 250, 0, -3
    if os.uname().machine != "x86_64" or libc.syscall(keyctl, get_keyring_id, session, 1) < 0:
        skip("no session keyrings here (keyctl: errno %d)" % ctypes.get_errno())
    ours = libc.syscall(keyctl, get_keyring_id, session, 1)
    report = os.path.join(env.tmp, "keyring")
    probe = "import ctypes; print(ctypes.CDLL(None).syscall(250, 0, -3, 1))"
    for flag, same in (([], False), (["--no-new-keyring"], True)):
        cid = "key" + ("-keep" if same else "")
        env.config(cid, ["true"])
        write_config(env, lambda c: c.update(hooks={"createContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", '/usr/bin/python3 -c "%s" > %s' % (probe, report)]}]}))
        env.ids.add(cid)
        p = env.rt("run", *flag, "--bundle", env.bundle, cid)
        check(p.returncode == 0, "run %s: %s" % (cid, p.stderr.strip()))
        with open(report) as f:
            theirs = int(f.read())
        check((theirs == ours) == same, "%s: container keyring %d, ours %d" % (" ".join(flag) or "default", theirs, ours))


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


if __name__ == "__main__":
    sys.exit(run_main(SCENARIOS, label="setup_"))
