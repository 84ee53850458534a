#!/usr/bin/python3
"""Pure cgroup v2 and the systemd cgroup driver, on a booted Debian system.

Runs in the VM of tests/vm (systemd as PID 1, every v2 controller), for one
runtime (--runtime: lxcri, or runc and crun as the controls) and one cgroup
driver (--cgroup-driver cgroupfs|systemd), with lxcri_test.py's harness: each
scenario removes what it made, and with the systemd driver also checks that
no scope unit is left.

- cgroupns:    inside the container /proc/self/cgroup is 0::/ and the limit
               files under /sys/fs/cgroup read what the spec set
- host_limits: the same limits in the container's cgroup on the host; with
               systemd the scope unit while it runs, gone after delete
- freeze:      pause/resume through cgroup.freeze, ps when paused, delete
               --force when paused
- update:      update reaches memory.max/pids.max/cpu.max (and the unit's
               properties with systemd), and events --stats
- oom:         an OOM kill in memory.events, reported by `events`
- podman:      podman with its default configuration (systemd driver;
               cgroupfs driver: --cgroup-manager cgroupfs) and --runtime
               set to the runtime under test

Where runc and crun differ, runc is what lxcri follows (the checks say why).
"""

import json
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "lxcri"))
from lxcri_test import CGROUP_ROOT, Failure, check, podman_image, run_main, skip  # noqa: E402

RESOURCES = {
    "memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 64 << 20},
    "pids": {"limit": 50},
    "cpu": {"shares": 2048, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
    "blockIO": {"weight": 500},
}
# The files RESOURCES gives, as runc 1.1 and crun 1.8 write them: swap is
# memory+swap in the spec (so no swap), cpu.weight and io.weight by runc's
# conversions 1 + (shares-2)*9999/262142 and 1 + (weight-10)*9999/990.
EXPECTED = {
    "memory.max": "67108864", "memory.low": "33554432", "memory.swap.max": "0", "pids.max": "50",
    "cpu.max": "50000 100000", "cpu.weight": "79", "cpuset.cpus": "0", "cpuset.mems": "0",
    "io.weight": "default 4950",
}


def runtime_name(env):
    return os.path.basename(env.runtime)


def init_cgroup(pid):
    """The host path of the v2 cgroup process `pid` is in."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return CGROUP_ROOT + line[3:].strip()
    raise Failure("no v2 cgroup for pid %d" % pid)


def read(path):
    with open(path) as f:
        return f.read().strip()


def limits_in(cgroup):
    return {name: read(os.path.join(cgroup, name)) for name in EXPECTED if os.path.exists(os.path.join(cgroup, name))}


def unit_show(unit, *props):
    p = subprocess.run(["systemctl", "show", unit] + ["-p" + p for p in props], capture_output=True, text=True)
    return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)


def sets_unit_properties(env):
    # runc maps resources to the scope's properties (MemoryMax, TasksMax, ...)
    # and changes them on update (SetUnitProperties); crun 1.8 writes the
    # files of a sub-cgroup ("container") and leaves the unit's properties
    # unset. lxcri follows runc (issue 18).
    return runtime_name(env) != "crun"


def in_right_cgroup(env, cid, cgroup):
    """The container's cgroup, or crun's sub-cgroup of it."""
    want = env.cgroup_dir(cid, "memory")
    check(cgroup == want or cgroup.startswith(want + "/"), "%s's init is in %s, not in %s" % (cid, cgroup, want))


def with_cgroupns(cfg):
    if not any(n["type"] == "cgroup" for n in cfg["linux"]["namespaces"]):
        cfg["linux"]["namespaces"].append({"type": "cgroup"})


def started(env, cid, args, **changes):
    env.config(cid, args, **changes)
    p = env.create(cid)
    check(p.returncode == 0, "create %s failed: %s" % (cid, p.stderr.strip()))
    env.rt("start", cid, check_ok=True)
    return env.state(cid)["pid"]


# ---------------------------------------------------------------------------


INSIDE = "cat /proc/self/cgroup; for f in %s; do echo $f=$(cat /sys/fs/cgroup/$f); done" % " ".join(EXPECTED)


def parse_inside(out):
    lines = out.splitlines()
    return lines[0] if lines else "", dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def scenario_cgroupns(env):
    """The container's own view: with a cgroup namespace (runc's spec and podman
    on v2 ask for one) its cgroup is the root, 0::/, for the init and for exec'd
    processes, and /sys/fs/cgroup holds its limits. runc and crun put the init
    into the cgroup before unsharing the cgroup namespace; a namespace made
    earlier shows 0::/../../<parent>/<id> and the parent's files (issue 18)."""
    started(env, "ns", ["sleep", "1000"], resources=RESOURCES, patch=with_cgroupns)
    p = env.rt("exec", "ns", "sh", "-c", "cat /proc/1/cgroup; " + INSIDE, check_ok=True)
    lines = p.stdout.splitlines()
    check(lines[:1] == ["0::/"], "the init's /proc/1/cgroup in the container: %r" % lines[:1])
    own, files = parse_inside("\n".join(lines[1:]))
    check(own == "0::/", "an exec'd process's /proc/self/cgroup in the container: %r" % own)
    check(files == EXPECTED, "limit files in the container: %s, the spec set %s" % (files, EXPECTED))
    env.rt("delete", "--force", "ns", check_ok=True)
    env.assert_nothing_left("ns")


