#!/usr/bin/python3
"""tmpfs mounts under lxcri and under runc (the control), compared.

Each scenario builds the same busybox-static bundle for both runtimes, runs
the same containers with each, and compares what the containers see: owner,
mode and type of every tmpfs mount point and of everything in it (contents
by checksum, symlinks by target), and whether uid 65532 can write to it.

  bundle   tmpfs over an image directory of uid 65532 mode 0750 with files
           in it (plain, tmpcopyup, mode=, uid=/gid=, read-only with
           tmpcopyup), over a sticky 01777 directory, over a missing mount
           point (with and without mode=/uid=)
  hostile  mount destinations that are symlinks to a host directory
           (absolute and by `..`), to the host's /etc/shadow, and tmpcopyup
           of a directory holding symlinks to /etc/shadow and to a host file:
           nothing outside the rootfs is read, written, chmodded or mounted
  podman   `podman run --tmpfs` of an image whose directory is owned by
           65532, under each runtime (podman adds tmpcopyup itself)

What runc 1.1.5 does (libcontainer/rootfs_linux.go, measured here): the
tmpfs is mounted with the spec's options; tmpcopyup copies the directory's
contents with their owners and modes; then, if the mount point existed, it
is chmodded to that directory's mode, so mode= is overridden; its owner is
never copied (root, or uid=/gid=). Two copy details of runc 1.1.5 are
bugs lxcri does not share and the cases avoid: subdirectories get the
umask applied and lose set-gid (runc issue 3991, fixed in 1.1.10), and
times are not kept.

Needs root, busybox-static and runc; skips (77) with the reason otherwise.
"""

import argparse
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxcri_test import Env, Failure, check, cgroup_layout, skip  # noqa: E402

USER = 65532

# Prints each mount point and everything below it, one line each:
# path uid:gid mode type [symlink target | md5 of a file].
DESCRIBE = r"""
for d in "$@"; do
  if [ ! -d "$d" ]; then echo "$d absent"; continue; fi
  grep -q " $d tmpfs " /proc/self/mounts || echo "$d not-a-tmpfs"
  find "$d" | sort | while read -r p; do
    line=$(stat -c '%n %u:%g %a %F' "$p")
    if [ -L "$p" ]; then line="$line -> $(readlink "$p")"
    elif [ -f "$p" ]; then line="$line $(md5sum < "$p" | cut -c1-32)"; fi
    echo "$line"
  done
  if grep -q " $d tmpfs ro[, ]" /proc/self/mounts; then echo "$d read-only"; fi
done
"""

# As uid 65532: can it create a file in each mount point?
PROBE = r"""
for d in "$@"; do
  if touch "$d/.probe" 2>/dev/null; then echo "$d writable"; else echo "$d denied"; fi
done
"""


def tmpfs(dest, *options):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"] + list(options)}


