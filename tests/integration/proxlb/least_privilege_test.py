"""proxlb with the least privileges it needs (docs/proxlb-config.md), as a
privilege-separated API token on pvesim, and with each of them taken away.

usage: least_privilege_test.py --pvesim BIN --proxlb BIN --scenarios DIR
"""
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxlb_test import PROXLB, ProxlbCase  # noqa: E402

# The role of docs/proxlb-config.md ("Least privileges").
PRIVILEGES = ["VM.Audit", "VM.Migrate", "Sys.Audit", "Sys.Console", "Datastore.Audit", "Pool.Audit"]
# Where proxlb needs each (its error names the path).
PATHS = {"VM.Audit": "/vms", "VM.Migrate": "/vms", "Sys.Audit": "/", "Sys.Console": "/", "Datastore.Audit": "/storage",
         "Pool.Audit": "/pool"}


class LeastPrivilege(ProxlbCase):
    def setUp(self):
        super().setUp()
        base = self.sim.base
        for path, data in (("/access/roles", {"roleid": "ProxLB", "privs": ",".join(PRIVILEGES)}),
                           ("/access/users", {"userid": "proxlb@pve"})):
            self.api.post(base + path, data=data, timeout=10).raise_for_status()
        r = self.api.post(base + "/access/users/proxlb@pve/token/balance", data={"privsep": 1}, timeout=10)
        r.raise_for_status()
        self.secret = r.json()["data"]["value"]
        self.api.put(base + "/access/acl", data={"path": "/", "roles": "ProxLB", "users": "proxlb@pve",
                                                 "tokens": "proxlb@pve!balance"}, timeout=10).raise_for_status()
        with open(self.config, "w") as f:
            f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: proxlb@pve\n  token_id: balance\n"
                    "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                    "balancing:\n  parallel: true\n  parallel_jobs: 4\n" % (self.sim.port, self.secret,
                                                                            self.sim.fingerprint))

    def set_role(self, privileges):
        self.api.put(self.sim.base + "/access/roles/ProxLB", data={"privs": ",".join(privileges)},
                     timeout=10).raise_for_status()

    def test_the_documented_role_balances(self):
        run = self.proxlb_json("balance")
        results = [r for rnd in run["rounds"] for r in rnd.get("execution", {}).get("results", [])]
        self.assertGreater(len(results), 0)
        self.assertTrue(all(r["outcome"] == "done" for r in results), results)

    def run_without(self, missing, *command):
        """proxlb COMMAND with the role minus `missing`: refused before it reads or moves anything."""
        self.set_role([p for p in PRIVILEGES if p != missing])
        try:
            before = self.placement()
            p = subprocess.run([PROXLB, "-c", self.config, *command], capture_output=True, text=True, timeout=120)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("the API token proxlb@pve!balance lacks %s on %s" % (missing, PATHS[missing]), p.stderr)
            self.assertIn("docs/proxlb-config.md", p.stderr)
            self.assertNotIn(self.secret, p.stderr + p.stdout)
            self.assertEqual(self.placement(), before, "no guest moved")
        finally:
            self.set_role(PRIVILEGES)

    def test_each_privilege_less_is_refused_naming_it(self):
        # PVE would refuse (403) a call without Sys.Audit, VM.Migrate or
        # Sys.Console, but only hide guests, storages and pools without the
        # audit privileges: proxlb checks them all first.
        for missing in PRIVILEGES:
            with self.subTest(missing=missing):
                self.run_without(missing, "balance")

    def test_reading_commands_need_the_audit_privileges_only(self):
        for missing in ("VM.Audit", "Datastore.Audit", "Pool.Audit", "Sys.Audit"):
            for command in ("status", "plan"):
                with self.subTest(missing=missing, command=command):
                    self.run_without(missing, command)
        self.set_role([p for p in PRIVILEGES if p not in ("VM.Migrate", "Sys.Console")])
        self.proxlb("plan")
        self.proxlb("status")
        self.proxlb("balance", "--dry-run")

    def test_an_acl_on_some_guests_is_refused(self):
        # The role on /vms/100 only: PVE shows that guest, proxlb would plan
        # without all the others (the same with an ACL on one pool).
        base = self.sim.base
        self.api.put(base + "/access/acl", data={"path": "/", "roles": "ProxLB", "users": "proxlb@pve",
                                                 "tokens": "proxlb@pve!balance", "delete": 1},
                     timeout=10).raise_for_status()
        self.api.put(base + "/access/acl", data={"path": "/vms/100", "roles": "ProxLB", "users": "proxlb@pve",
                                                 "tokens": "proxlb@pve!balance"}, timeout=10).raise_for_status()
        p = self.proxlb("plan", check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("lacks VM.Audit on /vms (propagated): proxlb would see only part of the guests", p.stderr)

    def test_the_daemon_checks_at_start_and_on_sighup(self):
        with open(self.config, "a") as f:
            f.write("service:\n  listen: ''\n  status_socket: ''\n  audit_log: ''\n")
        self.set_role([p for p in PRIVILEGES if p != "Datastore.Audit"])
        p = subprocess.run([PROXLB, "-c", self.config, "daemon", "--interval", "1"], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("lacks Datastore.Audit on /storage (propagated)", p.stderr)
        self.set_role(PRIVILEGES)
        d = subprocess.Popen([PROXLB, "-c", self.config, "--log-level", "info", "daemon", "--interval", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            seen = []
            for line in d.stderr:
                seen.append(line)
                if "round:" in line:
                    break
            self.assertTrue(any("round:" in line for line in seen), "".join(seen))
            self.set_role([p for p in PRIVILEGES if p != "Pool.Audit"])
            d.send_signal(signal.SIGHUP)
            self.assertNotEqual(d.wait(timeout=60), 0)
            self.assertIn("lacks Pool.Audit on /pool (propagated)", d.stderr.read())
        finally:
            if d.poll() is None:
                d.kill()
                d.wait()

if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])
