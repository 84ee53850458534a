#!/usr/bin/python3
"""In the VM (tests/vm/run.py): proxlb's packaged unit under a real systemd
(issue 14). pvesim runs beside it on loopback; packaging/systemd/proxlb.service
is installed as the .deb installs it, with a drop-in that only points
ExecStart at the test's binary with a short --interval and shortens
WatchdogSec and RestartSec for speed (Type=notify, Restart= and the rest stay
as packaged). Then, through systemctl and the journal:

  ready     the unit is `activating` while the daemon has not sent READY=1
            (pvesim holds its first API request) and `active (running)` after
  status    StatusText is the last round's summary, as logged
  reload    `systemctl reload` (ExecReload: SIGHUP) with a bad config keeps the
            old one, with a good one reloads; same main process, still active
  watchdog  a SIGSTOPped daemon is killed by systemd's watchdog (Result=watchdog,
            "Watchdog timeout" in the journal) and restarted (Restart=on-failure)
  stop      `systemctl stop` ends it cleanly: exit 0, result success

Standard library only (the guest has Debian's python3 without requests).
Prints one PASS/FAIL line per check; exits 1 at the first failure, with the
unit's journal.

    proxlb_systemd_test.py --proxlb /opt/pvekit/bin/proxlb --pvesim /opt/pvekit/bin/pvesim
"""

import argparse
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
UNIT = "proxlb.service"
PACKAGED_UNIT = "/mnt/in/packaging/systemd/" + UNIT
CONFIG = "/etc/proxlb/proxlb.yaml"  # the packaged unit's (proxlb's default)
# pvesim's built-in API token (src/sim/scenario.h kDefaultTokenSecret).
TOKEN_SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
WATCHDOG_SEC = 8  # above a round's length under software emulation
RESTART_SEC = 5  # the time Result=watchdog is visible before the restart resets it
# The test's binary and a round every 2 s; the rest is the packaged unit's.
# ExecStopPost writes how the main process ended to the journal: an inactive
# unit is unloaded at once, and `systemctl show` of a fresh load says
# Result=success whatever happened ($$ keeps the variables for the shell).
DROP_IN = """[Service]
ExecStart=
ExecStart={proxlb} --log-level info daemon --interval 2
WatchdogSec={watchdog}s
RestartSec={restart}s
ExecStopPost=/bin/sh -c 'echo "ended: result=$$SERVICE_RESULT code=$$EXIT_CODE status=$$EXIT_STATUS"'
"""
LISTENING = re.compile(r"pvesim: listening on https://127\.0\.0\.1:(\d+) fingerprint ([0-9A-F:]+)")


class Failed(Exception):
    pass


