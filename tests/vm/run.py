#!/usr/bin/python3
"""Boots the cached Debian test VM (tests/vm/build-image.sh) and runs one
command in it, with lxcri (or other programs of the build) and the
repository's tests/ passed in.

    tests/vm/run.py --lxcri build/default/apps/lxcri/lxcri \\
        [--seccomp-agent build/default/tests/integration/lxcri/lxcri_seccomp_agent] \\
        [--bin build/default/apps/proxlb/proxlb ...] \\
        [--timeout 900] [--boot-timeout 240] [--keep DIR] -- COMMAND...

The inputs are copied into a staging dir first (the build tree may be rebuilt
while the VM runs) and shared read-only over 9p (tag pvekit_in, /mnt/in in the
guest):

    opt/bin/lxcri, opt/bin/lxcri_seccomp_agent, opt/bin/<name of each --bin>
    opt/lib/pvekit/lxcri-systemd        (when the build tree has it: lxcri finds
                                         its helpers at <bindir>/../lib/pvekit)
    tests/                              (this repository's tests/)
    packaging/systemd/                  (the units the .deb installs)
    guest-command                       (what the guest's test unit runs)

In the guest, opt/ is copied to /opt/pvekit (a local disk, as an installed
lxcri) and COMMAND runs from /mnt/in/tests with PATH, PVEKIT_LXCRI and
PVEKIT_SECCOMP_AGENT set. Its output is printed as it comes (second serial
port); its exit status is this script's. The cached image is never written
(qemu -snapshot). Exits 77 (skip) only when qemu cannot run at all; a guest
that never ran the command, or a timeout, is a failure (the console's tail is
printed). A boot that has not reached the guest's test unit after
--boot-timeout seconds counts as hung (software emulation has been seen to
hang the guest kernel early in boot, rarely) and is retried, up to three boots
within --timeout.
"""

import argparse
import ctypes
import glob
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GUEST_OPT = "/opt/pvekit"


def log(msg):
    print("vm: " + msg, flush=True)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


