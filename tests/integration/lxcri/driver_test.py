#!/usr/bin/python3
"""The cgroup driver choice where the systemd driver cannot work.

On a host without systemd as init, or without a pure cgroup v2 hierarchy (the
build machines: hybrid, no systemd), --systemd-cgroup must fail with a clear
error naming what is missing, before anything is made, and leave no state,
cgroup or process behind. Bad systemd cgroupsPath values are refused naming
the field wherever the runtime runs. Each check runs with lxcri and with
runc, the control: both must refuse (the wording is lxcri's own).

For lxcri also: the systemd driver's D-Bus client (libsystemd) and the
proxmox backend (libcurl) are modules that the commands podman runs on every
container never load (docs/lxcri.md, "Cgroup drivers and hosts").

The systemd driver working is proven in the VM (tests/vm).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def systemd_v2_host():
    return os.path.isdir("/run/systemd/system") and os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroup_dirs_named(fragment):
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(top, d) for d in dirs if fragment in d]
        if top.count("/") > 6:
            dirs[:] = []
    return found


class World:
    def __init__(self, runtime):
        self.runtime = runtime
        self.is_lxcri = os.path.basename(runtime).startswith("lxcri")
        self.tmp = tempfile.mkdtemp(prefix="lxcri-driver-")
        self.root = os.path.join(self.tmp, "state")
        self.bundle = os.path.join(self.tmp, "bundle")
        os.makedirs(os.path.join(self.bundle, "rootfs", "bin"))
        shutil.copy("/bin/busybox", os.path.join(self.bundle, "rootfs", "bin", "sh"))
        subprocess.run([runtime, "spec", "--bundle", self.bundle], check=True, capture_output=True)

    def config(self, cgroups_path):
        path = os.path.join(self.bundle, "config.json")
        with open(path) as fh:
            cfg = json.load(fh)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sh", "-c", "true"]
        if cgroups_path is None:
            cfg["linux"].pop("cgroupsPath", None)
        else:
            cfg["linux"]["cgroupsPath"] = cgroups_path
        with open(path, "w") as fh:
            json.dump(cfg, fh)

    def rt(self, *args, env=None):
        # Files, not pipes: a created container's init would hold a pipe open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run([self.runtime, "--root", self.root, *args], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=err, timeout=60, env=env)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())

    def refused(self, cid, global_flags, cgroups_path, *wanted, runc_too=True):
        if not self.is_lxcri and not runc_too:
            return
        self.config(cgroups_path)
        p = self.rt(*global_flags, "create", "--bundle", self.bundle, cid)
        what = "%s create with %s cgroupsPath %r" % (os.path.basename(self.runtime), global_flags, cgroups_path)
        check(p.returncode != 0, "%s should fail: %s" % (what, p.stdout))
        if self.is_lxcri:
            for w in wanted:
                check(w in p.stderr, "%s: error should name %r: %s" % (what, w, p.stderr.strip()))
        # Nothing half-made: no state, no cgroup, no process.
        listed = self.rt("list", "--quiet").stdout.split()
        check(cid not in listed, "%s left a container: %s" % (what, listed))
        if self.is_lxcri:
            check(not os.path.exists(os.path.join(self.root, cid)), "%s left its state dir" % what)
        check(not cgroup_dirs_named(cid), "%s left cgroups: %s" % (what, cgroup_dirs_named(cid)))
        ps = subprocess.run(["pgrep", "-f", self.bundle], capture_output=True, text=True).stdout.split()
        check(not ps, "%s left processes: %s" % (what, ps))

    def close(self):
        for cid in self.rt("list", "--quiet").stdout.split():
            self.rt("delete", "--force", cid)
        shutil.rmtree(self.tmp, ignore_errors=True)


def scenario_refusals(w):
    # runc's systemd form without the systemd driver: runc makes a cgroup
    # literally named "system.slice:lxcri-it:drv-a"; lxcri says what is wrong.
    w.refused("drv-a", [], "system.slice:lxcri-it:drv-a", "linux.cgroupsPath", "--systemd-cgroup", runc_too=False)
    # Not of the systemd form, or no unit name, with it.
    w.refused("drv-b", ["--systemd-cgroup"], "/lxcri-it/drv-b", "linux.cgroupsPath", "slice:prefix:name")
    w.refused("drv-c", ["--systemd-cgroup"], "system.slice:lxcri-it:", "linux.cgroupsPath")
    w.refused("drv-d", ["--systemd-cgroup"], "a--b.slice:lxcri-it:drv-d", "linux.cgroupsPath", "slice")
    w.refused("drv-e", ["--systemd-cgroup"], "system.slice:../x:drv-e", "linux.cgroupsPath")
    if systemd_v2_host():
        return
    # A well-formed path on a host where the driver cannot work.
    w.refused("drv-f", ["--systemd-cgroup"], "system.slice:lxcri-it:drv-f", "--systemd-cgroup")


def loaded_libraries(w, *args):
    env = dict(os.environ, LD_DEBUG="files")
    p = w.rt(*args, env=env)
    return [line for line in p.stderr.splitlines() if "file=" in line or "calling init:" in line]


def scenario_modules(w):
    if not w.is_lxcri:
        print("SKIP: lxcri's modules do not exist in %s" % w.runtime)
        sys.exit(SKIP)
    ldd = subprocess.run(["ldd", w.runtime], capture_output=True, text=True).stdout
    for lib in ("libsystemd", "libcurl", "libssl"):
        check(lib not in ldd, "lxcri links %s itself:\n%s" % (lib, ldd))
    module = os.path.join(os.path.dirname(w.runtime), os.pardir, "lib", "pvekit", "lxcri-systemd.so")
    check(os.path.exists(module), "the systemd driver module is missing: %s" % module)
    w.config(None)
    for args in (["features"], ["list"], ["state", "ghost"], ["create", "--bundle", w.bundle, "drv-m"],
                 ["delete", "--force", "drv-m"]):
        libs = loaded_libraries(w, *args)
        check(libs, "LD_DEBUG showed no libraries for %s" % args)
        heavy = [line for line in libs if "libsystemd" in line or "libcurl" in line]
        check(not heavy, "lxcri %s loaded %s" % (" ".join(args), heavy))
    # --systemd-cgroup loads the module (and only then), wherever create gets that far.
    if not systemd_v2_host():
        w.config("system.slice:lxcri-it:drv-n")
        libs = loaded_libraries(w, "--systemd-cgroup", "create", "--bundle", w.bundle, "drv-n")
        check(not any("libsystemd" in line for line in libs), "a refused create loaded libsystemd: %s" % libs)


SCENARIOS = {"refusals": scenario_refusals, "modules": scenario_modules}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return SKIP
    if not os.access(a.runtime, os.X_OK):
        print("SKIP: runtime %s is not installed" % a.runtime)
        return SKIP
    if not os.path.exists("/bin/busybox"):
        print("SKIP: busybox-static is not installed")
        return SKIP
    w = World(os.path.abspath(a.runtime))
    name = "%s %s" % (os.path.basename(a.runtime), a.scenario)
    try:
        SCENARIOS[a.scenario](w)
    except Failure as e:
        print("FAIL [%s]: %s" % (name, e))
        return 1
    finally:
        w.close()
    print("PASS [%s]" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
