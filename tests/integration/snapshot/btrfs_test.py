#!/usr/bin/python3
"""lxcri checkpoint/restore with real btrfs snapshots, and CRIU's error path.

Makes a btrfs image in a temp dir, loop-mounts it, makes the bundle's rootfs
a subvolume and runs a busybox container on it with the lxcri under test:
snapshot while running (the container keeps running), change files, restore,
check the files; plus list, delete, retention and the error paths. The
`criu` scenario checks that a checkpoint without --snapshot reports why CRIU
cannot work and leaves the container running, then skips (77) with CRIU's
reason when `criu check` fails on this host. Everything made (containers,
cgroups, mounts, loop devices, files) is removed even on failure.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lxcri"))
from lxcri_test import Env, Failure, check, run_main, skip  # noqa: E402


def have_btrfs():
    with open("/proc/filesystems") as f:
        if any(line.split()[-1] == "btrfs" for line in f if line.strip()):
            return True
    # The module may load on first mount; modprobe says whether it exists.
    return subprocess.run(["modprobe", "btrfs"], capture_output=True).returncode == 0


class BtrfsEnv(Env):
    """Env whose bundle lives on a loop-mounted btrfs with the rootfs as a subvolume."""

    def __init__(self, runtime, cgroup_driver="cgroupfs"):
        self.runtime = runtime
        self.systemd = cgroup_driver == "systemd"
        self.tmp = tempfile.mkdtemp(prefix="lxcri-btrfs-")
        self.mnt = os.path.join(self.tmp, "mnt")
        self.loop = None
        self.ids = set()
        self.wrap = []
        self.cg_parent = "lxcri-it-" + uuid.uuid4().hex[:8]
        self.root = os.path.join(self.tmp, "state")
        image = os.path.join(self.tmp, "fs.img")
        with open(image, "wb") as f:
            f.truncate(256 << 20)
        run(["mkfs.btrfs", "-q", image])
        self.loop = run(["losetup", "--find", "--show", image]).strip()
        os.makedirs(self.mnt)
        run(["mount", "-t", "btrfs", self.loop, self.mnt])
        self.bundle = os.path.join(self.mnt, "bundle")
        self.rootfs = os.path.join(self.bundle, "rootfs")
        os.makedirs(self.bundle)
        run(["btrfs", "subvolume", "create", self.rootfs])
        self.make_rootfs()

    def cleanup(self):
        self.stop_containers()  # nothing may hold the file system when it is unmounted
        if os.path.ismount(self.mnt):
            if subprocess.run(["umount", self.mnt], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)
        self.remove_leftovers()

    def file(self, rel):
        path = os.path.join(self.rootfs, rel)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    def write(self, rel, text):
        path = os.path.join(self.rootfs, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def snapshots(self, cid):
        p = self.rt("checkpoint", "--list", "--format", "json", cid, check_ok=True)
        return [s["name"] for s in json.loads(p.stdout)]

    def fails(self, args, want):
        p = self.rt(*args)
        check(p.returncode == 1, "%s: want exit 1, got %d (%s)" % (" ".join(args), p.returncode, p.stdout))
        check(want in p.stderr, "%s: want error with %r, got %r" % (" ".join(args), want, p.stderr.strip()))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise Failure("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


def sleeper(env, cid):
    env.config(cid, ["sleep", "1000"])
    env.ids.add(cid)
    env.rt("run", "-d", "--bundle", env.bundle, cid, check_ok=True)
    env.wait_status(cid, "running")


def scenario_roundtrip(env):
    env.write("data/file", "v1")
    sleeper(env, "c1")
    pid = env.state("c1")["pid"]
    out = env.rt("checkpoint", "--snapshot", "s1", "c1", check_ok=True).stdout
    check(out.strip() == "s1", "checkpoint printed %r" % out)
    # Put back as it was: still running, same process, thawed.
    check(env.state("c1")["status"] == "running" and env.state("c1")["pid"] == pid, "c1 not running as before")
    snap = env.rootfs + ".snapshots/s1"
    check(run(["btrfs", "property", "get", "-ts", snap, "ro"]).strip() == "ro=true", "snapshot is not read-only")
    with open(os.path.join(snap, "data/file")) as f:
        check(f.read() == "v1", "snapshot content")
    listed = json.loads(env.rt("checkpoint", "--list", "-f", "json", "c1", check_ok=True).stdout)
    check([(s["name"], s["driver"]) for s in listed] == [("s1", "btrfs")], "list: %r" % listed)
    check(listed[0]["created"] != "-", "btrfs reports no creation time: %r" % listed)
    table = env.rt("checkpoint", "--list", "c1", check_ok=True).stdout.splitlines()
    check(table[0].split() == ["NAME", "CREATED", "DRIVER"] and table[1].split()[0] == "s1", "table: %r" % table)

    env.write("data/file", "v2")
    env.write("data/new", "x")
    env.fails(["restore", "--snapshot", "s1", "c1"], "stop it first")
    check(env.status("c1") == "running", "refused restore touched c1")
    env.rt("kill", "c1", "KILL", check_ok=True)
    env.wait_status("c1", "stopped")
    env.fails(["restore", "--snapshot", "nope", "c1"], "does not exist")
    check(env.status("c1") == "stopped", "failed restore removed the stopped c1")
    env.rt("restore", "-d", "--snapshot", "s1", "c1", check_ok=True)
    env.wait_status("c1", "running")
    check(env.file("data/file") == "v1", "file not restored: %r" % env.file("data/file"))
    check(env.file("data/new") is None, "file made after the snapshot survived the restore")
    check(os.path.isdir(snap), "restore consumed the snapshot")
    # The running container sees the restored rootfs.
    pid = env.state("c1")["pid"]
    with open("/proc/%d/root/data/file" % pid) as f:
        check(f.read() == "v1", "container does not see the restored file")

    env.rt("checkpoint", "--delete", "s1", "c1", check_ok=True)
    check(env.snapshots("c1") == [], "delete left the snapshot")
    check(not os.path.exists(snap), "snapshot subvolume left behind")
    env.rt("delete", "--force", "c1", check_ok=True)
    env.assert_nothing_left("c1")


def scenario_paused(env):
    sleeper(env, "c2")
    env.rt("pause", "c2", check_ok=True)
    env.rt("checkpoint", "--snapshot", "p1", "c2", check_ok=True)
    check(env.status("c2") == "paused", "a paused container must stay paused, is %s" % env.status("c2"))
    env.rt("resume", "c2", check_ok=True)
    check(env.status("c2") == "running", "resume after checkpoint")
    # An unnamed checkpoint with the btrfs driver configured gets a generated name.
    os.environ["LXCRI_CHECKPOINT_DRIVER"] = "btrfs"
    try:
        name = env.rt("checkpoint", "c2", check_ok=True).stdout.strip()
    finally:
        del os.environ["LXCRI_CHECKPOINT_DRIVER"]
    check(name.startswith("lxcri_") and sorted(env.snapshots("c2")) == sorted(["p1", name]),
          "auto-named snapshot %r, have %r" % (name, env.snapshots("c2")))


def scenario_retention(env):
    sleeper(env, "c3")
    os.environ["LXCRI_CHECKPOINT_RETENTION_MAX_SNAPSHOTS"] = "2"
    try:
        for name in ("r1", "r2", "r3"):
            env.rt("checkpoint", "--snapshot", name, "c3", check_ok=True)
    finally:
        del os.environ["LXCRI_CHECKPOINT_RETENTION_MAX_SNAPSHOTS"]
    check(sorted(env.snapshots("c3")) == ["r2", "r3"], "retention kept %r" % env.snapshots("c3"))
    check(not os.path.exists(env.rootfs + ".snapshots/r1"), "r1's subvolume is still there")


def scenario_errors(env):
    sleeper(env, "c4")
    env.fails(["checkpoint", "--snapshot", "bad-name", "c4"], "snapshot name \"bad-name\"")
    env.fails(["checkpoint", "--snapshot", "e1", "--tcp-established", "c4"], "--tcp-established")
    env.fails(["checkpoint", "--snapshot", "e1", "--list", "c4"], "exclude each other")
    env.fails(["checkpoint", "--delete", "nope", "c4"], "does not exist")
    env.fails(["checkpoint", "--snapshot", "e1", "nosuch"], "nosuch")
    env.rt("checkpoint", "--snapshot", "e1", "c4", check_ok=True)
    env.fails(["checkpoint", "--snapshot", "e1", "c4"], "exists already")
    check(env.status("c4") == "running", "failed checkpoints left c4 %s" % env.status("c4"))
    # A rootfs that is a plain directory on btrfs is no subvolume.
    env.rt("delete", "--force", "c4", check_ok=True)
    plain = os.path.join(env.mnt, "plain")
    shutil.copytree(env.rootfs, os.path.join(plain, "rootfs"), symlinks=True)
    shutil.copy(os.path.join(env.bundle, "config.json"), plain)
    env.ids.add("c5")
    env.rt("run", "-d", "--bundle", plain, "c5", check_ok=True)
    env.fails(["checkpoint", "--snapshot", "e2", "c5"], "is not a btrfs subvolume")
    check(env.status("c5") == "running", "refused checkpoint left c5 %s" % env.status("c5"))


def scenario_criu(env):
    sleeper(env, "c6")
    check_run = subprocess.run(["criu", "check"], capture_output=True, text=True) if shutil.which("criu") else None
    p = env.rt("checkpoint", "--image-path", os.path.join(env.tmp, "img"), "c6")
    if check_run is not None and check_run.returncode == 0:
        check(p.returncode == 0, "criu checkpoint failed: %s" % p.stderr)
        env.rt("restore", "-d", "--image-path", os.path.join(env.tmp, "img"), "--bundle", env.bundle, "c6",
               check_ok=True)
        check(env.status("c6") == "running", "criu restore")
        return
    want = "CRIU cannot checkpoint processes on this host" if check_run else "cannot run criu"
    check(p.returncode == 1 and want in p.stderr, "want %r, got %d %r" % (want, p.returncode, p.stderr))
    check(env.status("c6") == "running", "failed criu checkpoint left c6 %s" % env.status("c6"))
    reason = (check_run.stderr.strip().splitlines() or ["?"])[0] if check_run else "criu is not installed"
    skip("CRIU checkpoints cannot run here (criu check: %s); the error path was checked" % reason)


SCENARIOS = {
    "roundtrip": scenario_roundtrip,
    "paused": scenario_paused,
    "retention": scenario_retention,
    "errors": scenario_errors,
    "criu": scenario_criu,
}


def btrfs_preflight():
    for tool in ("mkfs.btrfs", "btrfs", "losetup"):
        if not shutil.which(tool):
            skip("%s is not installed (btrfs-progs, mount)" % tool)
    if not have_btrfs():
        skip("the kernel has no btrfs")
    if not os.path.exists("/dev/loop-control"):
        skip("no loop devices (/dev/loop-control)")


def make_btrfs_env(runtime, cgroup_driver="cgroupfs"):
    try:
        return BtrfsEnv(runtime, cgroup_driver)
    except Failure as e:
        skip("cannot set up a loop-mounted btrfs: %s" % e)


if __name__ == "__main__":
    sys.exit(run_main(SCENARIOS, label="btrfs ", make_env=make_btrfs_env, preflight=btrfs_preflight))