def ensure_qemu():
    """qemu-system-x86_64, installed from Debian when missing; skips when it cannot be."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        return qemu
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing qemu-system-x86")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "qemu-system-x86"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        skip("qemu-system-x86_64 is missing and could not be installed (Debian package qemu-system-x86)")
    return qemu


def image_dir():
    """The cached image's dir (built now when missing); skips as build-image.sh does."""
    p = subprocess.run(["bash", os.path.join(HERE, "build-image.sh"), "--print-dir"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    sys.stdout.write(p.stderr)
    if p.returncode == SKIP:
        sys.exit(SKIP)
    if p.returncode != 0:
        log("building the image failed (%d)" % p.returncode)
        sys.exit(1)
    return p.stdout.strip()


def kvm_usable(qemu, image):
    """Whether qemu boots with KVM here: /dev/kvm must exist and work. Some
    machines have a /dev/kvm that opens but cannot run a guest (nested
    virtualisation: qemu asserts on an MSR, or the kernel hangs), so a kernel
    is booted once with KVM and must print within 10 s; the answer is kept
    for this host boot. PVEKIT_VM_ACCEL=tcg|kvm decides without probing."""
    forced = os.environ.get("PVEKIT_VM_ACCEL")
    if forced in ("tcg", "kvm"):
        return forced == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with open("/proc/sys/kernel/random/boot_id") as f:
        answer = os.path.join(os.path.dirname(image), "kvm-probe." + f.read().strip())
    if not os.path.exists(answer):
        with tempfile.TemporaryDirectory(prefix="pvekit-kvm-") as tmp:
            log_path = os.path.join(tmp, "serial.log")
            proc = subprocess.Popen([qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nographic",
                                     "-monitor", "none", "-no-reboot", "-kernel", os.path.join(image, "vmlinuz"),
                                     "-append", "console=ttyS0 panic=-1", "-serial", "file:" + log_path],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    preexec_fn=kill_with_parent)
            deadline = time.time() + 10
            works = False
            while not works and proc.poll() is None and time.time() < deadline:
                time.sleep(0.2)
                with open(log_path, "rb") as f:
                    works = b"Linux version" in f.read()
            proc.kill()
            proc.wait()
        for stale in glob.glob(os.path.join(os.path.dirname(answer), "kvm-probe.*")):
            os.unlink(stale)  # answers of earlier host boots
        with open(answer, "w") as f:
            f.write("yes\n" if works else "no\n")
    with open(answer) as f:
        return f.read().strip() == "yes"


def helper_path(lxcri, name):
    """Where lxcri looks for its helper `name`: <dir of the binary>/../lib/pvekit/ (src/oci/helper.h)."""
    return os.path.normpath(os.path.join(os.path.dirname(os.path.realpath(lxcri)), "..", "lib", "pvekit", name))


def copy_stripped(src, dst):
    """A copy without debug sections, as a package installs it: the build
    tree's RelWithDebInfo lxcri is 80 MB, which the guest would copy off 9p
    under emulation on every boot. The code and the symbol table stay."""
    if shutil.which("objcopy"):
        subprocess.run(["objcopy", "--strip-debug", src, dst], check=True)
        shutil.copymode(src, dst)
    else:
        shutil.copy2(src, dst)


def stage(a, staging):
    """Copies the inputs into `staging` (layout in the module comment) and writes the guest command."""
    opt_bin = os.path.join(staging, "opt", "bin")
    opt_lib = os.path.join(staging, "opt", "lib", "pvekit")
    os.makedirs(opt_bin)
    os.makedirs(opt_lib)
    has_helper = False
    if a.lxcri:
        copy_stripped(a.lxcri, os.path.join(opt_bin, "lxcri"))
        systemd_helper = helper_path(a.lxcri, "lxcri-systemd")
        has_helper = os.path.exists(systemd_helper)
        if has_helper:
            copy_stripped(systemd_helper, os.path.join(opt_lib, "lxcri-systemd"))
    if a.seccomp_agent:
        shutil.copy2(a.seccomp_agent, os.path.join(opt_bin, "lxcri_seccomp_agent"))
    for program in a.bin:
        copy_stripped(program, os.path.join(opt_bin, os.path.basename(program)))
    shutil.copytree(os.path.join(REPO, "tests"), os.path.join(staging, "tests"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(os.path.join(REPO, "packaging", "systemd"), os.path.join(staging, "packaging", "systemd"))
    quoted = " ".join("'" + arg.replace("'", "'\\''") + "'" for arg in a.command)
    with open(os.path.join(staging, "guest-command"), "w") as f:
        f.write("set -e\n"
                "mkdir -p %(opt)s && cp -a /mnt/in/opt/. %(opt)s/\n"
                "export PATH=%(opt)s/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PVEKIT_VM=1\n"
                "export PVEKIT_LXCRI=%(lxcri)s PVEKIT_SECCOMP_AGENT=%(agent)s\n"
                "echo \"pvekit-vm: inputs copied $(cut -d' ' -f1 /proc/uptime) s after boot;"
                " lxcri helpers: $(ls %(opt)s/lib/pvekit/ 2>/dev/null | tr '\\n' ' ')\"\n"
                "cd /mnt/in/tests\n"
                "exec %(cmd)s\n"
                % {"opt": GUEST_OPT, "cmd": quoted, "lxcri": GUEST_OPT + "/bin/lxcri" if a.lxcri else "",
                   "agent": GUEST_OPT + "/bin/lxcri_seccomp_agent" if a.seccomp_agent else ""})
    return has_helper


def qemu_command(qemu, image, staging, out, console, test_log):
    accel = ["-accel", "kvm", "-cpu", "host"] if kvm_usable(qemu, image) else ["-accel", "tcg", "-cpu", "max"]
    # tsc=reliable: the emulated TSC is monotonic, and clock_gettime through the
    # vDSO beats an emulated HPET read per call (Go and Python read the clock a lot).
    # no_timer_check: on a loaded host the emulated timer interrupt can miss the
    # kernel's IO-APIC timer test, which then panics ("IO-APIC + timer doesn't
    # work"); virtual machines' kernels are usually booted with it.
    append = ("root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 pvekit.test=1 panic=-1 "
              "mitigations=off tsc=reliable no_timer_check")
    return [qemu, "-machine", "q35", "-smp", "2", "-m", "2048", "-nographic", "-monitor", "none",
            "-no-reboot", "-nic", "none"] + accel + [
        "-kernel", os.path.join(image, "vmlinuz"), "-initrd", os.path.join(image, "initrd.img"),
        "-append", append,
        "-drive", "file=%s,if=virtio,format=raw,snapshot=on" % os.path.join(image, "root.img"),
        "-virtfs", "local,path=%s,mount_tag=pvekit_in,security_model=none,readonly=on" % staging,
        "-virtfs", "local,path=%s,mount_tag=pvekit_out,security_model=none" % out,
        "-serial", "file:" + console, "-serial", "file:" + test_log]


BOOT_ATTEMPTS = 3


def kill_with_parent():
    # qemu dies with this driver even when the driver itself is SIGKILLed (a CTest timeout).
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setpgid(0, 0)


class Follower:
    """Prints what the guest writes to the test serial port, as it comes."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.seen = ""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        self.pos += len(data)
        text = data.decode(errors="replace").replace("\r", "")
        self.seen += text
        sys.stdout.write(text)
        sys.stdout.flush()


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            text = f.read().decode(errors="replace").replace("\r", "")
    except OSError:
        return "(no console log)"
    return "\n".join(text.splitlines()[-lines:])


BOOT_MARK = "pvekit-vm: unit started"


def boot(cmd, work, timeout, boot_timeout):
    """Runs qemu until it exits, `timeout` seconds pass, or the guest's test unit
    has not started after `boot_timeout` seconds (a hung boot); returns
    (exited, seconds, cpu seconds, what the test port printed)."""
    follower = Follower(os.path.join(work, "test.log"))
    start = time.time()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(os.path.join(work, "qemu.out"), "w"),
                            stderr=subprocess.STDOUT, preexec_fn=kill_with_parent)

    def stop(signum, _frame):
        proc.kill()
        proc.wait()
        sys.exit(128 + signum)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while proc.poll() is None and time.time() - start < timeout:
            follower.poll()
            if BOOT_MARK not in follower.seen and time.time() - start > boot_timeout:
                break
            time.sleep(0.5)
        exited = proc.poll() is not None
        if not exited:
            proc.kill()
        proc.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    follower.poll()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return exited, time.time() - start, cpu, follower.seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lxcri", help="the lxcri binary to test")
    ap.add_argument("--seccomp-agent", help="the lxcri_seccomp_agent test helper")
    ap.add_argument("--bin", action="append", default=[],
                    help="another program to pass in, as /opt/pvekit/bin/<its name> (repeatable)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before qemu is killed, over all boot attempts (default 900)")
    ap.add_argument("--boot-timeout", type=float, default=240,
                    help="seconds for the guest to reach its test unit before the boot counts as hung "
                         "and is retried (default 240; a boot takes 15-60 s)")
    ap.add_argument("--keep", help="keep console.log, test.log and the output share in this dir")
    ap.add_argument("command", nargs="+", help="the command to run in the guest (after --)")
    a = ap.parse_args()

    if not a.lxcri and not a.bin:
        ap.error("nothing to test: give --lxcri or --bin")
    for path in filter(None, (a.lxcri, a.seccomp_agent, *a.bin)):
        if not os.access(path, os.X_OK):
            log("FAILED: %s is not an executable (build its target)" % path)
            return 1
    qemu = ensure_qemu()
    image = image_dir()
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        work = a.keep
    else:
        work = tempfile.mkdtemp(prefix="pvekit-vm-")
    staging = tempfile.mkdtemp(prefix="pvekit-vm-in-")
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name in ("console.log", "test.log"):
        open(os.path.join(work, name), "w").close()
    try:
        has_helper = stage(a, staging)
        cmd = qemu_command(qemu, image, staging, out, os.path.join(work, "console.log"),
                           os.path.join(work, "test.log"))
        console = os.path.join(work, "console.log")
        # Under software emulation the guest kernel has been seen to hang early
        # in boot, once in many boots (last line: the clocksource switch), and to
        # panic on a loaded host; a boot that has not reached the test unit in
        # time, or stopped before it, is retried, and said so.
        deadline = time.time() + a.timeout
        for attempt in range(1, BOOT_ATTEMPTS + 1):
            log("booting %s (%s; lxcri-systemd %s)" % (image, "kvm" if "kvm" in cmd else "software emulation",
                                                      "passed" if has_helper else "not passed"))
            exited, seconds, cpu, seen = boot(cmd, work, deadline - time.time(), a.boot_timeout)
            if BOOT_MARK in seen or attempt == BOOT_ATTEMPTS or time.time() >= deadline:
                break
            how = "stopped before the test unit started" if exited else \
                "hung: the test unit had not started after %.0f s" % seconds
            log("boot %d of %d %s; console tail:\n%s" % (attempt, BOOT_ATTEMPTS, how, tail(console, 8)))
            for name in ("console.log", "test.log"):
                open(os.path.join(work, name), "w").close()
        status_file = os.path.join(out, "status")
        if not exited:
            what = "the test unit had not started (boot hung %d times)" % attempt if BOOT_MARK not in seen else \
                "the guest command had not finished"
            log("TIMEOUT after %.0f s: %s; qemu killed; console tail:\n%s" % (seconds, what, tail(console)))
            return 1
        if not os.path.exists(status_file):
            why = "the test unit never started in %d boots" % attempt if BOOT_MARK not in seen else \
                "the guest stopped before the command finished"
            with open(os.path.join(work, "qemu.out")) as f:
                qemu_out = f.read().strip()
            log("FAILED: %s (qemu ran %.0f s%s); console tail:\n%s"
                % (why, seconds, ", said: " + qemu_out if qemu_out else "", tail(console)))
            return 1
        with open(status_file) as f:
            status = int(f.read().strip() or 1)
        log("guest command exited %d; qemu ran %.0f s (%.0f s of CPU; load average now %s)"
            % (status, seconds, cpu, os.getloadavg()[0]))
        return status
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
