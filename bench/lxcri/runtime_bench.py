#!/usr/bin/python3
"""lxcri vs runc: create + start + wait + delete of a busybox `true` container.

A benchmark, not a test: it always exits 0 unless the benchmark itself breaks
(a runtime command fails), and prints "skipped: <reason>" when it cannot run
(not root, a runtime or busybox missing).

Each iteration runs, for every runtime (the order rotates per iteration so
machine noise and ordering effects spread evenly over the runtimes):

    RT --root R create --bundle B ID
    RT --root R start ID
    RT --root R state ID        (repeated until "status" is "stopped")
    RT --root R delete ID

The cycle is timed with time.perf_counter(). Every runtime process is started
with os.posix_spawn and reaped with os.wait4, whose rusage gives its user+sys
CPU time.

Peak RSS: wait4's ru_maxrss cannot be taken from those same processes. The
kernel folds the pre-exec address space into ru_maxrss at execve, and a child
of this Python process starts out with Python's address space (vfork/fork), so
every runtime would read as at least Python's own RSS (~13 MiB). So after the
timed cycles, --rss-cycles extra, untimed cycles run every runtime command
under GNU time (/usr/bin/time -f %M), a ~1.5 MiB process that forks the
runtime and reports its ru_maxrss (KiB; it covers the process across its own
execve, so lxcri's memfd re-exec is included, plus any children it waited
for). The peak is the max over all those invocations.

Page cache: a binary just written (by strip, cp, lld or dpkg) sits in the
page cache in large folios (strip's output here: up to 2 MiB, on ext4 with
Linux 6.18), and a fault maps the whole large folio around it (within the
VMA and the page table), not only the 64 KiB of fault-around: touching one
page of a 1 MiB folio mapped 256 pages (measured). After the binary was read back from disk
(after a reboot or once the page cache dropped it, as for an installed
runtime most of the time) its folios are small. By default (--page-cache
from-disk) the benchmark fsyncs each runtime's binary and drops it from the
page cache (POSIX_FADV_DONTNEED) before the RSS cycles, so every runtime is
measured as loaded from disk; --page-cache as-is measures them as they are.

Goals (from the issue): lxcri mean cycle time <= 0.4x runc's, lxcri peak RSS
<= 0.25x runc's, with lxcri's CVE-2019-5736 protection on (it cannot be
switched off: src/oci/linux/selfexec.h). The headline is lxcri as packaged
(stripped); with --lxcri-built, the binary as built (with debug info) runs as
a third variant, to show that the protection's cost does not grow with the
binary.

Run with Debian's /usr/bin/python3 as root; see run.sh.
"""

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = ("create", "start", "wait", "delete")
TIME_GOAL = 0.40
RSS_GOAL = 0.25


class BenchError(Exception):
    pass


class Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise Terminated(f"signal {signum}")


class Variant:
    def __init__(self, name, label, binary, root, env):
        self.name = name
        self.label = label
        self.binary = binary
        self.root = root
        self.env = env
        self.live = set()  # ids created and not yet deleted
        self.cycles = []  # seconds per cycle
        self.steps = {s: [] for s in STEPS}  # seconds per step
        self.cpu = []  # user+sys seconds of all runtime processes per cycle
        self.polls = []  # state invocations per wait
        self.rss = {"create": 0, "start": 0, "state": 0, "delete": 0}  # KiB

    def peak_rss(self):
        return max(self.rss.values())


