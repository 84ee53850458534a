#!/usr/bin/python3
"""The process set-up of config.json, checked from inside real containers.

Runs busybox-static containers with the runtime given by --runtime (lxcri
or runc, the control) and reads back, from inside, what each setting did:
capabilities, noNewPrivileges, oomScoreAdj, rlimits, user, umask, cwd, env,
hostname, domainname, sysctl, root.readonly, maskedPaths and readonlyPaths;
plus one refused configuration per group, which must leave nothing behind.
Uses the harness of lxcri_test.py (temp bundle and state root, own cgroup
parent, cleanup even on failure) and skips (77) the same way.
"""

import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxcri_test import check, run_main  # noqa: E402

# Capability numbers from linux/capability.h, for the masks in /proc/<pid>/status.
CAP = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
       "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_AUDIT_WRITE": 29}

# Shell builtins only, so what is read is pid 1's own view, not a child's after another execve.
STATUS = 'while IFS= read -r l; do case "$l" in Cap*|NoNewPrivs*) echo "$l";; esac; done < /proc/self/status'


def mask(names):
    return sum(1 << CAP[n] for n in set(names))


def is_lxcri(env):
    return os.path.basename(env.runtime) == "lxcri"


def run(env, cid, script, patch=None):
    """Runs `sh -c script` in a new container and returns its stdout; the run must succeed and leave nothing."""
    env.config(cid, ["sh", "-c", script], patch=patch or (lambda cfg: None))
    env.ids.add(cid)
    p = env.rt("run", "--bundle", env.bundle, cid)
    check(p.returncode == 0, "run %s exited %d: %r %r" % (cid, p.returncode, p.stdout, p.stderr))
    env.assert_nothing_left(cid)
    return p.stdout


def refused(env, cid, patch, what, lxcri_mentions=()):
    """create must fail with a message and leave nothing; lxcri's message names the field."""
    env.config(cid, ["true"], patch=patch)
    p = env.create(cid)
    check(p.returncode != 0, "%s was accepted" % what)
    check(p.stderr.strip() != "", "%s was refused without a message" % what)
    if is_lxcri(env):
        for word in lxcri_mentions:
            check(word in p.stderr, "the error for %s does not mention %r: %s" % (what, word, p.stderr.strip()))
    env.assert_nothing_left(cid)
    return p.stderr


def status_fields(out):
    fields = {}
    for line in out.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def set_caps(cfg, **sets):
    cfg["process"]["capabilities"] = {name: sets.get(name, []) for name in
                                      ("bounding", "effective", "permitted", "inheritable", "ambient")}


def check_caps(env, cid, want, patch, extra=""):
    out = run(env, cid, STATUS + extra, patch)
    fields = status_fields(out)
    for field, names in want.items():
        got = int(fields.get(field, "-1"), 16)
        check(got == mask(names), "%s: %s is %x, want %x (%s)" % (cid, field, got, mask(names), sorted(names)))
    return out


