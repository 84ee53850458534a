#!/usr/bin/python3
"""The cgroup driver choice where the systemd driver cannot work.

On a host without systemd as init, or without a pure cgroup v2 hierarchy (the
build machines: hybrid, no systemd), --systemd-cgroup must fail with a clear
error naming what is missing, before anything is made, and leave no state,
cgroup or process behind. Bad systemd cgroupsPath values are refused naming
the field wherever the runtime runs. Each check runs with lxcri and with
runc, the control: both must refuse (the wording is lxcri's own).

For lxcri also: lxcri is a static executable, and the systemd driver's D-Bus
client (libsystemd) and the proxmox backend (libcurl) are helper executables
beside it that the commands podman runs on every container never run
(docs/lxcri.md, "Cgroup drivers and hosts").

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


def elf_dynamic(path):
    """(interpreter, NEEDED libraries) of an ELF file, from readelf."""
    out = subprocess.run(["readelf", "-l", "-d", path], capture_output=True, text=True, check=True).stdout
    interp = [line for line in out.splitlines() if "Requesting program interpreter" in line]
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    return interp, needed


class StandInHelpers:
    """A copy of lxcri with stand-in helpers beside it (bin/ and lib/pvekit/, as
    installed) that record each run (argv, one line) and then fail."""

    def __init__(self, w):
        self.top = os.path.join(w.tmp, "install")
        self.lxcri = os.path.join(self.top, "bin", "lxcri")
        self.dir = os.path.join(self.top, "lib", "pvekit")
        self.record = os.path.join(w.tmp, "helper-runs")
        os.makedirs(os.path.dirname(self.lxcri))
        os.makedirs(self.dir)
        shutil.copy(w.runtime, self.lxcri)
        for name in ("lxcri-proxmox", "lxcri-systemd"):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write('#!/bin/sh\necho "$(basename "$0") $*" >> %s\necho "stand-in $(basename "$0") failed" >&2\n'
                        "exit 3\n" % self.record)
            os.chmod(os.path.join(self.dir, name), 0o755)

    def runs(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            runs = f.read().splitlines()
        os.unlink(self.record)
        return runs


def scenario_helpers(w):
    if not w.is_lxcri:
        print("SKIP: lxcri's helpers do not exist in %s" % w.runtime)
        sys.exit(SKIP)
    interp, needed = elf_dynamic(w.runtime)
    check(not interp and not needed, "lxcri is not static: interpreter %s, NEEDED %s" % (interp, needed))
    for name, lib in (("lxcri-systemd", "libsystemd"), ("lxcri-proxmox", "libcurl")):
        helper = os.path.join(os.path.dirname(w.runtime), os.pardir, "lib", "pvekit", name)
        check(os.access(helper, os.X_OK), "the helper %s is missing or not executable" % helper)
        check(any(n.startswith(lib) for n in elf_dynamic(helper)[1]), "%s does not link %s" % (name, lib))
    stand_in = StandInHelpers(w)
    w.runtime = stand_in.lxcri
    w.config(None)
    for args in (["features"], ["list"], ["state", "ghost"], ["create", "--bundle", w.bundle, "drv-m"],
                 ["state", "drv-m"], ["start", "drv-m"], ["kill", "drv-m", "KILL"], ["delete", "--force", "drv-m"]):
        p = w.rt(*args)
        check(not stand_in.runs(), "lxcri %s ran a helper" % " ".join(args))
        check(p.returncode == 0 or args == ["state", "ghost"] or args[0] == "kill",
              "lxcri %s failed: %s" % (" ".join(args), p.stderr))
    # --systemd-cgroup runs the systemd helper once its create gets that far;
    # a create refused before (this host: no systemd) runs none.
    if not systemd_v2_host():
        w.config("system.slice:lxcri-it:drv-n")
        p = w.rt("--systemd-cgroup", "create", "--bundle", w.bundle, "drv-n")
        check(p.returncode != 0 and "--systemd-cgroup" in p.stderr, "create drv-n: %s" % p.stderr)
        check(not stand_in.runs(), "a refused create ran a helper")
    # A container routed to the proxmox backend: the whole command line is
    # handed to lxcri-proxmox, whose exit status and error come back as they are.
    config = os.path.join(w.tmp, "lxcri.json")
    with open(config, "w") as f:
        json.dump({"proxmox_api": {"hosts": ["127.0.0.1:9"], "token_id": "u@pve!t",
                                   "token_secret": "never-in-argv"}}, f)
    w.config(None)
    annotated = os.path.join(w.bundle, "config.json")
    with open(annotated) as f:
        cfg = json.load(f)
    cfg["annotations"] = {"org.pvekit.backend": "proxmox"}
    with open(annotated, "w") as f:
        json.dump(cfg, f)
    p = w.rt("--config", config, "create", "--bundle", w.bundle, "drv-p")
    runs = stand_in.runs()
    check(runs == ["lxcri-proxmox --root %s --config %s create --bundle %s drv-p" % (w.root, config, w.bundle)],
          "create drv-p should hand its command line over once: %s" % runs)
    check(p.returncode == 3 and "stand-in lxcri-proxmox failed" in p.stderr,
          "the helper's status and error should come back: %d %s" % (p.returncode, p.stderr))
    check(not os.path.exists(os.path.join(w.root, "drv-p")), "the hand-over left a state dir")
    check(all("never-in-argv" not in r for r in runs), "the token secret reached argv")
    # Without the helper: an error naming it.
    os.unlink(os.path.join(stand_in.dir, "lxcri-proxmox"))
    p = w.rt("--config", config, "create", "--bundle", w.bundle, "drv-p")
    check(p.returncode != 0 and "the proxmox backend helper %s could not be run: No such file or directory"
          % os.path.join(stand_in.dir, "lxcri-proxmox") in p.stderr, "create without the helper: %s" % p.stderr)


SCENARIOS = {"refusals": scenario_refusals, "helpers": scenario_helpers}


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
