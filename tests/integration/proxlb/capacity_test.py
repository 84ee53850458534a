#!/usr/bin/env python3
"""proxlb capacity against pvesim (issue 15): the forecast recovers a planted
memory trend + daily cycle, the failover verdict matches the case solved by
hand in tests/data/scenarios/capacity.yaml, --remove-node changes it as
expected, charts are well-formed SVG, and bad arguments are refused."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, Pvesim, pvesim_binary  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


PROXLB = arg("--proxlb")
SCENARIO = arg("--scenario")
GIB = 1024 ** 3
# From the scenario: pve1 uses 2G + 24G now, +0.48G/day, daily peaks +4.8G.
EXPECTED_DAYS = (0.85 * 64 - 26 - 4.8) / 0.48
TOLERANCE_DAYS = 0.1 * EXPECTED_DAYS  # 10 % of the distance to the crossing
# pve3's local-lvm: 200G of 512G now, +4G/day; the cluster's three: 1536G.
EXPECTED_DISK_DAYS = {"pve3": (0.85 * 512 - 200) / 4, "cluster": (0.85 * 1536 - 200) / 4}


class Capacity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.sim = Pvesim("--scenario", SCENARIO).__enter__()
        cls.config = os.path.join(cls.tmp.name, "proxlb.yaml")
        with open(cls.config, "w") as f:
            f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                    "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                    "proxmox_cluster:\n  overprovisioning: false\n" % (cls.sim.port, DEFAULT_SECRET, cls.sim.fingerprint))

    @classmethod
    def tearDownClass(cls):
        cls.sim.__exit__(None, None, None)
        cls.tmp.cleanup()

    def proxlb(self, *args):
        return subprocess.run([PROXLB, "-c", self.config, *args], capture_output=True, text=True, timeout=120)

    def report(self, *args):
        r = self.proxlb("--json", "capacity", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    @staticmethod
    def resource(report, scope, name):
        s = next(s for s in report["scopes"] if s["name"] == scope)
        return next(r for r in s["resources"] if r["resource"] == name)

    def test_forecast_recovers_the_planted_exhaustion_date(self):
        start = time.time()
        report = self.report()
        mem = self.resource(report, "pve1", "memory used")
        f = mem["forecast"]
        self.assertEqual(f["verdict"], "rising", f)
        self.assertEqual(f["daily_harmonics"], 2)
        self.assertIsNotNone(f["crosses"], f)
        days = (f["crosses"] - start) / 86400
        self.assertLess(abs(days - EXPECTED_DAYS), TOLERANCE_DAYS,
                        "crossing after %.1f days, expected %.1f +- %.1f" % (days, EXPECTED_DAYS, TOLERANCE_DAYS))
        self.assertLessEqual(f["earliest"], f["crosses"])
        self.assertGreaterEqual(f["latest"], f["crosses"])
        self.assertAlmostEqual(f["slope_per_day"], 0.48 / 64, delta=0.1 * 0.48 / 64)
        # pve3's guest has no trend.
        self.assertEqual(self.resource(report, "pve3", "memory used")["forecast"]["verdict"], "no trend")
        self.assertEqual(self.resource(report, "cluster", "memory assigned")["now"], 87 * GIB)

    def test_disk_forecast_recovers_the_planted_exhaustion_date(self):
        start = time.time()
        report = self.report()
        for scope, expected in EXPECTED_DISK_DAYS.items():
            disk = self.resource(report, scope, "disk used")
            self.assertEqual(disk["capacity"], (512 if scope == "pve3" else 1536) * GIB)
            f = disk["forecast"]
            self.assertEqual(f["verdict"], "rising", (scope, f))
            days = (f["crosses"] - start) / 86400
            self.assertLess(abs(days - expected), 0.1 * expected,
                            "%s: disk crosses after %.1f days, expected %.1f" % (scope, days, expected))
        self.assertEqual(self.resource(report, "pve1", "disk used")["forecast"]["verdict"], "no trend")

    def test_failover_verdict_matches_the_case_solved_by_hand(self):
        report = self.report()
        ha, running = report["failover"]["ha"], report["failover"]["running"]
        self.assertTrue(ha["fits"], ha)
        self.assertFalse(running["fits"], running)
        self.assertEqual(running["failed"], ["pve1"])
        self.assertEqual(running["not_fitting"], [302])
        self.assertEqual(running["short_by"]["memory"], 24 * GIB)
        self.assertEqual(running["method"], "exact")
        self.assertEqual(running["combinations"], 3)

    def test_remove_node_turns_the_ha_verdict(self):
        report = self.report("--remove-node", "pve2")
        ha = report["failover"]["ha"]
        self.assertFalse(ha["fits"], ha)
        self.assertEqual(ha["failed"], ["pve1"])
        self.assertEqual(ha["not_fitting"], [301])
        self.assertTrue(any("removed pve2" in n for n in report["notes"]), report["notes"])
        added = self.report("--add-node-like", "pve2")
        self.assertTrue(added["failover"]["running"]["fits"], added["failover"]["running"])

    def test_text_csv_and_charts(self):
        r = self.proxlb("capacity", "--add-guests", "2", "--guest-memory", "2G")
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            self.assertLessEqual(len(line), 80, line)
        self.assertIn("DOES NOT FIT when pve1 fails", r.stdout)
        self.assertIn("302 trend-b", r.stdout)
        r = self.proxlb("capacity", "--csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("scope,resource,unit,capacity"))
        charts = os.path.join(self.tmp.name, "charts")
        r = self.proxlb("capacity", "--charts", charts)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = sorted(os.listdir(charts))
        self.assertIn("node-pve1-memory-used.svg", files)
        self.assertIn("cluster-cpu-used.svg", files)
        for name in files:
            root = ET.parse(os.path.join(charts, name)).getroot()  # raises on malformed XML
            self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")

    def test_bad_arguments_are_refused_by_name(self):
        for args, text in ((["--add-guests", "-2"], "--add-guests -2"),
                           (["--remove-node", "pve9"], "--remove-node 'pve9': unknown node"),
                           (["--add-node-like", "nope"], "--add-node-like 'nope': unknown node"),
                           (["--threshold", "0"], "--threshold"),
                           (["--threshold", "101"], "--threshold"),
                           (["--failures", "3"], "--failures 3"),
                           (["--failures", "0"], "--failures 0"),
                           (["--timeframe", "decade"], "--timeframe 'decade'"),
                           (["--guest-memory", "lots", "--add-guests", "1"], "--guest-memory 'lots'")):
            r = self.proxlb("capacity", *args)
            self.assertNotEqual(r.returncode, 0, (args, r.stdout))
            self.assertIn(text, r.stderr, args)
            self.assertTrue(r.stderr.startswith("error: "), r.stderr)


class ScenarioKeys(unittest.TestCase):
    """pvesim refuses out-of-range trend and weekly-cycle keys by name."""

    def test_bad_trend_keys_are_refused(self):
        with open(SCENARIO) as f:
            base = f.read()
        for bad, key in (("mem_trend: 0.01", "mem_trend: 5"), ("mem_trend: 0.01", "mem_trend: .nan"),
                         ("weekly_peak_day: 0", "weekly_peak_day: 7"),
                         ("mem_weekly_amp: 0.05", "mem_weekly_amp: -2"), ("disk_trend: 0.01", "disk_trend: 2"),
                         ("disk: 0.5", "disk: 1.5")):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(base.replace(bad, key, 1))
                f.flush()
                r = subprocess.run([pvesim_binary(), "--port", "0", "--scenario", f.name], capture_output=True,
                                   text=True, timeout=30)
                self.assertNotEqual(r.returncode, 0, key)
                self.assertIn("load." + key.split(":")[0], r.stderr)


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
