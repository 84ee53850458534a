#!/usr/bin/python3
"""Records the functions lxcri's commands run, for apps/lxcri/symbol-order.txt.

usage: scripts/lxcri_symbol_order.py [LXCRI [OUTPUT]]
  LXCRI   the build tree's lxcri (default build/default/apps/lxcri/lxcri)
  OUTPUT  default apps/lxcri/symbol-order.txt

Runs create, start, state, kill and delete of a busybox container under
valgrind's callgrind (root, valgrind and busybox-static needed) and writes the
names of the functions each command ran, hot first: those that more commands
run before those that fewer run, in the order the commands first ran them.
lld places them at the start of lxcri's .text in that order
(apps/lxcri/CMakeLists.txt), so a command touches a few hundred KB of code
instead of pages spread over all of it. Run it again after larger changes to
lxcri's code paths; functions missing from the list only cost memory.

lxcri runs from a read-only bind mount of its directory: its
CVE-2019-5736 protection then has nothing to do (it would re-execute itself
from a detached mount, which valgrind 3.19 cannot follow), and the commands'
own code paths are what is recorded.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The commands in the order their functions are ranked by on a tie: state is
# the one podman and containerd run most.
COMMANDS = ("state", "start", "delete", "kill", "create")


def callgrind(lxcri, root, args, out_dir, name):
    out = os.path.join(out_dir, name + ".%p")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--demangle=no",
           lxcri, "--root", root] + args
    # A file, not a pipe: the container's init inherits create's stderr.
    with tempfile.TemporaryFile(mode="w+") as err:
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err).returncode
        err.seek(0)
        if rc != 0:
            sys.exit("lxcri %s failed under valgrind:\n%s" % (" ".join(args), err.read()[-2000:]))
    names = []
    seen = set()
    for path in sorted(f for f in os.listdir(out_dir) if f.startswith(name + ".")):
        with open(os.path.join(out_dir, path), errors="replace") as f:
            for line in f:
                m = re.match(r"^c?fn=\(\d+\) (\S+)", line)
                # callgrind marks a function's recursion depth with 'N; plain
                # addresses are code without a symbol (PLT entries).
                if m:
                    fn = m.group(1).split("'")[0]
                    if fn not in seen and not fn.startswith("0x") and fn != "(below":
                        seen.add(fn)
                        names.append(fn)
    return names


def make_bundle(lxcri, tmp, args):
    bundle = os.path.join(tmp, "bundle")
    bindir = os.path.join(bundle, "rootfs", "bin")
    os.makedirs(bindir)
    shutil.copy2("/bin/busybox", os.path.join(bindir, "busybox"))
    for applet in ("sh", "true", "sleep"):
        os.symlink("busybox", os.path.join(bindir, applet))
    subprocess.run([lxcri, "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    # valgrind keeps some descriptors for itself and lowers RLIMIT_NOFILE.
    cfg["process"].pop("rlimits", None)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return bundle


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lxcri_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                                 os.path.join(repo, "build/default/apps/lxcri/lxcri"))
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "apps/lxcri/symbol-order.txt")
    if os.geteuid() != 0:
        sys.exit("needs root (real containers)")
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind")
    tmp = tempfile.mkdtemp(prefix="lxcri-order-")
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    shutil.copy2(lxcri_path, os.path.join(ro, "lxcri"))
    mounted = False
    root = os.path.join(tmp, "state")
    lxcri = os.path.join(ro, "lxcri")
    try:
        subprocess.run(["mount", "--bind", ro, ro], check=True)
        mounted = True
        subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True)
        prof = os.path.join(tmp, "prof")
        os.mkdir(prof)
        runs = {}
        bundle = make_bundle(lxcri, os.path.join(tmp, "a"), ["/bin/true"])
        runs["create"] = callgrind(lxcri, root, ["create", "--bundle", bundle, "o1"], prof, "create")
        runs["start"] = callgrind(lxcri, root, ["start", "o1"], prof, "start")
        runs["state"] = callgrind(lxcri, root, ["state", "o1"], prof, "state")
        runs["delete"] = callgrind(lxcri, root, ["delete", "--force", "o1"], prof, "delete")
        bundle = make_bundle(lxcri, os.path.join(tmp, "b"), ["/bin/sleep", "1000"])
        subprocess.run([lxcri, "--root", root, "create", "--bundle", bundle, "o2"], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([lxcri, "--root", root, "start", "o2"], check=True)
        runs["kill"] = callgrind(lxcri, root, ["kill", "o2", "KILL"], prof, "kill")
    finally:
        for cid in ("o1", "o2"):
            subprocess.run([lxcri_path, "--root", root, "delete", "--force", cid], capture_output=True)
        if mounted:
            subprocess.run(["umount", ro])
        shutil.rmtree(tmp, ignore_errors=True)
    users = {}
    first = {}
    for cmd in COMMANDS:
        for fn in runs[cmd]:
            users[fn] = users.get(fn, 0) + 1
            first.setdefault(fn, len(first))
    order = sorted(users, key=lambda fn: (-users[fn], first[fn]))
    with open(output, "w") as f:
        f.write("\n".join(order) + "\n")
    print("%s: %d functions (%s)" % (output, len(order),
                                      ", ".join("%s %d" % (c, len(runs[c])) for c in COMMANDS)))


if __name__ == "__main__":
    main()