def write(path, text, uid=0, gid=0, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def image_dir(rootfs, dest, uid, mode, fill=True):
    """An image directory at `dest` owned by uid:uid with `mode`, with files,
    a subdirectory and a symlink in it when `fill`."""
    path = os.path.join(rootfs, dest.lstrip("/"))
    os.makedirs(path)
    if fill:
        write(os.path.join(path, "conf"), "setting=1\n", uid, uid, 0o640)
        write(os.path.join(path, "tool"), "#!/bin/sh\n", 0, 0, 0o4755)
        sub = os.path.join(path, "sub")
        os.mkdir(sub)
        write(os.path.join(sub, "deep"), "deep\n", 7, 8, 0o600)
        os.chown(sub, 7, 8)
        os.chmod(sub, 0o711)
        os.symlink("conf", os.path.join(path, "link"))
    os.chown(path, uid, uid)
    os.chmod(path, mode)
    return path


class Run:
    """One runtime's world for a scenario: an Env, its mounts and their destinations."""

    def __init__(self, runtime):
        self.env = Env(runtime)
        self.name = os.path.basename(runtime)
        self.mounts, self.dests = [], []
        self.image = None

    def run(self, cid, script, user=None):
        """Runs `sh -c script` with the destinations as arguments: as root able to
        read everything, or as `user`; each container starts from the image as built."""
        if self.image is None:
            self.image = self.tree()

        def patch(cfg):
            cfg["mounts"].extend(self.mounts)
            if user is None:
                for kind in ("bounding", "effective", "permitted"):
                    cfg["process"]["capabilities"][kind] += ["CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"]
            else:
                cfg["process"]["user"] = {"uid": user, "gid": user}
        self.env.config(cid, ["sh", "-c", script, "sh"] + self.dests, patch=patch)
        self.env.ids.add(cid)
        p = self.env.rt("run", "--bundle", self.env.bundle, cid)
        self.env.rt("delete", "--force", cid)
        check(p.returncode == 0, "%s: container %s exited %d: %s" % (self.name, cid, p.returncode, p.stderr.strip()))
        self.env.assert_nothing_left(cid)
        # The mount points the runtime made (a runtime makes them in the rootfs, as runc does).
        for path in sorted(self.tree() - self.image, key=len, reverse=True):
            os.rmdir(path)
        return p.stdout

    def tree(self):
        found = set()
        for top, dirs, files in os.walk(self.env.rootfs):
            found.update(os.path.join(top, n) for n in dirs + files)
        return found

    def observe(self):
        return self.run("describe", DESCRIBE) + self.run("probe", PROBE, user=USER)


class Runs:
    """lxcri's and runc's Run, each built by `build(env)` -> (mounts, destinations); cleaned up on exit."""

    def __init__(self, lxcri, runc):
        self.lxcri, self.runc = Run(lxcri), Run(runc)

    def build(self, build):
        for run in (self.lxcri, self.runc):
            run.mounts, run.dests = build(run.env)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for run in (self.lxcri, self.runc):
            run.env.cleanup()


def compare(runs):
    """Both runtimes' views, which must be equal; returns runc's lines."""
    want = runs.runc.observe().splitlines()
    got = runs.lxcri.observe().splitlines()
    diff = ["  runc:  %s\n  lxcri: %s" % (w, g) for w, g in zip(want, got) if w != g]
    check(not diff and len(want) == len(got),
          "lxcri differs from runc:\n%s%s" % ("\n".join(diff), "" if len(want) == len(got) else
                                              "\n  runc %d lines, lxcri %d:\n%s\n---\n%s" %
                                              (len(want), len(got), "\n".join(want), "\n".join(got))))
    return want


def line_of(lines, prefix):
    """The stat line of `prefix` in DESCRIBE's output."""
    found = [line for line in lines if line.startswith(prefix + " ") and ":" in line.split()[1]]
    check(len(found) == 1, "no single line for %s in:\n%s" % (prefix, "\n".join(lines)))
    return found[0]


# ---------------------------------------------------------------------------


def build_bundle(env):
    r = env.rootfs
    for d in ("/plain", "/copyup", "/mode", "/owner", "/rocopy"):
        image_dir(r, d, USER, 0o750)
    image_dir(r, "/sticky", 0, 0o1777, fill=False)
    mounts = [tmpfs("/plain"), tmpfs("/copyup", "tmpcopyup"), tmpfs("/mode", "mode=1777"),
              tmpfs("/owner", "uid=%d" % USER, "gid=%d" % USER), tmpfs("/rocopy", "ro", "tmpcopyup"),
              tmpfs("/sticky"), tmpfs("/missing"), tmpfs("/missing2", "mode=0711", "uid=5", "tmpcopyup")]
    return mounts, [m["destination"] for m in mounts]


def scenario_bundle(lxcri, runc):
    with Runs(lxcri, runc) as runs:
        runs.build(build_bundle)
        want = compare(runs)
        # What runc does, so that a runc that changed shows here rather than as a silent agreement.
        check(line_of(want, "/plain").endswith(" 0:0 750 directory"), "runc's plain tmpfs: %s" % want)
        check("/plain denied" in want and "/owner writable" in want and "/missing writable" in want,
              "runc's writability for uid %d: %s" % (USER, want))
        check(line_of(want, "/mode").endswith(" 0:0 750 directory"), "runc's mode= is overridden: %s" % want)
        check(line_of(want, "/copyup/conf").startswith("/copyup/conf %d:%d 640 regular file" % (USER, USER)),
              "runc's tmpcopyup: %s" % want)
        check("/rocopy read-only" in want, "runc's read-only tmpcopyup: %s" % want)
        check(line_of(want, "/missing").endswith(" 0:0 1777 directory"), "runc's new mount point: %s" % want)


class Host:
    """Host paths a hostile bundle aims at, and their state before the run."""

    def __init__(self, env):
        self.name = "tmpfs-atk-" + env.cg_parent
        self.dir = os.path.join("/tmp", self.name)
        os.mkdir(self.dir, 0o700)
        os.chown(self.dir, 123, 123)
        self.secret = os.path.join(self.dir, "secret")
        write(self.secret, "SECRET-" + self.name + "\n", 123, 123, 0o600)
        self.before = self.state()

    def state(self):
        def one(path):
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            return (path, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, digest)
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if self.name in line]
        return ([one(p) for p in (self.dir, self.secret, "/etc/shadow", "/etc")], sorted(os.listdir(self.dir)),
                mounts)

    def check_untouched(self, who):
        check(self.state() == self.before, "%s reached the host: %s -> %s" % (who, self.before, self.state()))

    def remove(self):
        subprocess.run(["umount", "-R", "-l", self.dir], capture_output=True)
        subprocess.run(["rm", "-rf", self.dir], check=True)


