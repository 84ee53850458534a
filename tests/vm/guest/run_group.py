#!/usr/bin/python3
"""One VM test group: the scenarios for one runtime with the given cgroup
drivers, all in one boot of the test VM (tests/vm/run.py runs this inside).

    run_group.py --runtime lxcri|runc|crun --cgroup-driver cgroupfs,systemd [--only REGEX]

Prints one PASS/FAIL/SKIP line per scenario with its time (a failure's
output below it), then a summary; exits 1 when any scenario failed. Which
scenarios run, and why, is in tests/vm/README.md.

The drivers' lists run side by side (one after the other with --serial):
under emulation the guest runs one scenario on about one host core, and the
VM has two. Scenarios share nothing (each has its own temp dir, state root,
cgroup parent and unit prefix), so they can.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.normpath(os.path.join(HERE, "..", "..", "integration", "lxcri"))

RUNTIMES = {
    "lxcri": os.environ.get("PVEKIT_LXCRI", "/opt/pvekit/bin/lxcri"),
    "runc": "/usr/sbin/runc",
    "crun": "/usr/bin/crun",
}

# (script, scenario, drivers, runtimes): what runs, and why, in tests/vm/README.md.
CGROUP2 = os.path.join(HERE, "cgroup2_test.py")
BOTH = ("cgroupfs", "systemd")
ALL = ("lxcri", "runc", "crun")
SCENARIOS = [
    (CGROUP2, "cgroupns", BOTH, ALL),
    (CGROUP2, "host_limits", BOTH, ALL),
    (CGROUP2, "freeze", BOTH, ALL),
    (CGROUP2, "update", BOTH, ALL),
    (CGROUP2, "oom", BOTH, ALL),
    (CGROUP2, "podman", ("systemd",), ALL),
    (os.path.join(HARNESS, "lxcri_test.py"), "run_echo", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "lifecycle", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "exec", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "limits", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "pause", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "update", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "cli", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "devices", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "containerd", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "lxcri_test.py"), "apparmor", ("cgroupfs",), ("lxcri", "runc")),
    (os.path.join(HARNESS, "attacks_test.py"), "fork_bomb", BOTH, ("lxcri", "runc")),
    (os.path.join(HARNESS, "attacks_test.py"), "interrupted", BOTH, ("lxcri", "runc")),
]


def label(script, scenario):
    return "%s:%s" % (os.path.basename(script)[:-len("_test.py")], scenario)


def run_one(runtime, driver, script, scenario, timeout):
    cmd = ["/usr/bin/python3", script, "--runtime", RUNTIMES[runtime], "--scenario", scenario,
           "--cgroup-driver", driver]
    agent = os.environ.get("PVEKIT_SECCOMP_AGENT")
    if agent:
        cmd += ["--seccomp-agent", agent]
    start = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        rc, out = -1, (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT after %d s" % timeout
    return rc, out, time.time() - start


def run_driver(a, driver, counts, lock):
    for script, scenario, drivers, runtimes in SCENARIOS:
        name = label(script, scenario)
        if driver not in drivers or a.runtime not in runtimes or (a.only and not re.search(a.only, name)):
            continue
        rc, out, seconds = run_one(a.runtime, driver, script, scenario, a.timeout)
        verdict = {0: "PASS", 77: "SKIP"}.get(rc, "FAIL")
        why = ""
        if verdict == "SKIP":
            why = ": " + " ".join(l[len("SKIP: "):] for l in out.splitlines() if l.startswith("SKIP: "))
        with lock:
            counts[verdict] += 1
            print("%s [%s/%s %s] %.1f s%s" % (verdict, a.runtime, driver, name, seconds, why), flush=True)
            if verdict == "FAIL":
                print("    " + out.strip().replace("\n", "\n    "), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True, choices=sorted(RUNTIMES))
    ap.add_argument("--cgroup-driver", default="cgroupfs,systemd", help="comma-separated: cgroupfs, systemd")
    ap.add_argument("--only", help="run only the scenarios whose label (file:scenario) matches this regex")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per scenario")
    ap.add_argument("--serial", action="store_true", help="one driver after the other")
    a = ap.parse_args()

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    lock = threading.Lock()
    group_start = time.time()
    threads = [threading.Thread(target=run_driver, args=(a, driver, counts, lock))
               for driver in a.cgroup_driver.split(",")]
    for t in threads:
        t.start()
        if a.serial:
            t.join()
    for t in threads:
        t.join()
    print("group %s (%s): %d passed, %d failed, %d skipped in %.0f s"
          % (a.runtime, a.cgroup_driver, counts["PASS"], counts["FAIL"], counts["SKIP"], time.time() - group_start))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
