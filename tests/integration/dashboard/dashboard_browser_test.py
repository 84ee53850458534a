#!/usr/bin/env python3
"""proxlb's dashboard in a real browser (Debian's headless Chromium driven by
npm's playwright-core) against a real `proxlb daemon` on pvesim: the overview
shows every node of the scenario, an action without the token is refused and
one with the token and CSRF token accepted, the progress view updates while
the balance it started runs, and hostile guest names are shown as text.

usage: dashboard_browser_test.py --pvesim BIN --proxlb BIN --scenario FILE
                                 --cache DIR --artifacts DIR [--screenshot FILE]

playwright-core is installed with npm into DIR (kept between runs).
Screenshots go to --artifacts; --screenshot also copies the overview there
(how docs/dashboard.png is made). Exits 77 (skip) with the reason when
chromium, node or npm is missing or npm cannot install playwright-core.
"""
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, SKIP, Pvesim  # noqa: E402

PACKAGE = "playwright-core@1.65.1"
TOKEN = "dashboard-test-token-0123456789"
NODES = ("pve1", "pve2", "pve3")


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def install(cache):
    if os.path.exists(os.path.join(cache, "node_modules", "playwright-core", "package.json")):
        return None
    os.makedirs(cache, exist_ok=True)
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", cache, PACKAGE],
                           capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
    except subprocess.TimeoutExpired:
        return "npm install %s timed out (registry unreachable?)" % PACKAGE
    if r.returncode != 0:
        return "npm install %s failed (registry unreachable?): %s" % (PACKAGE, r.stderr.strip()[-300:])
    return None


class Daemon:
    """`proxlb daemon`; its log is read on a thread so the pipe never fills."""

    def __init__(self, proxlb, config):
        self.proc = subprocess.Popen([proxlb, "-c", config, "--log-level", "info", "daemon"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            self.log.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError("no log line matching %r within %d s; log:\n%s" % (pattern, timeout, "\n".join(self.log)))

    def drain(self):
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return "\n".join(self.log)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def main():
    browser = chromium()
    if not browser:
        print("SKIP: chromium is not installed (scripts/setup.sh installs it)")
        return SKIP
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return SKIP
    cache = arg("--cache")
    problem = install(cache)
    if problem:
        print("SKIP: " + problem)
        return SKIP
    artifacts = arg("--artifacts")
    os.makedirs(artifacts, exist_ok=True)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard_browser.mjs")
    with tempfile.TemporaryDirectory() as tmp, \
            Pvesim("--time-scale", "2", "--scenario", arg("--scenario")) as sim:
        token_file = os.path.join(tmp, "dashboard.token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        config = os.path.join(tmp, "proxlb.yaml")
        with open(config, "w") as f:
            # hold 1000: the daemon never balances by itself; only the
            # browser's "balance now" does.
            f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                    "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                    "balancing:\n  method: memory\n  mode: used\n  balanciness: 5\n"
                    "service:\n  hold: 1000\n  margin: 0\n  listen: ''\n  audit_log: %s\n  status_socket: %s\n"
                    "  schedule:\n    interval: 600\n    format: minutes\n"
                    "  dashboard:\n    listen: 127.0.0.1:0\n    token_file: %s\n"
                    % (sim.port, DEFAULT_SECRET, sim.fingerprint, os.path.join(tmp, "audit.jsonl"),
                       os.path.join(tmp, "status.sock"), token_file))
        daemon = Daemon(arg("--proxlb"), config)
        try:
            url = daemon.expect(r"dashboard on (http://127\.0\.0\.1:\d+/dashboard/)").group(1)
            daemon.expect(r"round: ")
            r = subprocess.run(["node", script, cache, browser, url, TOKEN, artifacts, ",".join(NODES)],
                               text=True, timeout=240)
            if r.returncode != 0:
                print("daemon log:\n" + daemon.drain())
                return r.returncode
        finally:
            daemon.stop()
    shot = arg("--screenshot")
    if shot:
        shutil.copyfile(os.path.join(artifacts, "overview.png"), shot)
    print("ok: screenshots in " + artifacts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