def build_hostile(host):
    """Destinations that are symlinks naming host paths: the rootfs has a
    directory of each name (lxcri refuses a dangling one, see DANGLING), so
    both runtimes mount there, never on the host's."""
    def build(env):
        r = env.rootfs
        twin = image_dir(r, host.dir, USER, 0o750)
        write(os.path.join(twin, "inside"), "rootfs twin\n")
        os.makedirs(os.path.join(r, "etc", "shadow"), 0o700)
        os.symlink(host.dir, os.path.join(r, "escape"))
        os.symlink("../" * 24 + host.dir.lstrip("/"), os.path.join(r, "escape_up"))
        os.symlink("/etc/shadow", os.path.join(r, "shadowdir"))
        cu = image_dir(r, "/cu", USER, 0o755)
        os.symlink("/etc/shadow", os.path.join(cu, "shadow"))
        os.symlink(host.secret, os.path.join(cu, "secret"))
        os.symlink("../" * 24 + "etc", os.path.join(cu, "etc"))
        mounts = [tmpfs("/escape", "tmpcopyup"), tmpfs("/escape_up", "mode=0777", "tmpcopyup"), tmpfs("/shadowdir", "tmpcopyup"),
                  tmpfs("/cu", "tmpcopyup")]
        return mounts, ["/escape", "/escape_up", "/shadowdir", "/cu", "/etc/shadow", host.dir]
    return build


SNOOP = r"""
for f in /cu/shadow /cu/secret /cu/etc/shadow /escape/secret /escape/conf; do cat "$f" 2>/dev/null; done
echo snooped
"""


def dangling(run, host):
    """A destination symlink to a host path the rootfs lacks: runc makes the
    directory in the rootfs; lxcri refuses it by name (mkdir_in_root does not
    guess where a dangling symlink was meant to point). The host is untouched."""
    os.symlink(host.dir + "/nowhere", os.path.join(run.env.rootfs, "dangling"))
    run.mounts, run.dests = [tmpfs("/dangling", "tmpcopyup")], ["/dangling"]
    run.image = None
    run.env.config("dangling", ["true"], patch=lambda cfg: cfg["mounts"].extend(run.mounts))
    run.env.ids.add("dangling")
    p = run.env.rt("run", "--bundle", run.env.bundle, "dangling")
    run.env.rt("delete", "--force", "dangling")
    if run.name == "runc":
        check(p.returncode == 0, "runc refused a dangling destination: %s" % p.stderr.strip())
    else:
        check(p.returncode != 0 and "/dangling is a dangling symlink" in p.stderr,
              "lxcri on a dangling destination (%d): %s" % (p.returncode, p.stderr.strip()))
    run.env.assert_nothing_left("dangling")
    host.check_untouched(run.name + " with a dangling destination")


