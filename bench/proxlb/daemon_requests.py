#!/usr/bin/env python3
"""API requests per round of `proxlb daemon` (not part of ctest).

Starts pvesim with a generated cluster (default 50 nodes, 10,000 guests), runs
`proxlb daemon` for a few rounds and reads pvesim's request counter
(GET /_sim/state, api_requests) after each round. The first round reads every
guest config, as ProxLB and `proxlb balance` do in every run; later rounds
read only the configs that may have changed (GuestConfigCache). Prints the
requests of each round and the ratio of a later round to the first.

usage: bench/proxlb/daemon_requests.py [--pvesim BIN] [--proxlb BIN] [--nodes N] [--guests M] [--rounds R]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import requests
import urllib3

urllib3.disable_warnings()
TOKEN_SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvesim", default="build/default/apps/pvesim/pvesim")
    ap.add_argument("--proxlb", default="build/default/apps/proxlb/proxlb")
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--guests", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--interval", type=float, default=5)
    a = ap.parse_args()

    sim = subprocess.Popen([a.pvesim, "--port", "0", "--generate", "nodes=%d,guests=%d" % (a.nodes, a.guests),
                            "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
    try:
        banner = sim.stdout.readline()
        m = re.search(r"listening on (https://[^ ]+) fingerprint ([0-9A-F:]+)", banner)
        if not m:
            sys.exit("pvesim did not start: " + banner)
        url, fingerprint = m.groups()
        port = int(url.rsplit(":", 1)[1])

        def api_requests():
            return requests.get(url + "/_sim/state", verify=False, timeout=30).json()["data"]["api_requests"]

        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "proxlb.yaml")
            with open(config, "w") as f:
                f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                        "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                        "balancing:\n  enable: false\n"  # plan only: the rounds' reads are measured, not migrations
                        "service:\n  listen: ''\n" % (port, TOKEN_SECRET, fingerprint))
            before = api_requests()
            daemon = subprocess.Popen([a.proxlb, "-c", config, "--log-level", "info", "daemon", "--interval",
                                       str(a.interval), "--rounds", str(a.rounds)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            counts = []
            started = time.time()
            for line in daemon.stderr:
                if "round:" in line or "round failed" in line:
                    now = api_requests()
                    counts.append((now - before, time.time() - started))
                    before = now
                    started = time.time()
            daemon.wait()
    finally:
        sim.terminate()
        sim.wait()

    print("proxlb daemon on %d nodes / %d guests: API requests per round (pvesim's count)" % (a.nodes, a.guests))
    for i, (n, seconds) in enumerate(counts, 1):
        print("  round %d: %6d requests (%.1f s)" % (i, n, seconds))
    if len(counts) > 1 and counts[0][0] > 0:
        later = max(n for n, _ in counts[1:])
        print("later rounds / first round (every config read, as ProxLB each run): %.4fx" % (later / counts[0][0]))


if __name__ == "__main__":
    main()
