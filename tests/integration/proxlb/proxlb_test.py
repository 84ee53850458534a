"""proxlb against a real pvesim: status, plan, balance and the rules, end to end.

Run by CTest with Debian's python: proxlb_test.py --pvesim BIN --proxlb BIN --scenarios DIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, Pvesim  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


PROXLB = arg("--proxlb")
SCENARIOS = arg("--scenarios")


class ProxlbCase(unittest.TestCase):
    scenario = None  # None: pvesim's built-in cluster
    time_scale = "120"  # a 60 s migration takes half a second

    def sim_args(self):
        args = ["--time-scale", self.time_scale]
        if self.scenario:
            args += ["--scenario", os.path.join(SCENARIOS, self.scenario)]
        return args

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.sim = Pvesim(*self.sim_args()).__enter__()
        self.addCleanup(self.sim.__exit__, None, None, None)
        self.api = self.sim.token_session()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.config = self.write_config("proxlb.yaml", self.sim)

    def write_config(self, name, sim):
        """A config that pins `sim`'s self-signed certificate by fingerprint."""
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                    "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                    # Never the status socket of a daemon that may run on this machine.
                    "service:\n  status_socket: ''\n"
                    # Last: tests append balancing keys.
                    "balancing:\n  parallel: true\n  parallel_jobs: 4\n" % (sim.port, DEFAULT_SECRET, sim.fingerprint))
        return path

    def proxlb(self, *args, check=True):
        p = subprocess.run([PROXLB, "-c", self.config, *args], capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail("proxlb %s exited %d\nstdout:\n%s\nstderr:\n%s" % (args, p.returncode, p.stdout, p.stderr))
        return p

    def proxlb_json(self, *args):
        return json.loads(self.proxlb("--json", *args).stdout)

    def placement(self):
        r = self.api.get(self.sim.base + "/cluster/resources", params={"type": "vm"}, timeout=10)
        r.raise_for_status()
        return {g["vmid"]: g["node"] for g in r.json()["data"]}


class BuiltinCluster(ProxlbCase):
    def test_status_lists_every_node_and_guest(self):
        status = self.proxlb_json("status")
        self.assertEqual([n["node"] for n in status["nodes"]], ["pve1", "pve2", "pve3", "pve4", "pve5"])
        self.assertTrue(status["quorate"])
        self.assertEqual(status["guests"], len(self.placement()))
        self.assertGreater(status["spread"], status["balanciness"], "the built-in cluster is unbalanced")
        text = self.proxlb("status").stdout
        self.assertIn("Spread", text)
        self.assertIn("Imbalance", text)
        self.assertIn("RUN/ALL", text)
        self.assertTrue(all(len(line) <= 80 for line in text.splitlines()), text)

    def test_plan_improves_the_imbalance_and_moves_nothing(self):
        # Determinism for one snapshot is a unit test; here the simulated load
        # moves on between two reads, so only the plan's effect is checked.
        before = self.placement()
        plan = self.proxlb_json("plan")
        self.assertGreater(len(plan["moves"]), 0)
        self.assertLess(plan["imbalance_after"], plan["imbalance_before"])
        self.assertEqual(before, self.placement(), "plan must not move anything")

    def test_dry_run_starts_no_migration(self):
        before = self.placement()
        out = self.proxlb("balance", "--dry-run").stdout
        self.assertIn("dry run: no migration was started", out)
        self.assertEqual(before, self.placement())

    def test_balance_runs_the_plan_and_evens_out_the_cluster(self):
        run = self.proxlb_json("balance")
        self.assertFalse(run["dry_run"])
        results = [r for rnd in run["rounds"] for r in rnd.get("execution", {}).get("results", [])]
        self.assertGreater(len(results), 0)
        after = self.placement()
        for r in results:
            self.assertEqual(r["outcome"], "done", r)
            self.assertEqual(after[r["vmid"]], r["to"], "guest %d" % r["vmid"])
        status = self.proxlb_json("status")
        # balanciness is ProxLB's max-min spread in points; the simulated load
        # moves on after the plan, hence a little slack.
        self.assertLessEqual(status["spread"], status["balanciness"] + 2)
        # The cluster ends just under balanciness while its simulated load
        # keeps moving, so a second plan may touch it up, but must not redo it.
        again = self.proxlb_json("plan")["moves"]
        self.assertLessEqual(len(again), 2, again)
        self.assertTrue(all(m["reason"] == "balance" for m in again), again)

    def test_balance_writes_the_audit_log_when_it_is_set(self):
        audit = os.path.join(self.tmp.name, "log", "audit.jsonl")
        self.proxlb("--set", "service.audit_log=" + audit, "balance", "--dry-run")
        self.assertFalse(os.path.exists(audit), "a dry run migrates nothing and records nothing")
        run = self.proxlb_json("--set", "service.audit_log=" + audit, "balance")
        results = [r for rnd in run["rounds"] for r in rnd.get("execution", {}).get("results", [])]
        with open(audit) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(sorted(line["vmid"] for line in lines), sorted(r["vmid"] for r in results))
        self.assertTrue(all(line["by"] == "balance" and line["result"] == "done" for line in lines), lines)
        self.assertEqual(len({line["plan_id"] for line in lines}), len([r for r in run["rounds"] if "execution" in r]))

    def test_maintenance_node_is_evacuated(self):
        self.proxlb("--set", "proxmox_cluster.maintenance_nodes=pve3", "balance")
        left = [vmid for vmid, node in self.placement().items() if node == "pve3"]
        guests = {g["vmid"]: g for g in self.api.get(self.sim.base + "/cluster/resources",
                                                     params={"type": "vm"}).json()["data"]}
        for vmid in left:
            g = guests[vmid]
            frozen = g.get("template") or g.get("lock") or any(t.startswith("plb_ignore")
                                                                for t in g.get("tags", "").split(";"))
            self.assertTrue(frozen or g["status"] != "running",
                            "running movable guest %d left on maintenance node pve3" % vmid)

    def test_no_quorum_means_no_migration(self):
        self.sim.admin("quorum/lost")
        before = self.placement()
        p = self.proxlb("balance", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("has no quorum", p.stderr)
        self.assertEqual(before, self.placement())

    def test_quorum_lost_mid_run_stops_before_the_next_wave(self):
        # One migration per wave (no parallel jobs), so the run has many waves.
        p = subprocess.Popen([PROXLB, "-c", self.config, "--set", "balancing.parallel=false", "balance"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("  done"):
                self.sim.admin("quorum/lost")
                break
        out = "".join(lines) + p.stdout.read()
        err = p.stderr.read()
        self.assertNotEqual(p.wait(timeout=60), 0)
        self.assertIn("the cluster lost quorum", err)
        waves = int(out.split(" waves,")[0].split()[-1]) if " waves," in out else 0
        self.assertGreater(waves, 1, out)
        started = [line for line in out.splitlines() if line.startswith("  start")]
        self.assertLess(len(started), waves, "no wave starts after quorum is lost")

    def test_failing_migrations_are_reported_and_the_guests_stay(self):
        before = self.placement()
        for vmid in before:
            self.sim.admin("fail-migration/%d" % vmid, message="simulated storage error")
        p = self.proxlb("balance", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("migration aborted", p.stdout)
        self.assertIn("migration(s) failed", p.stderr)
        failed = [int(line.split()[1]) for line in p.stdout.splitlines() if line.startswith("  failed")]
        self.assertGreater(len(failed), 0)
        after = self.placement()
        for vmid in failed:
            self.assertEqual(after[vmid], before[vmid], "guest %d whose migration failed" % vmid)
        retried = [int(line.split()[1]) for line in p.stdout.splitlines() if line.startswith("  start")]
        self.assertEqual(len(retried), len(set(retried)), "a guest whose migration failed is not tried again")

    def test_offline_node_is_never_a_target(self):
        self.sim.admin("node/pve1/offline")
        status = self.proxlb_json("status")
        self.assertEqual([n["state"] for n in status["nodes"] if n["node"] == "pve1"], ["offline"])
        plan = self.proxlb_json("plan")
        self.assertNotIn("pve1", [m["to"] for m in plan["moves"]])

    def test_best_node_picks_an_eligible_node(self):
        self.assertEqual(self.proxlb_json("best-node", "--memory", "2G", "--tag", "plb_pin_pve4")["node"], "pve4")
        node = self.proxlb("best-node", "--memory", "4G", "--cpus", "2").stdout.strip()
        self.assertIn(node, ["pve1", "pve2", "pve3", "pve4", "pve5"])

    def test_bad_config_is_rejected_by_name(self):
        p = self.proxlb("--set", "balancing.balanciness=lots", "status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("balancing.balanciness", p.stderr)
        with open(self.config, "a") as f:
            f.write("  balanciness_typo: 3\n")
        p = self.proxlb("status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown key 'balancing.balanciness_typo'", p.stderr)

    def test_missing_config_file_is_named(self):
        if os.path.exists("/etc/proxlb/proxlb.yaml"):
            self.skipTest("this machine has /etc/proxlb/proxlb.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROXLB_")}
        p = subprocess.run([PROXLB, "status"], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no config file (give -c FILE", p.stderr)

    def test_wrong_fingerprint_is_refused(self):
        p = self.proxlb("--set", "proxmox_api.ssl_fingerprint=" + ":".join(["AB"] * 32), "status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(self.sim.fingerprint, p.stderr, "the error names the fingerprint the server presented")

    def test_wrong_token_is_an_auth_error_without_the_secret(self):
        p = self.proxlb("--set", "proxmox_api.token_secret=not-the-secret", "status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("401", p.stderr)
        self.assertNotIn("not-the-secret", p.stderr + p.stdout)


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "proxlb")
NODES = ["pve1", "pve2", "pve3", "pve4", "pve5"]


class ProxLBCommandLine(ProxlbCase):
    """ProxLB's own command line: proxlb -c FILE [-d] [-j] [-b] [-v]."""

    def bare(self, *args, check=True, config=None):
        p = subprocess.run([PROXLB, "-c", config or self.config, *args], capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail("proxlb -c FILE %s exited %d\nstdout:\n%s\nstderr:\n%s"
                      % (args, p.returncode, p.stdout, p.stderr))
        return p

    def test_dry_run_plans_and_moves_nothing(self):
        before = self.placement()
        for flag in ("-d", "--dry-run"):
            out = self.bare(flag).stdout
            self.assertIn("Plan:", out)
            self.assertIn("dry run: no migration was started", out)
        self.assertEqual(before, self.placement())

    def test_bare_config_runs_a_balancing_round(self):
        before = self.placement()
        p = self.bare()
        self.assertIn("migrations done", p.stdout)
        moved = [v for v, n in self.placement().items() if before.get(v) != n]
        self.assertGreater(len(moved), 0, p.stdout)

    def test_json_prints_proxlbs_document(self):
        before = self.placement()
        p = self.bare("-j", "-d")
        doc = json.loads(p.stdout)
        self.assertEqual(set(doc), {"nodes", "guests", "groups"})
        self.assertEqual(sorted(doc["nodes"]), NODES)
        for node in doc["nodes"].values():
            for key in ("name", "maintenance", "cpu_total", "cpu_used", "cpu_used_percent", "memory_total",
                        "memory_used", "memory_free", "memory_used_percent", "memory_assigned_percent",
                        "disk_total", "disk_used", "disk_used_percent"):
                self.assertIn(key, node)
        self.assertEqual(len(doc["guests"]), len(before))
        for guest in doc["guests"].values():
            for key in ("name", "id", "type", "node_current", "node_target", "cpu_total", "memory_total",
                        "memory_used", "disk_total", "tags"):
                self.assertIn(key, guest)
            self.assertEqual(guest["node_current"], before[guest["id"]])
            self.assertIn(guest["type"], ("vm", "ct"))
        targets = [g for g in doc["guests"].values() if g["node_target"] != g["node_current"]]
        self.assertGreater(len(targets), 0, "the built-in cluster is unbalanced: the round plans moves")
        self.assertNotIn(DEFAULT_SECRET, p.stdout)
        self.assertEqual(before, self.placement(), "-j -d moves nothing")
        # The memory spread after the planned moves is within reach of balanciness 5.
        percents = [n["memory_used_percent"] for n in doc["nodes"].values()]
        self.assertLess(max(percents) - min(percents), 10, percents)

    def test_json_without_dry_run_migrates_as_proxlb_does(self):
        before = self.placement()
        doc = json.loads(self.bare("--json").stdout)
        after = self.placement()
        for guest in doc["guests"].values():
            self.assertEqual(after[guest["id"]], guest["node_target"], guest["name"])
        self.assertNotEqual(before, after)

    def test_best_node_prints_one_node_name(self):
        for flag in ("-b", "--best-node"):
            p = self.bare(flag)
            self.assertIn(p.stdout.strip(), NODES, p.stdout)
            self.assertEqual(len(p.stdout.splitlines()), 1, p.stdout)
        self.sim.admin("node/pve1/offline")
        self.assertNotEqual(self.bare("-b").stdout.strip(), "pve1")
        p = self.bare("-b", "status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("-b/--best-node", p.stderr)

    def test_version(self):
        for flag in ("-v", "--version"):
            p = subprocess.run([PROXLB, flag], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout.startswith("proxlb version: "), p.stdout)

    def test_proxlbs_example_file_runs_with_warnings_naming_the_ignored_keys(self):
        # ProxLB 2.x's example, with its proxmox_api section pointed at the simulator.
        with open(os.path.join(DATA, "proxlb_2.x_example.yaml")) as f:
            example = f.read()
        rest = example[example.index("proxmox_cluster:"):]
        with open(self.config) as f:
            api = f.read()
        # The example has its own service section: the status socket goes there.
        api = api[:api.index("service:")]
        rest = rest.replace("\nservice:\n", "\nservice:\n  status_socket: ''\n", 1)
        path = os.path.join(self.tmp.name, "proxlb_example.yaml")
        with open(path, "w") as f:
            f.write(api + rest)
        before = self.placement()
        p = self.bare("-d", config=path)
        for key in ("service.daemon", "solver.enable", "balancing.psi"):
            self.assertIn(key, p.stderr)
        # A pool's strict: false acts (the least used node joins its pins).
        self.assertNotIn("balancing.pools.db-cluster.strict", p.stderr)
        self.assertIn("dry run: no migration was started", p.stdout)
        self.assertEqual(before, self.placement())
        with open(path, "a") as f:
            f.write("frobnicate:\n  level: 3\n")
        p = self.bare("-d", config=path, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown key 'frobnicate", p.stderr)

    def test_status_and_plan_show_spread_and_imbalance(self):
        status = self.proxlb_json("status")
        self.assertIn("spread", status)
        self.assertIn("imbalance", status)
        self.assertIn("rules", status)
        plan = self.proxlb_json("plan")
        for key in ("spread_before", "spread_after", "imbalance_before", "imbalance_after", "balanciness"):
            self.assertIn(key, plan)
        self.assertLess(plan["spread_after"], plan["spread_before"])
        text = self.proxlb("plan").stdout
        self.assertIn("Spread ", text)
        self.assertNotIn("-0%", text)


class RulesCluster(ProxlbCase):
    scenario = "proxlb-rules.yaml"

    def test_balance_repairs_every_rule(self):
        self.proxlb("--set", "balancing.enforce_affinity=true", "--set", "balancing.enforce_pinning=true", "balance")
        at = self.placement()
        self.assertEqual(at[100], at[101], "affinity group web together")
        self.assertNotEqual(at[102], at[103], "anti-affinity group db apart")
        self.assertEqual(at[104], "pve3", "plb_pin_pve3")
        self.assertEqual(at[105], "pve1", "plb_ignore_me never moves")
        self.assertEqual(at[106], "pve2", "strict HA node-affinity")
        self.assertEqual(self.proxlb_json("plan")["conflicts"], [])


class Twin(ProxlbCase):
    time_scale = "0.001"  # load stands still while the twin is made and compared

    def test_snapshot_round_trips_to_the_same_plan(self):
        original = self.proxlb_json("plan")
        path = os.path.join(self.tmp.name, "twin.yaml")
        out = self.proxlb("snapshot", "-o", path).stdout
        self.assertIn("5 nodes, 60 guests", out)
        with open(path) as f:
            text = f.read()
        self.assertNotIn(DEFAULT_SECRET, text, "the cluster's secrets stay out of the twin")
        with Pvesim("--scenario", path, "--time-scale", "0.001") as twin:
            twin_config = self.write_config("twin-proxlb.yaml", twin)
            p = subprocess.run([PROXLB, "-c", twin_config, "--json", "plan"], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            rehearsed = json.loads(p.stdout)
            # What a plan weighs comes back exactly: near-equal guests must not trade places.
            figures = lambda sim: {(r["id"], f): r.get(f) for r in sim.token_session().get(  # noqa: E731
                sim.base + "/cluster/resources", timeout=10).json()["data"]
                if r["type"] in ("node", "qemu", "lxc", "storage")
                for f in ("mem", "maxmem", "cpu", "maxcpu", "disk", "maxdisk")}
            live, copy = figures(self.sim), figures(twin)
            self.assertEqual({k: (v, copy.get(k)) for k, v in live.items() if copy.get(k) != v}, {})
        key = lambda plan: [(m["vmid"], m["from"], m["to"], m["wave"]) for m in plan["moves"]]  # noqa: E731
        self.assertGreater(len(original["moves"]), 0)
        self.assertEqual(key(original), key(rehearsed))
        self.assertAlmostEqual(original["imbalance_before"], rehearsed["imbalance_before"], delta=0.05)


MIGRATIONS = ("qmigrate", "vzmigrate")


class CrashRecovery(ProxlbCase):
    """`proxlb balance --parallel` killed (SIGKILL) while migrations run, then
    run again: the guests on their way are neither moved back nor moved
    twice, and both runs together migrate about as much as one run that was
    not interrupted on an identical cluster."""

    # 8 sim-seconds per real second: a migration takes 1 to 3 s, long enough
    # to kill proxlb in the middle of a wave and start it again.
    time_scale = "8"
    generate = ["--generate", "nodes=8,guests=200", "--seed", "11"]
    # About 20 migrations in 4 or 5 waves.
    settings = ["--set", "balancing.balanciness=3", "--set", "balancing.parallel_jobs=2"]

    def sim_args(self):
        return ["--time-scale", self.time_scale, *self.generate]

    def migrations(self, api, sim):
        """Every migration task of the cluster, oldest first: (vmid, source, target, running)."""
        r = api.get(sim.base + "/cluster/tasks", timeout=10)
        r.raise_for_status()
        out = []
        for t in reversed(r.json()["data"]):
            if t["type"] not in MIGRATIONS:
                continue
            log = api.get(sim.base + "/nodes/%s/tasks/%s/log" % (t["node"], t["upid"]),
                          params={"limit": 5}, timeout=10).json()["data"]
            target = next(line["t"].split("to node '")[1].split("'")[0] for line in log
                          if "starting migration of" in line["t"])
            out.append((int(t["id"]), t["node"], target, "endtime" not in t))
        return out

    def wait_until_idle(self, api, sim, timeout=40):
        deadline = time.time() + timeout
        while any(m[3] for m in self.migrations(api, sim)):
            self.assertLess(time.time(), deadline, "migrations still running")
            time.sleep(0.2)

    def test_rerun_after_a_kill_mid_wave_finishes_the_plan_without_moving_back(self):
        # The twin cluster runs one uninterrupted balance at the same time, so
        # both plans start from the same simulated load.
        twin = Pvesim(*self.sim_args()).__enter__()
        self.addCleanup(twin.__exit__, None, None, None)
        twin_api = twin.token_session()
        uninterrupted = subprocess.Popen([PROXLB, "-c", self.write_config("twin.yaml", twin), *self.settings,
                                          "balance"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: uninterrupted.poll() is None and uninterrupted.kill())
        # The killed run's own plan, printed (and flushed with its first
        # wave) before it starts migrating: the rerun must finish that plan.
        first_out = open(os.path.join(self.tmp.name, "first.out"), "w+")
        self.addCleanup(first_out.close)
        first = subprocess.Popen([PROXLB, "-c", self.config, *self.settings, "balance"], stdout=first_out,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: first.poll() is None and first.kill())
        deadline = time.time() + 30
        while True:
            running = [m for m in self.migrations(self.api, self.sim) if m[3]]
            if len(running) >= 2 or time.time() > deadline:
                break
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        self.assertGreaterEqual(len(running), 2, "proxlb was killed while migrations ran")
        before_rerun = len(self.migrations(self.api, self.sim))

        rerun = self.proxlb(*self.settings, "balance")
        self.assertIn("Already migrating", rerun.stdout)
        self.wait_until_idle(self.api, self.sim)

        tasks = self.migrations(self.api, self.sim)
        placement = self.placement()
        self.assertEqual(uninterrupted.wait(timeout=60), 0, uninterrupted.stderr.read())
        self.wait_until_idle(twin_api, twin)
        single = len(self.migrations(twin_api, twin))
        self.assertGreater(single, 4, "the generated cluster needs balancing")
        for vmid, source, target, _ in running:
            moves = [t for t in tasks if t[0] == vmid]
            self.assertEqual(len(moves), 1, "guest %d migrating at the kill moved again: %s" % (vmid, moves))
            self.assertEqual(placement[vmid], target, "guest %d left where it was going" % vmid)
        per_guest = {}
        for vmid, source, target, _ in tasks:
            per_guest.setdefault(vmid, []).append((source, target))
        twice = {v: m for v, m in per_guest.items() if len(m) > 1}
        first_out.seek(0)
        planned = int(re.search(r"Plan: (\d+) migration", first_out.read()).group(1))
        print("\ncrash recovery: %d migrations in the killed run (%d running at the kill) + %d in the rerun = %d; "
              "the killed run's plan: %d; an uninterrupted run on a twin cluster: %d; guests moved more than "
              "once: %s" % (before_rerun, len(running), len(tasks) - before_rerun, len(tasks), planned, single,
                            twice or "none"))
        # The twin's load differs by its noise (it started a moment apart), so
        # its count is shown, not compared; the interrupted plan is the measure.
        # The rerun plans on fresh figures, which may add a move or two; the
        # old reader, which planned as if the running guests stayed put, made
        # 5 more on 18 (28%).
        self.assertLessEqual(len(tasks), planned + max(3, planned // 5),
                             "both runs together migrate about as much as the killed run's plan")
        self.assertFalse([v for v, m in twice.items() if any(a == b for (a, _), (_, b) in zip(m, m[1:]))],
                         "no guest returns to a node it left: %s" % twice)
        status = self.proxlb_json(*self.settings, "status")
        self.assertLessEqual(status["spread"], status["balanciness"] + 2)


def selected_tests(names, exclude):
    """The tests named on the command line (all by default) minus `exclude` classes."""
    loader = unittest.defaultTestLoader
    module = sys.modules[__name__]
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)
    out = unittest.TestSuite()

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                flatten(t)
            elif type(t).__name__ not in exclude:
                out.addTest(t)
    flatten(suite)
    return out


if __name__ == "__main__":
    exclude = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--exclude"]
    names = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and sys.argv[i - 1] not in
             ("--proxlb", "--scenarios", "--pvesim", "--exclude")]
    result = unittest.TextTestRunner(verbosity=2).run(selected_tests(names, exclude))
    if not result.wasSuccessful():
        sys.exit(1)
    sys.exit(77 if result.testsRun and len(result.skipped) == result.testsRun else 0)