def scenario_host_limits(env):
    """The spec's resources in the container's cgroup on the host (with a read
    throttle of /dev/loop0, 7:0, in io.max); with the systemd driver a
    transient scope (Delegate=yes) holds it while the container exists and is
    gone, with its cgroup, after delete."""
    resources = dict(RESOURCES, blockIO=dict(RESOURCES["blockIO"], throttleReadBpsDevice=[
        {"major": 7, "minor": 0, "rate": 1048576}]))
    env.config("lim", ["sleep", "1000"], resources=resources)
    p = env.create("lim")
    check(p.returncode == 0, "create failed: %s" % p.stderr.strip())
    pid = env.state("lim")["pid"]
    cgroup = init_cgroup(pid)
    in_right_cgroup(env, "lim", cgroup)
    check(limits_in(cgroup) == EXPECTED, "limits in %s: %s, the spec set %s" % (cgroup, limits_in(cgroup), EXPECTED))
    io_max = read(os.path.join(cgroup, "io.max"))
    check(io_max.startswith("7:0 rbps=1048576 "), "io.max: %r" % io_max)
    if env.systemd:
        unit = env.scope("lim")
        props = unit_show(unit, "ActiveState", "ControlGroup", "Delegate", "MemoryMax", "MemoryLow", "TasksMax",
                          "CPUWeight", "CPUQuotaPerSecUSec", "AllowedCPUs")
        check(props.get("ActiveState") == "active", "%s while the container exists: %s" % (unit, props))
        check(props.get("ControlGroup") == "/system.slice/" + unit, "%s's ControlGroup: %s" % (unit, props))
        check(props.get("Delegate") == "yes", "%s is not delegated: %s" % (unit, props))
        if sets_unit_properties(env):
            want = {"MemoryMax": "67108864", "MemoryLow": "33554432", "TasksMax": "50", "CPUWeight": "79",
                    "CPUQuotaPerSecUSec": "500ms", "AllowedCPUs": "0"}
            got = {k: props.get(k) for k in want}
            check(got == want, "%s's properties: %s, want %s (runc's)" % (unit, got, want))
    env.rt("start", "lim", check_ok=True)
    with open(os.path.join(cgroup, "cgroup.procs")) as f:
        check(str(pid) in f.read().split(), "the init is not in %s" % cgroup)
    env.rt("delete", "--force", "lim", check_ok=True)
    check(not os.path.exists(cgroup), "%s left after delete" % cgroup)
    if env.systemd:
        props = unit_show(env.scope("lim"), "LoadState", "ActiveState")
        check(props.get("LoadState") == "not-found", "%s after delete: %s" % (env.scope("lim"), props))
    env.assert_nothing_left("lim")