def scenario_hostile(lxcri, runc):
    with Runs(lxcri, runc) as runs:
        host = Host(runs.runc.env)
        try:
            runs.build(build_hostile(host))
            want = compare(runs)
            host.check_untouched("a hostile tmpfs bundle")
            check(line_of(want, "/cu/shadow").endswith("symbolic link -> /etc/shadow"), "runc's copy: %s" % want)
            # The symlinked destinations were resolved in the rootfs: the tmpfs is at the host path's name there.
            check(line_of(want, host.dir).endswith(" directory") and host.dir + " not-a-tmpfs" not in want,
                  "runc's symlinked destination: %s" % want)
            check(line_of(want, host.dir + "/inside") and not [x for x in want if x.startswith(host.secret)],
                  "runc's tmpcopyup through a symlink: %s" % want)
            for run in (runs.lxcri, runs.runc):
                out = run.run("snoop", SNOOP)
                check("SECRET" not in out and "root:" not in out, "%s: the container read a host file: %r" %
                      (run.name, out))
                host.check_untouched(run.name)
                dangling(run, host)
        finally:
            host.remove()


def scenario_podman(lxcri, runc):
    podman = "/usr/bin/podman"
    if not os.access(podman, os.X_OK):
        skip("podman is not installed")
    env = Env(runc)
    image = "localhost/lxcri-tmpfs-" + env.cg_parent[-8:] + ":test"
    try:
        image_dir(env.rootfs, "/run/app", USER, 0o750)
        tarball = os.path.join(env.tmp, "rootfs.tar")
        subprocess.run(["tar", "--numeric-owner", "-C", env.rootfs, "-cf", tarball, "."], check=True)
        p = subprocess.run([podman, "import", tarball, image], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, "podman import failed: %s" % p.stderr)
        seen = {}
        for rt in (lxcri, runc):
            out = []
            for user, script in (("0", DESCRIBE), (str(USER), PROBE)):
                cmd = [podman, "--runtime", rt, "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit",
                       "nproc=4096:4096", "--user", user, "--tmpfs", "/run/app", "--tmpfs", "/run/new",
                       image, "sh", "-c", script, "sh", "/run/app", "/run/new"]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
                check(p.returncode == 0, "podman run with %s exited %d: %s" % (rt, p.returncode, p.stderr))
                out += p.stdout.splitlines()
            seen[rt] = out
        check(seen[lxcri] == seen[runc], "podman --tmpfs: lxcri differs from runc:\nrunc:\n%s\nlxcri:\n%s" %
              ("\n".join(seen[runc]), "\n".join(seen[lxcri])))
        check("/run/app denied" in seen[runc] and "/run/new writable" in seen[runc],
              "runc under podman: %s" % seen[runc])
    finally:
        subprocess.run([podman, "rmi", "-f", image], capture_output=True)
        env.cleanup()


SCENARIOS = {"bundle": scenario_bundle, "hostile": scenario_hostile, "podman": scenario_podman}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lxcri", required=True)
    ap.add_argument("--runc", default="/usr/sbin/runc")
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    a = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root")
    for rt in (a.lxcri, a.runc):
        if not os.access(rt, os.X_OK):
            skip("runtime %s is not installed" % rt)
    if not os.path.exists("/bin/busybox"):
        skip("busybox-static is not installed")
    if cgroup_layout() is None:
        skip("no usable cgroup hierarchy")
    try:
        SCENARIOS[a.scenario](os.path.abspath(a.lxcri), a.runc)
    except Failure as e:
        print("FAIL [tmpfs %s]: %s" % (a.scenario, e))
        return 1
    print("PASS [tmpfs %s]" % a.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