def run(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise Failed("%s exited %d: %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout).strip()))
    return p.stdout


def show(*props):
    out = run("systemctl", "show", UNIT, "-p", ",".join(props))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def journal():
    """The unit's journal lines: the daemon's own and systemd's about it."""
    return run("journalctl", "-u", UNIT, "-o", "cat", "--no-pager", check=False).splitlines()


def wait_for(what, predicate, timeout, step=0.2):
    """predicate() until it returns something true, which is returned; Failed after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise Failed("no %s within %d s (unit: %s)" % (what, timeout, show("ActiveState", "SubState", "Result",
                                                                                  "MainPID", "StatusText")))
        time.sleep(step)


def journal_line(text, after):
    """The first journal line from index `after` on containing `text`."""
    return next((line for line in journal()[after:] if text in line), None)


class Pvesim:
    """pvesim on a free loopback port, time-scaled, on the daemon tests' steady cluster."""

    def __init__(self, binary):
        scenario = os.path.join(TESTS, "data", "scenarios", "daemon.yaml")
        self.proc = subprocess.Popen([binary, "--port", "0", "--log-level", "warn", "--time-scale", "60",
                                      "--scenario", scenario], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = LISTENING.search(line)
        if not m:
            self.close()
            raise Failed("pvesim did not start: %r" % line)
        self.port, self.fingerprint = int(m.group(1)), m.group(2)
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def admin(self, path, **params):
        """POST /_sim/<path>: pvesim's fault interface."""
        request = urllib.request.Request("https://127.0.0.1:%d/_sim/%s" % (self.port, path),
                                         data=urllib.parse.urlencode(params).encode(), method="POST")
        with urllib.request.urlopen(request, context=self.tls, timeout=30) as r:
            r.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def write_config(sim, service_extra=""):
    os.makedirs(os.path.dirname(CONFIG), exist_ok=True)
    fd = os.open(CONFIG + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token's secret
    with os.fdopen(fd, "w") as f:
        f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                "balancing:\n  method: memory\n  mode: used\n  balanciness: 5\n"
                "service:\n  hold: 3\n%s" % (sim.port, TOKEN_SECRET, sim.fingerprint, service_extra))
    os.rename(CONFIG + ".new", CONFIG)


def install_unit(proxlb):
    """The packaged unit where the .deb puts it, the test's drop-in where an admin would."""
    shutil.copy(PACKAGED_UNIT, "/lib/systemd/system/" + UNIT)
    drop_in_dir = "/etc/systemd/system/%s.d" % UNIT
    os.makedirs(drop_in_dir, exist_ok=True)
    with open(os.path.join(drop_in_dir, "vm-test.conf"), "w") as f:
        f.write(DROP_IN.format(proxlb=proxlb, watchdog=WATCHDOG_SEC, restart=RESTART_SEC))
    run("systemctl", "daemon-reload")
    # WatchdogUSec reads infinity until a start (systemd copies it then); check_ready reads it.
    props = show("Type", "Restart", "ExecReload", "ExecStart", "DropInPaths")
    if props["Type"] != "notify" or props["Restart"] != "on-failure" or proxlb not in props["ExecStart"]:
        raise Failed("the unit as loaded: %s" % props)
    if "kill -HUP" not in props["ExecReload"]:
        raise Failed("the packaged unit has no ExecReload sending SIGHUP: %s" % props["ExecReload"])
    return "Type=notify, Restart=on-failure, drop-in %s" % props["DropInPaths"]


def check_ready(sim):
    """Type=notify: `systemctl start` waits for READY=1, which the daemon sends
    once it has read the token's privileges; pvesim holds that request."""
    sim.admin("delay", ms="6000")
    started = time.monotonic()
    run("systemctl", "start", "--no-block", UNIT)
    pending = wait_for("activating daemon", lambda: (lambda p: p if p["ActiveState"] == "activating"
                                                     and p["MainPID"] != "0" else None)(
        show("ActiveState", "SubState", "MainPID")), 30)
    time.sleep(2)
    still = show("ActiveState", "SubState", "MainPID")
    if still["ActiveState"] != "activating" or still["MainPID"] != pending["MainPID"]:
        raise Failed("active before READY=1: %s, 2 s after %s" % (still, pending))
    sim.admin("reset")
    wait_for("active (running) unit", lambda: show("ActiveState", "SubState") ==
             {"ActiveState": "active", "SubState": "running"}, 60)
    waited = time.monotonic() - started
    if not journal_line("proxlb daemon: rounds every 2000 ms", 0):
        raise Failed("active, but the daemon's start line is not in the journal")
    watchdog = show("WatchdogUSec")["WatchdogUSec"]
    if watchdog != "%ds" % WATCHDOG_SEC:
        raise Failed("WatchdogUSec=%s, not the drop-in's %d s" % (watchdog, WATCHDOG_SEC))
    return "activating (%s, pid %s) while pvesim held its first request, active (running) after %.1f s" % (
        pending["SubState"], pending["MainPID"], waited)


def check_status():
    def last_round_in_status():
        status = show("StatusText")["StatusText"]
        rounds = [line.split("round: ", 1)[1] for line in journal() if "round: " in line]
        return status if rounds and status in rounds[-2:] else None
    return "StatusText=%r" % wait_for("StatusText with the last round", last_round_in_status, 60)


def check_reload(sim):
    pid = show("MainPID")["MainPID"]
    mark = len(journal())
    write_config(sim, "  no_such_key: 1\n")
    run("systemctl", "reload", UNIT)
    failed = wait_for("'config reload failed' in the journal", lambda: journal_line("config reload failed", mark), 30)
    if "service.no_such_key" not in failed:
        raise Failed("the reload error does not name the bad key: " + failed)
    mark = len(journal())
    wait_for("a round on the old config", lambda: journal_line("round: ", mark), 30)
    write_config(sim, "  margin: 2\n")
    mark = len(journal())
    run("systemctl", "reload", UNIT)
    wait_for("'config reloaded' in the journal", lambda: journal_line("config reloaded", mark), 30)
    after = show("ActiveState", "SubState", "MainPID", "ReloadResult")
    if after != {"ActiveState": "active", "SubState": "running", "MainPID": pid, "ReloadResult": "success"}:
        raise Failed("after the reloads: %s (main pid was %s)" % (after, pid))
    return "bad config kept the old one, good one reloaded; pid %s, %s" % (pid, after)


def check_watchdog():
    before = show("MainPID", "NRestarts")
    pid = before["MainPID"]
    mark = len(journal())
    stopped = time.monotonic()
    os.kill(int(pid), signal.SIGSTOP)  # every thread: the watchdog's pings stop too
    killed = wait_for("Result=watchdog", lambda: (lambda p: p if p["Result"] == "watchdog" else None)(
        show("Result", "ActiveState", "SubState")), WATCHDOG_SEC + 60, step=0.1)
    after_kill = time.monotonic() - stopped
    # systemd counts WatchdogSec from the last ping, which the daemon sends
    # every half WatchdogSec: so no sooner than that half after the SIGSTOP.
    if after_kill < WATCHDOG_SEC / 2 - 0.5:
        raise Failed("killed %.1f s after SIGSTOP, sooner than WatchdogSec=%d s after the last ping could be"
                     % (after_kill, WATCHDOG_SEC))
    timeout_line = wait_for("'Watchdog timeout' in the journal", lambda: journal_line("Watchdog timeout", mark), 30)
    ended = wait_for("the ExecStopPost line", lambda: journal_line("ended: ", mark), 30)
    if ended != "ended: result=watchdog code=killed status=ABRT":
        raise Failed("after the watchdog: %r" % ended)
    wait_for("a restarted daemon", lambda: (lambda p: p["ActiveState"] == "active" and p["MainPID"] not in ("0", pid))(
        show("ActiveState", "MainPID")), RESTART_SEC + 60)
    restarts = int(show("NRestarts")["NRestarts"]) - int(before["NRestarts"])
    if restarts != 1:
        raise Failed("NRestarts grew by %d" % restarts)
    if os.path.exists("/proc/%s" % pid):
        raise Failed("the stopped daemon %s is still there" % pid)
    return "killed %.1f s after SIGSTOP (%s); journal: %r, %r; restarted as pid %s" % (
        after_kill, killed, timeout_line, ended, show("MainPID")["MainPID"])


def check_stop():
    mark = len(journal())
    run("systemctl", "stop", UNIT)
    state = show("ActiveState")["ActiveState"]
    if state != "inactive":
        raise Failed("ActiveState=%s after systemctl stop" % state)
    # code=exited status=0: the daemon returned, not killed by the SIGTERM (which systemd counts as clean too).
    ended = journal_line("ended: ", mark)
    if ended != "ended: result=success code=exited status=0":
        raise Failed("after systemctl stop: %r" % ended)
    if not journal_line("proxlb daemon: stopped", mark):
        raise Failed("no 'proxlb daemon: stopped' in the journal")
    return "%s; %r" % (state, ended)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proxlb", required=True)
    ap.add_argument("--pvesim", required=True)
    a = ap.parse_args()
    sim = Pvesim(a.pvesim)
    failed = 0
    try:
        write_config(sim)
        for name, check in (("install", lambda: install_unit(a.proxlb)), ("ready", lambda: check_ready(sim)), ("status", check_status),
                            ("reload", lambda: check_reload(sim)), ("watchdog", check_watchdog),
                            ("stop", check_stop)):
            began = time.monotonic()
            try:
                what = check()
                print("PASS proxlb.service:%s (%.1f s): %s" % (name, time.monotonic() - began, what), flush=True)
            except Failed as e:
                print("FAIL proxlb.service:%s (%.1f s): %s" % (name, time.monotonic() - began, e), flush=True)
                failed = 1
                break
    finally:
        if failed:
            print("journal of %s:\n%s" % (UNIT, "\n".join(journal()[-60:])), flush=True)
        subprocess.run(["systemctl", "stop", UNIT], timeout=120)
        sim.close()
    return failed


if __name__ == "__main__":
    sys.exit(main())