def scenario_freeze(env):
    """pause and resume through cgroup.freeze (the kernel says when the cgroup
    is frozen in cgroup.events); a paused container can be deleted."""
    pid = started(env, "fz", ["sh", "-c", "while true; do sleep 0.1; done"])
    cgroup = init_cgroup(pid)
    env.rt("pause", "fz", check_ok=True)
    check(env.status("fz") == "paused", "status after pause: %s" % env.status("fz"))
    check(read(os.path.join(cgroup, "cgroup.freeze")) == "1", "cgroup.freeze after pause")
    check("frozen 1" in read(os.path.join(cgroup, "cgroup.events")).splitlines(), "cgroup.events: not frozen")
    p = env.rt("ps", "--format", "json", "fz", check_ok=True)
    check(pid in json.loads(p.stdout), "ps of the paused container: %s, init %d" % (p.stdout.strip(), pid))
    env.rt("resume", "fz", check_ok=True)
    check(env.status("fz") == "running", "status after resume: %s" % env.status("fz"))
    check(read(os.path.join(cgroup, "cgroup.freeze")) == "0", "cgroup.freeze after resume")
    check("frozen 0" in read(os.path.join(cgroup, "cgroup.events")).splitlines(), "cgroup.events: still frozen")
    env.rt("pause", "fz", check_ok=True)
    env.rt("delete", "--force", "fz", check_ok=True)
    env.assert_nothing_left("fz")


def scenario_update(env):
    """update changes the files and, with the systemd driver, the scope's
    properties (systemd would otherwise put its own values back)."""
    pid = started(env, "up", ["sleep", "1000"], resources={"memory": {"limit": 64 << 20}, "pids": {"limit": 50}})
    cgroup = init_cgroup(pid)
    # Sizes in bytes: crun 1.8.1 copies --memory's text into JSON as it is
    # ("48m": "cannot parse the data: lexical error"); runc takes both.
    env.rt("update", "--memory", str(48 << 20), "--pids-limit", "30", "--cpu-quota", "25000", "--cpu-period", "100000",
           "up", check_ok=True)
    got = {name: read(os.path.join(cgroup, name)) for name in ("memory.max", "pids.max", "cpu.max")}
    want = {"memory.max": str(48 << 20), "pids.max": "30", "cpu.max": "25000 100000"}
    check(got == want, "after update: %s, want %s" % (got, want))
    unit = env.scope("up")
    if env.systemd and sets_unit_properties(env):
        props = unit_show(unit, "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec")
        want = {"MemoryMax": str(48 << 20), "TasksMax": "30", "CPUQuotaPerSecUSec": "250ms"}
        check(props == want, "%s after update: %s, want %s" % (unit, props, want))
    res = os.path.join(env.tmp, "resources.json")
    with open(res, "w") as f:
        json.dump({"memory": {"limit": 40 << 20}}, f)
    env.rt("update", "-r", res, "up", check_ok=True)
    check(read(os.path.join(cgroup, "memory.max")) == str(40 << 20), "update -r: memory.max %s"
          % read(os.path.join(cgroup, "memory.max")))
    if env.systemd and sets_unit_properties(env):
        check(unit_show(unit, "MemoryMax") == {"MemoryMax": str(40 << 20)}, "%s after update -r: %s"
              % (unit, unit_show(unit, "MemoryMax")))
    if "unknown command" not in env.rt("events", "--help").stderr:  # crun has no events
        data = json.loads(env.rt("events", "--stats", "up", check_ok=True).stdout)["data"]
        check(data["memory"]["usage"]["limit"] == 40 << 20 and data["pids"]["current"] >= 1,
              "events --stats: memory %s, pids %s" % (data["memory"].get("usage"), data.get("pids")))
    env.rt("delete", "--force", "up", check_ok=True)
    env.assert_nothing_left("up")


def read_events(proc, seconds):
    """The JSON events `events` prints within `seconds`."""
    events, buf = [], b""
    deadline = time.time() + seconds
    while time.time() < deadline and not any(e.get("type") == "oom" for e in events):
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                events.append(json.loads(line))
            except ValueError:
                events.append({"unparsed": line.decode(errors="replace")})
    return events


