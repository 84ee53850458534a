#!/usr/bin/env python3
"""proxlb's dashboard in a real browser (Debian's headless Chromium driven by
npm's playwright-core) against a real `proxlb daemon` on pvesim: the overview
shows every node of the scenario, an action without the token is refused and
one with the token and CSRF token accepted, the progress view updates while
the balance it started runs, and hostile guest names are shown as text.
Then a daemon with two clusters (clusters:, two pvesims of 3 and 5 nodes): the
switcher lists both and each shows its own nodes.

usage: dashboard_browser_test.py --pvesim BIN --proxlb BIN --scenario FILE
                                 --cache DIR --artifacts DIR [--screenshot FILE]

playwright-core is installed with npm into DIR (kept between runs).
Screenshots go to --artifacts; --screenshot also copies the overview there
(how docs/dashboard.png is made). Exits 77 (skip) with the reason when
chromium, node or npm is missing or npm cannot install playwright-core.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
sys.path.insert(0, os.path.join(HERE, "..", "proxlb"))
from pvesim_harness import DEFAULT_SECRET, SKIP, Pvesim  # noqa: E402
from npm_proxmox_api_test import install  # noqa: E402
from daemon_test import Daemon  # noqa: E402

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
    problem = install(cache, PACKAGE, env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
    if problem:
        print("SKIP: " + problem)
        return SKIP
    artifacts = arg("--artifacts")
    os.makedirs(artifacts, exist_ok=True)
    script = os.path.join(HERE, "dashboard_browser.mjs")
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
        code = drive(config, 1, lambda url: ["node", script, cache, browser, url, TOKEN, artifacts, ",".join(NODES)])
        if code != 0:
            return code
    code = two_clusters(cache, browser, artifacts)
    if code != 0:
        return code
    shot = arg("--screenshot")
    if shot:
        shutil.copyfile(os.path.join(artifacts, "overview-after.png"), shot)
    print("ok: screenshots in " + artifacts)
    return 0


def two_clusters(cache, browser, artifacts):
    with tempfile.TemporaryDirectory() as tmp, \
            Pvesim("--scenario", arg("--scenario")) as alpha, Pvesim("--generate", "nodes=5,guests=20") as beta:
        config = os.path.join(tmp, "proxlb.yaml")
        api = "    proxmox_api:\n      hosts: ['127.0.0.1:%d']\n      user: root@pam\n      token_id: pvekit\n" \
              "      token_secret: %s\n      ssl_fingerprint: ['%s']\n"
        with open(config, "w") as f:
            f.write("clusters:\n  - name: alpha\n" + api % (alpha.port, DEFAULT_SECRET, alpha.fingerprint) +
                    "  - name: beta\n" + api % (beta.port, DEFAULT_SECRET, beta.fingerprint) +
                    "service:\n  hold: 1000\n  listen: ''\n  audit_log: ''\n  status_socket: %s\n"
                    "  schedule:\n    interval: 600\n    format: minutes\n"
                    "  dashboard:\n    listen: 127.0.0.1:0\n" % os.path.join(tmp, "status.sock"))
        return drive(config, 2, lambda url: ["node", os.path.join(HERE, "dashboard_clusters.mjs"), cache, browser,
                                             url, artifacts, "alpha=%d,beta=5" % len(NODES)])


def drive(config, rounds, command):
    """Runs a daemon on `config` until its first `rounds` rounds are done, then
    the browser script command(url); prints the daemon's log if that fails."""
    daemon = Daemon(config)
    try:
        url = re.search(r"dashboard on (http://127\.0\.0\.1:\d+/dashboard/)", daemon.expect("dashboard on ")).group(1)
        for _ in range(rounds):
            daemon.expect("round: ")
        r = subprocess.run(command(url), text=True, timeout=240)
        if r.returncode != 0:
            while not daemon.lines.empty():
                daemon.log.append(daemon.lines.get())
            print("daemon log:\n" + "\n".join(daemon.log))
        return r.returncode
    finally:
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