class Runner:
    def __init__(self, logdir):
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.logpath = os.path.join(logdir, "stderr.log")
        self.rsspath = os.path.join(logdir, "rss.out")
        self.gnu_time = None  # set to /usr/bin/time for the RSS cycles

    def close(self):
        os.close(self.devnull)

    def spawn(self, variant, args, capture=False):
        """Runs `RT --root R args...`; returns (status, stdout, stderr, rusage).

        With self.gnu_time set, the runtime runs under GNU time and the
        returned rusage is replaced by its peak RSS in KiB (an int).

        stdout/stderr never go to a pipe we wait on for EOF unless capture is
        set (only for `state`): the container's init inherits create's stdio
        and may hold it open.
        """
        argv = [variant.binary, "--root", variant.root] + list(args)
        logfd = os.open(self.logpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        rfd = wfd = -1
        try:
            if capture:
                rfd, wfd = os.pipe()
                out = wfd
            else:
                out = self.devnull
            actions = [
                (os.POSIX_SPAWN_DUP2, self.devnull, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_DUP2, logfd, 2),
            ]
            path = variant.binary
            if self.gnu_time:
                path = self.gnu_time
                argv = [self.gnu_time, "-f", "%M", "-o", self.rsspath] + argv
            pid = os.posix_spawn(path, argv, variant.env, file_actions=actions)
            stdout = b""
            if capture:
                os.close(wfd)
                wfd = -1
                chunks = []
                while True:
                    b = os.read(rfd, 65536)
                    if not b:
                        break
                    chunks.append(b)
                stdout = b"".join(chunks)
            while True:
                try:
                    _, status, ru = os.wait4(pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            os.close(logfd)
            for fd in (rfd, wfd):
                if fd >= 0:
                    os.close(fd)
        with open(self.logpath, "rb") as f:
            stderr = f.read().decode(errors="replace").strip()
        if self.gnu_time:
            with open(self.rsspath) as f:
                lines = f.read().split()
            try:
                ru = int(lines[-1])
            except (IndexError, ValueError):
                raise BenchError(f"cannot parse GNU time output {lines!r}")
        return os.waitstatus_to_exitcode(status), stdout, stderr, ru

    def check(self, variant, args, step, capture=False):
        rc, out, err, ru = self.spawn(variant, args, capture)
        if rc != 0:
            raise BenchError(f"{variant.name}: `{' '.join(args)}` exited {rc}: {err or '(no stderr)'}")
        return out, ru


def cycle(runner, v, cid, bundle, record, wait_timeout, poll_sleep):
    """One create + start + wait + delete, recorded into v.

    record: None (warm-up), "time" (timed cycle) or "rss" (runner.gnu_time is
    set and each rusage is a peak RSS in KiB).
    """
    times = {}
    cpu = 0.0
    rss = {}

    def note(key, ru):
        nonlocal cpu
        if record == "rss":
            rss[key] = max(rss.get(key, 0), ru)
        else:
            cpu += ru.ru_utime + ru.ru_stime

    t0 = time.perf_counter()
    v.live.add(cid)
    _, ru = runner.check(v, ["create", "--bundle", bundle, cid], "create")
    t1 = time.perf_counter()
    note("create", ru)
    _, ru = runner.check(v, ["start", cid], "start")
    t2 = time.perf_counter()
    note("start", ru)
    polls = 0
    deadline = t2 + wait_timeout
    while True:
        out, ru = runner.check(v, ["state", cid], "state", capture=True)
        polls += 1
        note("state", ru)
        try:
            status = json.loads(out)["status"]
        except (ValueError, KeyError) as e:
            raise BenchError(f"{v.name}: bad `state {cid}` output ({e}): {out[:200]!r}")
        if status == "stopped":
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"{v.name}: {cid} not stopped after {wait_timeout}s (status {status})")
        if poll_sleep > 0:
            time.sleep(poll_sleep)
    t3 = time.perf_counter()
    _, ru = runner.check(v, ["delete", cid], "delete")
    t4 = time.perf_counter()
    v.live.discard(cid)
    note("delete", ru)
    if record == "rss":
        for k, kib in rss.items():
            v.rss[k] = max(v.rss[k], kib)
        return
    if record != "time":
        return
    v.cycles.append(t4 - t0)
    for s, d in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        v.steps[s].append(d)
    v.cpu.append(cpu)
    v.polls.append(polls)


def drop_page_cache(path):
    """Writes `path` back and drops it from the page cache: read again, its
    folios are what reading from disk gives, not what writing it left."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def percentile(xs, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(xs)
    if not s:
        return math.nan
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(x):
    return f"{x * 1000:8.1f}"


def mib(kib):
    return f"{kib / 1024:6.1f}"


def loadavg():
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def version_of(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def build_bundle(tmp, runc, busybox):
    bundle = os.path.join(tmp, "bundle")
    bindir = os.path.join(bundle, "rootfs", "bin")
    os.makedirs(bindir)
    shutil.copy2(busybox, os.path.join(bindir, "busybox"))
    for name in ("sh", "true"):
        os.symlink("busybox", os.path.join(bindir, name))
    r = subprocess.run([runc, "spec", "--bundle", bundle], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"`runc spec` failed: {r.stderr.strip()}")
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return bundle


def report(variants, n, rss_cycles, page_cache):
    print()
    print(f"cycle = create + start + wait (poll `state` until stopped) + delete; N = {n} per runtime")
    print()
    hdr = f"{'runtime':<14}{'mean':>9}{'median':>9}{'p90':>9}{'min':>9}{'stdev':>9}   (cycle, ms)"
    print(hdr)
    for v in variants:
        c = v.cycles
        sd = statistics.stdev(c) if len(c) > 1 else 0.0
        print(f"{v.name:<14}{ms(statistics.mean(c))}{ms(statistics.median(c))}{ms(percentile(c, 90))}"
              f"{ms(min(c))}{ms(sd)}")
    print()
    print(f"{'runtime':<14}" + "".join(f"{s:>9}" for s in STEPS) + f"{'polls':>7}{'cpu':>9}"
          "   (mean per step, ms; polls = state calls per wait; cpu = user+sys of runtime processes per cycle, ms)")
    for v in variants:
        print(f"{v.name:<14}" + "".join(ms(statistics.mean(v.steps[s])) for s in STEPS)
              + f"{statistics.mean(v.polls):7.1f}{ms(statistics.mean(v.cpu))}")
    print()
    if rss_cycles == 0:
        print("peak RSS: not measured (needs GNU time and --rss-cycles > 0)")
    else:
        print(f"{'runtime':<14}{'peak':>8}{'create':>8}{'start':>8}{'state':>8}{'delete':>8}"
              f"   (peak RSS of a runtime process, MiB; GNU time, {rss_cycles} untimed cycles each;"
              f" page cache {page_cache})")
    for v in variants if rss_cycles else ():
        print(f"{v.name:<14}{mib(v.peak_rss()):>8}" + "".join(f"{mib(v.rss[k]):>8}" for k in ("create", "start", "state", "delete")))
    print()
    by = {v.name: v for v in variants}
    lx, rc = by["lxcri"], by["runc"]
    t_ratio = statistics.mean(lx.cycles) / statistics.mean(rc.cycles)
    m_ratio = statistics.median(lx.cycles) / statistics.median(rc.cycles)
    r_ratio = lx.peak_rss() / rc.peak_rss() if rss_cycles else math.nan
    cpu_ratio = statistics.mean(lx.cpu) / statistics.mean(rc.cpu)
    print("HEADLINE (lxcri as packaged, stripped; its exe protection is always on):")
    print(f"  time  lxcri/runc (mean cycle)  = {t_ratio:.3f}   goal <= {TIME_GOAL:.2f}   "
          f"{'PASS' if t_ratio <= TIME_GOAL else 'MISS'}")
    print(f"  RSS   lxcri/runc (peak)        = {r_ratio:.3f}   goal <= {RSS_GOAL:.2f}   "
          f"{'PASS' if r_ratio <= RSS_GOAL else ('MISS' if rss_cycles else 'n/a')}")
    print(f"  (info: median cycle ratio {m_ratio:.3f}; cpu user+sys ratio {cpu_ratio:.3f})")
    if "lxcri-built" in by:
        b = by["lxcri-built"]
        bt = statistics.mean(b.cycles) / statistics.mean(rc.cycles)
        br = b.peak_rss() / rc.peak_rss() if rss_cycles else math.nan
        print()
        print("lxcri as built (with debug info, as tests and `cmake --build` leave it):")
        print(f"  time  lxcri-built/runc (mean cycle) = {bt:.3f}   goal <= {TIME_GOAL:.2f}   "
              f"{'PASS' if bt <= TIME_GOAL else 'MISS'}")
        if rss_cycles:
            print(f"  RSS   lxcri-built/runc (peak)       = {br:.3f}   goal <= {RSS_GOAL:.2f}   "
                  f"{'PASS' if br <= RSS_GOAL else 'MISS'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lxcri", default="build/default/apps/lxcri/lxcri", help="lxcri binary")
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc", help="runc binary")
    ap.add_argument("--busybox", default="/bin/busybox", help="a static busybox")
    ap.add_argument("-n", type=int, default=50, help="measured cycles per runtime (default 50)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured cycles per runtime first (default 2)")
    ap.add_argument("--lxcri-built", help="also measure this lxcri binary (the unstripped build-tree one)")
    ap.add_argument("--poll-sleep", type=float, default=0.0,
                    help="seconds between `state` polls (default 0: poll back to back)")
    ap.add_argument("--rss-cycles", type=int, default=5,
                    help="untimed cycles per runtime under GNU time for the peak RSS (default 5)")
    ap.add_argument("--page-cache", choices=["from-disk", "as-is"], default="from-disk",
                    help="from-disk (default): drop each runtime's binary from the page cache before the RSS "
                         "cycles; as-is: measure with the page cache as it is (see above)")
    ap.add_argument("--gnu-time", default="/usr/bin/time", help="GNU time, for the peak RSS")
    ap.add_argument("--wait-timeout", type=float, default=10.0, help="seconds to wait for stopped")
    args = ap.parse_args()

    if args.n < 1:
        ap.error("-n must be >= 1")
    if os.geteuid() != 0:
        print("skipped: needs root (containers with namespaces and cgroups)")
        return 0
    for what, path in (("lxcri", args.lxcri), ("runc", args.runc), ("busybox", args.busybox)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"skipped: {what} not found or not executable at {path!r}")
            return 0
    gnu_time = args.gnu_time if (args.rss_cycles > 0 and os.access(args.gnu_time, os.X_OK)) else None
    lxcri = os.path.abspath(args.lxcri)
    runc = os.path.abspath(args.runc)

    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)

    print(f"host: {platform.node()}  kernel {platform.release()}  cpus {os.cpu_count()}")
    print(f"lxcri: {lxcri}  ({version_of(lxcri)})")
    print(f"runc:  {runc}  ({version_of(runc)})")
    print(f"date:  {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(f"load average at start: {loadavg()}")
    sys.stdout.flush()

    base_env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="lxcri-bench-")
    variants = []
    runner = None
    failed = False
    try:
        bundle = build_bundle(tmp, runc, args.busybox)

        def root(name):
            d = os.path.join(tmp, "root-" + name)
            os.mkdir(d, 0o700)
            return d

        variants.append(Variant("lxcri", "lxcri", lxcri, root("lxcri"), base_env))
        variants.append(Variant("runc", "runc", runc, root("runc"), base_env))
        if args.lxcri_built:
            variants.append(Variant("lxcri-built", "lxcri as built", os.path.abspath(args.lxcri_built),
                                    root("lxcri-built"), base_env))
        runner = Runner(tmp)
        tag = f"bench{os.getpid()}"
        total = args.warmup + args.n
        for i in range(total):
            k = i % len(variants)
            order = variants[k:] + variants[:k]  # rotate who goes first
            for v in order:
                cycle(runner, v, f"{tag}-{v.name}-{i}", bundle, "time" if i >= args.warmup else None,
                      args.wait_timeout, args.poll_sleep)
        rss_cycles = args.rss_cycles if gnu_time else 0
        if rss_cycles and args.page_cache == "from-disk":
            for v in variants:
                drop_page_cache(v.binary)
        runner.gnu_time = gnu_time
        for i in range(rss_cycles):
            k = i % len(variants)
            for v in variants[k:] + variants[:k]:
                cycle(runner, v, f"{tag}-{v.name}-rss{i}", bundle, "rss",
                      args.wait_timeout, args.poll_sleep)
        runner.gnu_time = None
        report(variants, args.n, rss_cycles, args.page_cache)
    except (BenchError, Terminated, KeyboardInterrupt) as e:
        failed = True
        print(f"\nbenchmark aborted: {e or type(e).__name__}", file=sys.stderr)
    finally:
        for v in variants:
            for cid in sorted(v.live):
                try:
                    if runner is not None:
                        rc, _, err, _ = runner.spawn(v, ["delete", "--force", cid])
                    else:
                        rc, err = 1, "no runner"
                    if rc != 0:
                        print(f"warning: {v.name} delete --force {cid} failed: {err}", file=sys.stderr)
                except OSError as e:
                    print(f"warning: {v.name} delete --force {cid}: {e}", file=sys.stderr)
            try:
                left = os.listdir(v.root)
            except OSError:
                left = []
            if left:
                print(f"warning: {v.name} state left under {v.root}: {left}", file=sys.stderr)
        if runner is not None:
            runner.close()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"load average at end:   {loadavg()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