def scenario_oom(env):
    """A process over memory.max is OOM-killed; memory.events counts it and
    `events` reports {"type":"oom"} at once (runc watches memory.events with
    inotify), not at the next stats interval (60 s here)."""
    if "unknown command" in env.rt("events", "--help").stderr:
        skip("%s has no events command" % runtime_name(env))
    pid = started(env, "oom", ["sleep", "1000"], resources={"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    cgroup = init_cgroup(pid)
    events = subprocess.Popen(env.command("events", "--interval", "60s", "oom"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        time.sleep(2)  # events sets up its watch (nothing tells when it has)
        # busybox tail keeps the one endless line of /dev/zero in memory.
        p = env.rt("exec", "oom", "tail", "/dev/zero", timeout=60)
        check(p.returncode == 137, "the allocating process was not killed: %d %s" % (p.returncode, p.stderr.strip()))
        counts = dict(line.split() for line in read(os.path.join(cgroup, "memory.events")).splitlines())
        check(int(counts["oom_kill"]) >= 1, "memory.events: %s" % counts)
        got = read_events(events, 10)
    finally:
        events.kill()
        _, err = events.communicate()
    check(any(e.get("type") == "oom" and e.get("id") == "oom" for e in got),
          "no oom event within 10 s of the kill: %s %s" % (got, err.decode(errors="replace").strip()))
    env.rt("delete", "--force", "oom", check_ok=True)
    env.assert_nothing_left("oom")


# ---------------------------------------------------------------------------
# podman


class Podman:
    """podman with its default configuration (cgroup_manager systemd) for the
    systemd driver, --cgroup-manager cgroupfs for cgroupfs; --runtime is the
    runtime under test."""

    def __init__(self, env):
        self.env = env
        self.podman, self.image = podman_image(env)
        self.base = [self.podman, "--runtime", env.runtime]
        if not env.systemd:
            self.base += ["--cgroup-manager", "cgroupfs"]
        self.name = "lxcri-it-" + env.cg_parent[-8:]
        self.id = None

    def run(self, *args, timeout=120):
        return subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args):
        p = self.run(*args)
        check(p.returncode == 0, "podman %s exited %d: %s" % (" ".join(args[:2]), p.returncode, p.stderr.strip()))
        return p.stdout

    def start(self, *flags):
        self.id = self.ok("run", "-d", "--name", self.name, *flags, self.image, "sleep", "1000").strip()
        return int(self.ok("inspect", "--format", "{{.State.Pid}}", self.name).strip())

    def scope(self):
        return "libpod-%s.scope" % self.id

    def remove(self):
        if self.id:
            self.run("rm", "-f", "-t", "0", self.name)

    def assert_gone(self, cgroup):
        """Nothing of the container after rm: no scope (its own, conmon's), no cgroup, no process."""
        check(not os.path.exists(cgroup), "%s left after podman rm" % cgroup)
        for unit in ("libpod-%s.scope" % self.id, "libpod-conmon-%s.scope" % self.id):
            p = subprocess.run(["systemctl", "status", "--no-pager", unit], capture_output=True, text=True)
            check(p.returncode == 4, "systemctl status %s after podman rm: %d %s" % (unit, p.returncode, p.stdout))
        left = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cgroup" % pid) as f:
                    if self.id in f.read():
                        left.append(pid)
            except OSError:
                pass
        check(not left, "processes of %s left after podman rm: %s" % (self.id[:12], left))


def scenario_podman(env):
    """podman run --rm; run -d with --memory 64m --pids-limit 50 --cpus 0.5:
    the limits in the container's cgroup (host) and as the container sees
    them, exec, pause/unpause, stats, update, stop, rm; with the systemd driver
    systemctl status shows the scope while the container runs and not after
    rm. Nothing of it (scope, cgroup, process) is left."""
    pm = Podman(env)
    try:
        p = pm.run("run", "--rm", pm.image, "sh", "-c", "echo hello-from-podman; exit 5")
        check(p.returncode == 5 and p.stdout == "hello-from-podman\n",
              "podman run --rm: %d %r %s" % (p.returncode, p.stdout, p.stderr.strip()))
        pid = pm.start("--memory", "64m", "--pids-limit", "50", "--cpus", "0.5")
        cgroup = init_cgroup(pid)
        want = {"memory.max": "67108864", "pids.max": "50", "cpu.max": "50000 100000"}
        got = {name: read(os.path.join(cgroup, name)) for name in want}
        check(got == want, "limits in %s: %s, want %s" % (cgroup, got, want))
        if env.systemd:
            p = subprocess.run(["systemctl", "status", "--no-pager", pm.scope()], capture_output=True, text=True)
            check(p.returncode == 0 and "active (running)" in p.stdout,
                  "systemctl status %s while it runs: %d %s" % (pm.scope(), p.returncode, p.stdout))
            props = unit_show(pm.scope(), "ControlGroup", "MemoryMax")
            check(cgroup.startswith(CGROUP_ROOT + props["ControlGroup"]), "%s: %s, but the init is in %s"
                  % (pm.scope(), props, cgroup))
            if sets_unit_properties(env):
                check(props.get("MemoryMax") == "67108864", "%s's MemoryMax: %s" % (pm.scope(), props))
        p = pm.run("exec", pm.name, "sh", "-c",
                   "cat /proc/self/cgroup; for f in %s; do echo $f=$(cat /sys/fs/cgroup/$f); done; exit 3"
                   % " ".join(want))
        own, files = parse_inside(p.stdout)
        check(p.returncode == 3 and own == "0::/" and files == want,
              "podman exec: %d, in the container %r %s, want 3, 0::/ %s (%s)"
              % (p.returncode, own, files, want, p.stderr.strip()))
        # With AppArmor on (Debian's default, the apparmor package installed),
        # podman confines containers in its containers-default profile.
        aa_param = "/sys/module/apparmor/parameters/enabled"
        aa_host = os.path.exists(aa_param) and read(aa_param) == "Y" and os.path.exists("/sbin/apparmor_parser")
        aa_podman = pm.ok("info", "--format", "{{.Host.Security.AppArmorEnabled}}").strip() == "true"
        check(aa_podman == aa_host, "podman's AppArmorEnabled is %s on a host where AppArmor is %s"
              % (aa_podman, "on" if aa_host else "off"))
        if aa_podman:
            profile = pm.ok("inspect", "--format", "{{.AppArmorProfile}}", pm.name).strip()
            p = pm.run("exec", pm.name, "cat", "/proc/1/attr/current", "/proc/self/attr/current")
            want_labels = ["%s (enforce)" % profile] * 2
            check(profile.startswith("containers-default") and p.stdout.split("\n")[:2] == want_labels,
                  "podman's AppArmor profile %r: the init and an exec run in %r (%s)"
                  % (profile, p.stdout, p.stderr.strip()))

        pm.ok("pause", pm.name)
        check(read(os.path.join(cgroup, "cgroup.freeze")) == "1", "cgroup.freeze after podman pause")
        pm.ok("unpause", pm.name)
        check(read(os.path.join(cgroup, "cgroup.freeze")) == "0", "cgroup.freeze after podman unpause")
        stats = json.loads(pm.ok("stats", "--no-stream", "--format", "json", pm.name))
        check(len(stats) == 1 and stats[0].get("pids") == "1" and "67.11MB" in stats[0].get("mem_usage", ""),
              "podman stats: %s" % stats)
        pm.ok("update", "--memory", "128m", pm.name)
        check(read(os.path.join(cgroup, "memory.max")) == str(128 << 20), "memory.max after podman update: %s"
              % read(os.path.join(cgroup, "memory.max")))
        if env.systemd and sets_unit_properties(env):
            check(unit_show(pm.scope(), "MemoryMax") == {"MemoryMax": str(128 << 20)},
                  "%s after podman update: %s" % (pm.scope(), unit_show(pm.scope(), "MemoryMax")))
        pm.ok("stop", "-t", "1", pm.name)
        pm.ok("rm", pm.name)
        pm.assert_gone(cgroup)
    finally:
        pm.remove()


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


if __name__ == "__main__":
    sys.exit(run_main(SCENARIOS, label="cgroup2_"))
