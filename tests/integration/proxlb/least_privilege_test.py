"""proxlb with the least privileges it needs (docs/proxlb-config.md), as a
privilege-separated API token on pvesim, and with each of them taken away.

usage: least_privilege_test.py --pvesim BIN --proxlb BIN --scenarios DIR
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxlb_test import PROXLB, ProxlbCase  # noqa: E402

# The role of docs/proxlb-config.md ("Least privileges").
PRIVILEGES = ["VM.Audit", "VM.Migrate", "Sys.Audit", "Sys.Console", "Datastore.Audit", "Pool.Audit"]


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

    def test_each_privilege_less_fails_naming_it(self):
        # Sys.Audit: the cluster status; VM.Migrate: the first wave; Sys.Console:
        # the HA-managed guest's move (vm:100 of the built-in cluster).
        for missing in ("Sys.Audit", "VM.Migrate"):
            with self.subTest(missing=missing):
                self.set_role([p for p in PRIVILEGES if p != missing])
                before = self.placement()
                p = subprocess.run([PROXLB, "-c", self.config, "balance"], capture_output=True, text=True,
                                   timeout=120)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn("403 Permission check failed (", p.stderr + p.stdout)
                self.assertIn(", %s)" % missing, p.stderr + p.stdout)
                self.assertNotIn(self.secret, p.stderr + p.stdout)
                self.assertEqual(self.placement(), before, "no guest moved")
                self.set_role(PRIVILEGES)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])
