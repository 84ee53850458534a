#!/usr/bin/env python3
"""One proxlb daemon balancing two clusters (two pvesim instances, two
scenarios) from one `clusters:` list (issue 14): both are balanced, each with
its own metrics, status and audit lines; a cluster whose API hangs or fails
does not delay the other's rounds."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
sys.path.insert(0, os.path.dirname(__file__))
from pvesim_harness import DEFAULT_SECRET, Pvesim  # noqa: E402
from daemon_test import MIGRATIONS, PROXLB, PVE1_GUESTS, SCENARIO, Daemon  # noqa: E402

NAMES = ("alpha", "beta")
# Seconds per API request: beta's rounds against a hanging API take 5 s
# each, so rounds run one after the other would space alpha's 5 s apart.
TIMEOUTS = {"alpha": 2, "beta": 5}


class TwoClusters(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # The second scenario: the same nodes and guests under another
        # cluster name (PVE's name must not be what tells clusters apart).
        second = os.path.join(self.tmp.name, "second.yaml")
        with open(SCENARIO) as base, open(second, "w") as f:
            f.write(base.read().replace("name: steady", "name: second"))
        self.sims = {}
        for name, scenario in zip(NAMES, (SCENARIO, second)):
            sim = Pvesim("--time-scale", "60", "--scenario", scenario).__enter__()
            self.addCleanup(sim.__exit__, None, None, None)
            self.sims[name] = sim
        self.audit = os.path.join(self.tmp.name, "audit.jsonl")
        self.socket = os.path.join(self.tmp.name, "status.sock")
        self.config = os.path.join(self.tmp.name, "proxlb.yaml")
        entries = "".join(
            "  - name: %s\n    proxmox_api:\n      hosts: ['127.0.0.1:%d']\n      user: root@pam\n"
            "      token_id: pvekit\n      token_secret: %s\n      ssl_fingerprint: ['%s']\n"
            "      timeout: %d\n      retries: 1\n" % (name, sim.port, DEFAULT_SECRET, sim.fingerprint, TIMEOUTS[name])
            for name, sim in self.sims.items())
        with open(self.config, "w") as f:
            f.write("balancing:\n  method: memory\n  mode: used\n  balanciness: 5\n"
                    "clusters:\n%s"
                    "service:\n  hold: 1\n  margin: 0\n  listen: 127.0.0.1:0\n  audit_log: %s\n"
                    "  status_socket: %s\n" % (entries, self.audit, self.socket))
        self.api = self.sims["alpha"].token_session()

    def start(self):
        d = Daemon(self.config, "--interval", "1")
        self.addCleanup(d.stop)
        line = d.expect("/metrics, /healthz, /readyz and /status on http://")
        self.url = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)
        return d

    def get(self, path):
        return self.api.get(self.url + path, timeout=5)

    def migrations(self, name):
        sim = self.sims[name]
        r = sim.token_session().get(sim.base + "/cluster/tasks", timeout=10)
        r.raise_for_status()
        return [t for t in r.json()["data"] if t["type"] in MIGRATIONS]

    def load_pve1(self, name, mem):
        for vmid in PVE1_GUESTS:
            self.sims[name].admin("guest/%d/load" % vmid, mem=mem)

    def test_both_clusters_are_balanced_with_their_own_metrics_status_and_audit(self):
        for name in NAMES:
            self.load_pve1(name, 1.0)
        d = self.start()
        done = {}
        while len(done) < len(NAMES):  # the two loops' lines interleave
            line = d.expect("migration(s) done", timeout=60)
            done[re.search(r"cluster (\w+): round:", line).group(1)] = line
        for line in done.values():
            self.assertIn("0 failed", line)
        for name in NAMES:
            tasks = self.migrations(name)
            self.assertTrue(tasks, "no migration in cluster %s" % name)
            self.assertTrue(all(t.get("status") == "OK" for t in tasks), tasks)
        metrics = self.get("/metrics").text
        for name in NAMES:
            self.assertIn('proxlb_leader{cluster="%s"} 1' % name, metrics)
            self.assertIn('proxlb_node_guests{cluster="%s",node="pve1"}' % name, metrics)
            succeeded = re.search(r'proxlb_migrations_succeeded_total\{cluster="%s"\} (\d+)' % name, metrics)
            self.assertTrue(succeeded and int(succeeded.group(1)) > 0, metrics)
        clusters = self.get("/clusters").json()
        self.assertEqual([c["name"] for c in clusters], list(NAMES))
        self.assertEqual(self.get("/status").status_code, 400, "several clusters need ?cluster=")
        self.assertEqual(self.get("/status?cluster=beta").json()["cluster"], "beta")
        with open(self.audit) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual({line["cluster"] for line in lines}, set(NAMES), lines)
        # proxlb status/plan read the daemon's view of the cluster named.
        for name in NAMES:
            shown = subprocess.run([PROXLB, "-c", self.config, "--cluster", name, "--json", "status"],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertEqual(json.loads(shown.stdout)["daemon"]["cluster"], name)
        ambiguous = subprocess.run([PROXLB, "-c", self.config, "plan"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(ambiguous.returncode, 0)
        self.assertIn("the config has 2 clusters (alpha, beta): pick one with --cluster NAME", ambiguous.stderr)

    def test_a_hanging_cluster_does_not_delay_the_others_rounds(self):
        d = self.start()
        for name in NAMES:
            d.expect("cluster %s: round: balanced" % name)
        # beta's API hangs (each request 8 s; the client gives up after 5 s).
        self.sims["beta"].admin("fail-requests", count=100000, mode="hang", hang_ms=8000)
        started = time.time()
        for _ in range(4):
            d.expect("cluster alpha: round: balanced", timeout=5)
        self.assertLess(time.time() - started, 8, "alpha's rounds were delayed:\n" + "\n".join(d.log))
        d.expect("cluster beta: round failed", timeout=30)
        beta = [c for c in self.get("/clusters").json() if c["name"] == "beta"][0]
        self.assertFalse(beta["ready"])
        self.assertTrue(beta["last_error"])
        self.assertEqual(self.get("/readyz?cluster=alpha").status_code, 200)
        self.assertEqual(self.get("/readyz").status_code, 503)
        # A failing (500) API instead of a hanging one: alpha goes on too.
        self.sims["beta"].admin("reset")
        self.sims["beta"].admin("fail-requests", count=100000, mode="500")
        d.expect("cluster beta: round failed", timeout=30)
        for _ in range(3):
            d.expect("cluster alpha: round: balanced", timeout=5)
        # beta recovers by itself once its API answers again.
        self.sims["beta"].admin("reset")
        d.expect("cluster beta: round: balanced", timeout=30)


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