def scenario_process_caps(env):
    # The same list in every set: each mask in /proc/self/status is that list.
    same = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
    chown = "; touch /dev/shm/f && chown 1:1 /dev/shm/f && echo chown-ok"
    out = check_caps(env, "caps-same", {f: same for f in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb")},
                     lambda cfg: set_caps(cfg, **{s: same for s in ("bounding", "effective", "permitted",
                                                                     "inheritable", "ambient")}), chown)
    check("chown-ok" in out, "chown failed with CAP_CHOWN: %r" % out)

    # Different sets for root. execve recomputes the sets of uid 0 as
    # permitted = (bounding | inheritable) & the permitted set before it
    # (noNewPrivileges forbids a gain) | ambient, effective = permitted, so
    # each list shows: CAP_SYS_CHROOT (permitted, not bounding) and CAP_CHOWN
    # (bounding and inheritable, not permitted) are gone; CAP_NET_BIND_SERVICE
    # cannot be ambient without being inheritable. The effective list itself
    # only acts before execve and is checked by the kernel to lie in permitted.
    sets = {"bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_SYS_CHROOT"],
            "inheritable": ["CAP_CHOWN", "CAP_KILL"],
            "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"]}
    kept = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
    out = check_caps(env, "caps-root", {"CapBnd": sets["bounding"], "CapInh": sets["inheritable"],
                                        "CapAmb": ["CAP_KILL"], "CapPrm": kept, "CapEff": kept},
                     lambda cfg: set_caps(cfg, **sets), chown + " || echo chown-denied")
    check("chown-denied" in out and "chown-ok" not in out, "chown worked without CAP_CHOWN: %r" % out)

    # A non-root user keeps after execve only its ambient set (in permitted and effective).
    def user_caps(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
        set_caps(cfg, bounding=["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                 effective=["CAP_KILL", "CAP_NET_BIND_SERVICE"],
                 permitted=["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                 inheritable=["CAP_KILL", "CAP_NET_BIND_SERVICE"], ambient=["CAP_NET_BIND_SERVICE"])

    check_caps(env, "caps-user", {"CapBnd": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  "CapInh": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                  "CapAmb": ["CAP_NET_BIND_SERVICE"], "CapPrm": ["CAP_NET_BIND_SERVICE"],
                                  "CapEff": ["CAP_NET_BIND_SERVICE"]}, user_caps)

    # runc 1.1 ignores unknown capability names with a warning; lxcri refuses them.
    if is_lxcri(env):
        refused(env, "caps-bad", lambda cfg: set_caps(cfg, bounding=["CAP_KILL", "CAP_NOPE"]),
                "an unknown capability", ("process.capabilities.bounding[1]", "CAP_NOPE"))


def scenario_process_privs(env):
    def privs(nnp, oom):
        def patch(cfg):
            cfg["process"]["noNewPrivileges"] = nnp
            if oom is not None:
                cfg["process"]["oomScoreAdj"] = oom
        return patch

    oom = 'read v < /proc/self/oom_score_adj; echo "oom=$v"'
    out = run(env, "nnp-on", STATUS + "; " + oom, privs(True, 321))
    check(status_fields(out).get("NoNewPrivs") == "1", "noNewPrivileges true not set: %r" % out)
    check("oom=321" in out.split(), "oomScoreAdj 321 not set: %r" % out)
    out = run(env, "nnp-off", STATUS + "; " + oom, privs(False, 654))
    check(status_fields(out).get("NoNewPrivs") == "0", "noNewPrivileges false but set: %r" % out)
    check("oom=654" in out.split(), "oomScoreAdj 654 not set: %r" % out)

    refused(env, "oom-bad", privs(True, 1001), "oomScoreAdj 1001", ("process.oomScoreAdj",))


def scenario_process_rlimits(env):
    def rlimits(*limits):
        def patch(cfg):
            cfg["process"]["rlimits"] = [{"type": t, "soft": s, "hard": h} for t, s, h in limits]
        return patch

    # This host lacks CAP_SYS_RESOURCE: only limits at or below the current ones can be set.
    _, nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    _, msgq_hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    check(nofile_hard >= 600 and (msgq_hard == resource.RLIM_INFINITY or msgq_hard >= 8192),
          "the current hard limits are too low for this test")
    script = ('echo "nofile=$(ulimit -n):$(ulimit -Hn)"; '
              'while IFS= read -r l; do case "$l" in "Max msgqueue size"*) echo "$l";; esac; done < /proc/self/limits')
    out = run(env, "rlim", script, rlimits(("RLIMIT_NOFILE", 500, 600), ("RLIMIT_MSGQUEUE", 4096, 8192)))
    check("nofile=500:600" in out.split(), "RLIMIT_NOFILE 500/600 not set: %r" % out)
    check(["Max", "msgqueue", "size", "4096", "8192", "bytes"] in [l.split() for l in out.splitlines()],
          "RLIMIT_MSGQUEUE 4096/8192 not set: %r" % out)

    refused(env, "rlim-order", rlimits(("RLIMIT_NOFILE", 700, 600)), "a soft limit above the hard limit",
            ("process.rlimits[0]",))
    if nofile_hard != resource.RLIM_INFINITY:
        err = refused(env, "rlim-high", rlimits(("RLIMIT_NOFILE", 100, nofile_hard + 1)),
                      "a hard limit above the current one (no CAP_SYS_RESOURCE)", ("RLIMIT_NOFILE",))
        if is_lxcri(env):
            check("Operation not permitted" in err, "the error does not say why: %s" % err.strip())


def scenario_process_user(env):
    def user(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001], "umask": 0o027}
        cfg["process"]["cwd"] = "/dev/shm"
        cfg["process"]["env"] = ["PATH=/bin", "GREETING=hello  world", "EMPTY="]

    script = ('echo "uid=$(id -u) gid=$(id -g) groups=$(id -G | tr " " ,) umask=$(umask) cwd=$(pwd)"; '
              'touch f && mkdir d && echo "modes=$(stat -c %a f),$(stat -c %a d) owner=$(stat -c %u:%g f)"; '
              'echo "greeting=[$GREETING]"; env | sort')
    out = run(env, "user", script, user)
    words = out.split()
    check("uid=1000" in words and "gid=1001" in words, "uid/gid not set: %r" % out)
    groups = next((w for w in words if w.startswith("groups=")), "groups=")[len("groups="):].split(",")
    check(sorted(set(groups) - {"1001"}) == ["2000", "2001"], "additionalGids not set: %r" % out)
    check("umask=0027" in words and "modes=640,750" in words, "umask 027 not applied: %r" % out)
    check("cwd=/dev/shm" in words and "owner=1000:1001" in words, "cwd or file owner wrong: %r" % out)
    check("greeting=[hello  world]" in out.splitlines(), "env value not passed verbatim: %r" % out)
    env_lines = [l for l in out.splitlines() if "=" in l and not l.startswith(("uid=", "modes=", "greeting="))]
    # HOME is added as runc does: from the container's /etc/passwd, "/" without an entry.
    check(sorted(env_lines) == ["EMPTY=", "GREETING=hello  world", "HOME=/", "PATH=/bin", "PWD=/dev/shm", "SHLVL=1"],
          "the environment is not exactly process.env: %r" % env_lines)
    with open(os.path.join(env.rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1001::/home/user:/bin/sh\n")
    out = run(env, "user-home", 'echo "home=$HOME"', user)
    check(out.split() == ["home=/home/user"], "HOME not taken from /etc/passwd: %r" % out)

    def bad_cwd(cfg):
        cfg["process"]["cwd"] = "dev/shm"
    refused(env, "user-cwd", bad_cwd, "a relative cwd", ("process.cwd",))


def read_host(path):
    with open(path) as f:
        return f.read().strip()


def scenario_process_uts(env):
    forward = "/proc/sys/net/ipv4/ip_forward"
    rmid = "/proc/sys/kernel/shm_rmid_forced"
    host_forward, host_rmid = read_host(forward), read_host(rmid)
    # Values other than the host's, so the check cannot pass by inheritance.
    want_forward, want_rmid = ("0" if host_forward == "1" else "1"), ("0" if host_rmid == "1" else "1")

    def uts(cfg):
        cfg["hostname"] = "pvekit-ct"
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": want_forward, "kernel.shm_rmid_forced": want_rmid,
                                  "kernel.domainname": "sysctl.test"}

    script = ('echo "host=$(hostname) domain=$(cat /proc/sys/kernel/domainname) '
              'forward=$(cat %s) rmid=$(cat %s)"' % (forward, rmid))
    out = run(env, "uts", script, uts)
    want = "host=pvekit-ct domain=sysctl.test forward=%s rmid=%s" % (want_forward, want_rmid)
    check(out.strip() == want, "want %r, got %r" % (want, out))
    check(read_host(forward) == host_forward and read_host(rmid) == host_rmid, "a container sysctl changed the host")
    check(read_host("/proc/sys/kernel/domainname") != "sysctl.test", "the container's domainname reached the host")

    # runc 1.1.5 ignores the domainname field (runc sets it from 1.2 on), hence
    # the sysctl above for both; the field itself is lxcri's to check.
    if is_lxcri(env):
        def domain(cfg):
            cfg["domainname"] = "example.test"
        out = run(env, "uts-domain", "cat /proc/sys/kernel/domainname", domain)
        check(out.strip() == "example.test", "domainname not set: %r" % out)

    # A sysctl no namespace of the container isolates would change the host:
    # refused. The host's own value keeps this harmless should it be written.
    swappiness = "/proc/sys/vm/swappiness"
    host_swappiness = read_host(swappiness)

    def global_sysctl(cfg):
        cfg["linux"]["sysctl"] = {"vm.swappiness": host_swappiness}
    refused(env, "uts-global", global_sysctl, "the host-wide sysctl vm.swappiness", ("linux.sysctl.vm.swappiness",))

    def net_sysctl_host_net(cfg):
        cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "network"]
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": host_forward}
    refused(env, "uts-hostnet", net_sysctl_host_net, "a net.* sysctl in the host's network namespace",
            ("linux.sysctl.net.ipv4.ip_forward",))
    check(read_host(swappiness) == host_swappiness and read_host(forward) == host_forward,
          "a refused sysctl changed the host")

    def hostname_without_uts(cfg):
        cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "uts"]
        cfg["hostname"] = "pvekit-ct"
    refused(env, "uts-none", hostname_without_uts, "a hostname without a uts namespace", ("hostname",))


def scenario_process_readonly(env):
    os.makedirs(os.path.join(env.rootfs, "etc", "private"))
    with open(os.path.join(env.rootfs, "etc", "private", "key"), "w") as f:
        f.write("private-key\n")
    with open(os.path.join(env.rootfs, "etc", "secret"), "w") as f:
        f.write("top-secret\n")

    def paths(readonly):
        def patch(cfg):
            cfg["root"]["readonly"] = readonly
            cfg["linux"]["maskedPaths"] = cfg["linux"]["maskedPaths"] + ["/etc/secret", "/etc/private"]
            cfg["linux"]["readonlyPaths"] = cfg["linux"]["readonlyPaths"] + ["/dev/mqueue"]
        return patch

    def attempt(name, command):
        return "(%s) 2>/dev/shm/err && echo %s-ok || echo \"%s-failed: $(cat /dev/shm/err)\"; " % (command, name, name)

    script = (attempt("root", "touch /written") +
              attempt("procsys", "echo 1 > /proc/sys/kernel/shm_rmid_forced") +
              attempt("mqueue", "touch /dev/mqueue/q") +
              attempt("masked", "touch /etc/private/new") +
              attempt("shm", "touch /dev/shm/x") +
              'echo "secret=[$(cat /etc/secret)] private=[$(ls /etc/private)] firmware=[$(ls /sys/firmware)]"')
    out = run(env, "ro", script, paths(True))
    lines = out.splitlines()
    for name in ("root", "procsys", "mqueue", "masked"):
        check("%s-failed: " % name in out and "Read-only file system" in next(
            (l for l in lines if l.startswith(name + "-")), ""), "%s is not read-only: %r" % (name, out))
    check("shm-ok" in lines, "the writable /dev/shm was not writable: %r" % out)
    check("secret=[] private=[] firmware=[]" in lines, "masked paths show content: %r" % out)
    check(not os.path.exists(os.path.join(env.rootfs, "written")), "a read-only root was written")

    # The control: a writable root takes the write, the masks and read-only paths stay.
    out = run(env, "rw", script, paths(False))
    lines = out.splitlines()
    check("root-ok" in lines, "root.readonly false but / not writable: %r" % out)
    check("procsys-ok" not in lines and "masked-ok" not in lines, "masked/read-only paths writable: %r" % out)
    check(os.path.exists(os.path.join(env.rootfs, "written")), "the write to / did not reach the rootfs")
    with open(os.path.join(env.rootfs, "etc", "secret")) as f:
        check(f.read() == "top-secret\n", "the masked file changed on the host")

    # lxcri validates container paths; runc 1.1 takes a relative masked path as is.
    if is_lxcri(env):
        def relative(cfg):
            cfg["linux"]["maskedPaths"] = ["etc/secret"]
        refused(env, "ro-bad", relative, "a relative masked path", ("linux.maskedPaths[0]",))


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


if __name__ == "__main__":
    sys.exit(run_main(SCENARIOS))
