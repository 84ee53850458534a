"""pvesim over real HTTPS: auth, CSRF, tasks, migrations, failure modes, faults."""
import os
import sys
import time
import unittest
import warnings

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, DEFAULT_SECRET  # noqa: E402


class SimTestCase(unittest.TestCase):
    sim_args = ("--time-scale", "20")

    @classmethod
    def setUpClass(cls):
        cls.sim = Pvesim(*cls.sim_args).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.sim.__exit__(None, None, None)

    def setUp(self):
        self.sim.admin("reset")
        self.s = self.sim.token_session()
        self.addCleanup(self.s.close)
        self.base = self.sim.base

    def get(self, path, **params):
        return self.s.get(self.base + path, params=params, timeout=10)

    def post(self, path, **data):
        return self.s.post(self.base + path, data=data, timeout=10)

    def guest_node(self, vmid):
        for r in self.get("/cluster/resources", type="vm").json()["data"]:
            if r["vmid"] == vmid:
                return r["node"]
        return None


class AuthTest(SimTestCase):
    def test_fingerprint_is_pve_format(self):
        self.assertRegex(self.sim.fingerprint, r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")

    def test_password_login_returns_ticket_and_csrf(self):
        r = self.sim.login()
        self.assertEqual(r.status_code, 200)
        data = r.json()["data"]
        self.assertTrue(data["ticket"].startswith("PVE:root@pam:"))
        self.assertIn("CSRFPreventionToken", data)
        self.assertEqual(data["username"], "root@pam")
        s = self.sim.ticket_session()
        self.assertEqual(s.get(self.base + "/nodes").status_code, 200)

    def test_json_body_login_and_realm(self):
        r = self.sim.session().post(self.base + "/access/ticket",
                                    json={"username": "root", "password": "pvesim", "realm": "pam"})
        self.assertEqual(r.status_code, 200, r.text)

    def test_wrong_password_is_401(self):
        r = self.sim.login(password="wrong")
        self.assertEqual(r.status_code, 401)
        self.assertIsNone(r.json()["data"])

    def test_token_login_and_bad_token(self):
        self.assertEqual(self.get("/version").status_code, 200)
        bad = self.sim.token_session(secret="nope")
        self.assertEqual(bad.get(self.base + "/version").status_code, 401)

    def test_no_credentials_is_401(self):
        self.assertEqual(self.sim.session().get(self.base + "/nodes").status_code, 401)

    def test_csrf_enforced_on_writes_with_ticket(self):
        no_csrf = self.sim.ticket_session(with_csrf=False)
        r = no_csrf.post(self.base + "/nodes/pve2/lxc/108/status/suspend")
        self.assertEqual(r.status_code, 401)
        self.assertIn("invalid csrf token", r.json()["message"])
        with_csrf = self.sim.ticket_session()
        r = with_csrf.post(self.base + "/nodes/pve2/lxc/108/status/suspend")
        self.assertEqual(r.status_code, 200, r.text)
        self.sim.wait_task(with_csrf, "pve2", r.json()["data"])
        r = with_csrf.post(self.base + "/nodes/pve2/lxc/108/status/resume")
        self.assertEqual(r.status_code, 200, r.text)
        self.sim.wait_task(with_csrf, "pve2", r.json()["data"])

    def test_expired_ticket_rejected_and_renewal(self):
        s = self.sim.ticket_session()
        ticket = s.cookies.get("PVEAuthCookie")
        self.sim.admin("advance", seconds=3600)
        renewed = self.sim.login(password=ticket)
        self.assertEqual(renewed.status_code, 200, "a valid ticket renews itself")
        self.sim.admin("advance", seconds=3700)
        self.assertEqual(s.get(self.base + "/nodes").status_code, 401)
        self.assertEqual(self.sim.login(password=ticket).status_code, 401)

    def test_permissions(self):
        perms = self.get("/access/permissions").json()["data"]
        self.assertEqual(perms["/"]["VM.Migrate"], 1)


class ReadTest(SimTestCase):
    def test_envelope_types_and_errors(self):
        data = self.get("/cluster/resources").json()["data"]
        types = {r["type"] for r in data}
        # PVE 9.1: pools and the network (SDN zone) entries come with the rest.
        self.assertEqual(types, {"pool", "node", "qemu", "lxc", "storage", "sdn", "network"})
        self.assertEqual(len([r for r in data if r["type"] in ("qemu", "lxc")]), 60)
        status = self.get("/nodes/pve1/status").json()["data"]
        self.assertIsInstance(status["loadavg"][0], str)
        self.assertIsInstance(status["cpu"], float)
        r = self.get("/nodes/pve1/qemu", bogus=1)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["message"], "Parameter verification failed.\n")
        self.assertIn("bogus", r.json()["errors"])
        r = self.get("/nodes/pve1/qemu/abc/config")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["errors"]["vmid"], "type check ('integer') failed - got 'abc'")
        self.assertEqual(self.get("/nope").status_code, 501)
        self.assertEqual(self.get("/nodes/pve1/qemu/999/config").status_code, 500)

    def test_rrddata_and_lists(self):
        # PVE 9's rows and resolutions: pve-cluster src/PVE/RRD.pm create_rrd_data $setup.
        for tf, count, step in (("hour", 60, 60), ("day", 1440, 60), ("week", 336, 1800), ("month", 1440, 1800),
                                ("year", 1440, 21600), ("decade", 570, 604800)):
            rows = self.get("/nodes/pve1/rrddata", timeframe=tf, cf="AVERAGE").json()["data"]
            self.assertEqual(len(rows), count, tf)
            self.assertEqual(rows[1]["time"] - rows[0]["time"], step, tf)
            self.assertIn("pressurecpusome", rows[-1])
        rows = self.get("/nodes/pve1/qemu/100/rrddata", timeframe="hour").json()["data"]
        self.assertTrue(rows and "cpu" in rows[-1])
        # ProxLB asks every guest's rrddata on the qemu path; PVE reads the vmid's
        # RRD file there whatever the guest type (qemu-server/pve-container rrddata).
        ct = next(r for r in self.get("/cluster/resources", type="vm").json()["data"]
                  if r["type"] == "lxc" and r["status"] == "running")
        r = self.get("/nodes/%s/qemu/%d/rrddata" % (ct["node"], ct["vmid"]), timeframe="day", cf="AVERAGE")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(len(r.json()["data"]), 1440)
        self.assertIn("cpu", r.json()["data"][-1])
        self.assertTrue(self.get("/nodes/pve2/lxc").json()["data"])
        self.assertTrue(self.get("/cluster/ha/rules").json()["data"])
        self.assertTrue(self.get("/cluster/ha/resources").json()["data"])
        self.assertTrue(self.get("/cluster/ha/status/current").json()["data"])
        self.assertIn("manager_status", self.get("/cluster/ha/status/manager_status").json()["data"])
        self.assertTrue(self.get("/pools").json()["data"])
        self.assertIn("members", self.get("/pools/prod").json()["data"])
        self.assertTrue(self.get("/storage").json()["data"])
        self.assertTrue(self.get("/nodes/pve1/storage").json()["data"])
        self.assertEqual(self.get("/version").json()["data"]["release"], "9.1")
        self.assertTrue(int(self.get("/cluster/nextid").json()["data"]) >= 100)


class MigrationTest(SimTestCase):
    def test_online_qemu_migration_running_then_ok(self):
        r = self.post("/nodes/pve1/qemu/107/migrate", target="pve5", online=1)
        self.assertEqual(r.status_code, 200, r.text)
        upid = r.json()["data"]
        self.assertIn(":qmigrate:107:", upid)
        st = self.get("/nodes/pve1/tasks/%s/status" % upid).json()["data"]
        self.assertEqual(st["status"], "running")
        self.assertEqual(self.get("/nodes/pve1/qemu/107/config").json()["data"]["lock"], "migrate")
        st = self.sim.wait_task(self.s, "pve1", upid)
        self.assertEqual(st["exitstatus"], "OK")
        self.assertEqual(self.guest_node(107), "pve5")
        self.assertNotIn("lock", self.get("/nodes/pve5/qemu/107/config").json()["data"])
        log = self.get("/nodes/pve1/tasks/%s/log" % upid).json()["data"]
        self.assertEqual(log[-1]["t"], "TASK OK")
        tasks = self.get("/nodes/pve1/tasks", typefilter="qmigrate").json()["data"]
        self.assertIn(upid, [t["upid"] for t in tasks])

    def test_container_restart_migration(self):
        r = self.post("/nodes/pve2/lxc/108/migrate", target="pve5", restart=1)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.sim.wait_task(self.s, "pve2", r.json()["data"])["exitstatus"], "OK")
        self.assertEqual(self.guest_node(108), "pve5")

    def test_failure_modes(self):
        cases = [
            ("running CT without restart", "/nodes/pve5/lxc/111/migrate", {"target": "pve1"}, 500,
             "can't migrate running container without --online or --restart"),
            ("running VM without online", "/nodes/pve2/qemu/101/migrate", {"target": "pve1"}, 500,
             "can't migrate running VM without --online"),
            ("target is source", "/nodes/pve2/qemu/101/migrate", {"target": "pve2", "online": 1}, 400,
             "Parameter verification failed.\n"),
            ("unknown target", "/nodes/pve2/qemu/101/migrate", {"target": "pve9", "online": 1}, 500,
             "no such cluster node 'pve9'"),
            ("missing target", "/nodes/pve2/qemu/101/migrate", {"online": 1}, 400, "Parameter verification failed.\n"),
        ]
        for name, path, data, status, message in cases:
            with self.subTest(name):
                r = self.post(path, **data)
                self.assertEqual(r.status_code, status, r.text)
                self.assertTrue(r.json()["message"].startswith(message), r.text)

    def test_locked_guest(self):
        r = self.post("/nodes/pve2/qemu/101/migrate", target="pve5", online=1)
        self.assertEqual(r.status_code, 200, r.text)
        again = self.post("/nodes/pve2/qemu/101/migrate", target="pve4", online=1)
        self.assertEqual(again.status_code, 500)
        self.assertEqual(again.json()["message"], "VM 101 is locked (migrate)\n")
        self.sim.wait_task(self.s, "pve2", r.json()["data"])

    def test_offline_target_fails_task(self):
        self.sim.admin("node/pve4/offline")
        r = self.post("/nodes/pve3/qemu/110/migrate", target="pve4", online=1)
        self.assertEqual(r.status_code, 200, r.text)
        st = self.sim.wait_task(self.s, "pve3", r.json()["data"])
        self.assertEqual(st["exitstatus"], "migration aborted")
        self.assertEqual(self.guest_node(110), "pve3")

    def test_ha_migrate(self):
        r = self.post("/cluster/ha/resources/vm:100/migrate", node="pve2")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["data"]["requested-node"], "pve2")
        deadline = time.time() + 30
        while time.time() < deadline and self.guest_node(100) != "pve2":
            time.sleep(0.1)
        self.assertEqual(self.guest_node(100), "pve2")


class FaultTest(SimTestCase):
    def test_node_offline_and_online(self):
        self.sim.admin("node/pve3/offline")
        r = self.get("/nodes/pve3/status")
        self.assertEqual(r.status_code, 595)
        nodes = {n["node"]: n["status"] for n in self.get("/nodes").json()["data"]}
        self.assertEqual(nodes["pve3"], "offline")
        members = {m["name"]: m["online"] for m in self.get("/cluster/status").json()["data"] if m["type"] == "node"}
        self.assertEqual(members["pve3"], 0)
        guests = [g for g in self.get("/cluster/resources", type="vm").json()["data"] if g["node"] == "pve3"]
        self.assertTrue(guests and all(g["status"] == "unknown" for g in guests))
        self.sim.admin("node/pve3/online")
        self.assertEqual(self.get("/nodes/pve3/status").status_code, 200)

    def test_quorum_lost(self):
        self.sim.admin("quorum/lost")
        self.assertEqual(self.get("/cluster/status").json()["data"][0]["quorate"], 0)
        r = self.post("/nodes/pve2/qemu/101/migrate", target="pve1", online=1)
        self.assertEqual(r.status_code, 500)
        self.assertIn("no quorum", r.json()["message"])
        self.sim.admin("quorum/ok")
        self.assertEqual(self.get("/cluster/status").json()["data"][0]["quorate"], 1)

    def test_fail_requests_500_and_hang(self):
        self.sim.admin("fail-requests", count=2, mode="500")
        self.assertEqual([self.get("/version").status_code for _ in range(3)], [500, 500, 200])
        self.sim.admin("fail-requests", count=1, mode="hang", hang_ms=3000)
        with self.assertRaises(requests.exceptions.Timeout):
            self.s.get(self.base + "/version", timeout=0.5)
        time.sleep(3)
        self.assertEqual(self.get("/version").status_code, 200)

    def test_delay(self):
        self.sim.admin("delay", ms=300)
        t0 = time.time()
        self.get("/version")
        self.assertGreaterEqual(time.time() - t0, 0.3)
        self.sim.admin("delay", ms=0)

    def test_fail_migration(self):
        self.sim.admin("fail-migration/110", message="simulated storage error")
        r = self.post("/nodes/pve3/qemu/110/migrate", target="pve5", online=1)
        self.assertEqual(r.status_code, 200, r.text)
        st = self.sim.wait_task(self.s, "pve3", r.json()["data"])
        self.assertEqual(st["exitstatus"], "migration aborted")
        log = " ".join(l["t"] for l in self.get("/nodes/pve3/tasks/%s/log" % r.json()["data"]).json()["data"])
        self.assertIn("simulated storage error", log)
        self.assertEqual(self.guest_node(110), "pve3")


class LifecycleTest(SimTestCase):
    def test_upload_create_snapshot_destroy(self):
        files = {"filename": ("alpine-test.tar.xz", b"x" * 4096)}
        r = self.s.post(self.base + "/nodes/pve5/storage/local/upload", data={"content": "vztmpl"}, files=files)
        self.assertEqual(r.status_code, 200, r.text)
        self.sim.wait_task(self.s, "pve5", r.json()["data"])
        content = self.get("/nodes/pve5/storage/local/content", content="vztmpl").json()["data"]
        vol = [c for c in content if c["volid"] == "local:vztmpl/alpine-test.tar.xz"]
        self.assertEqual(vol[0]["size"], 4096)
        bad = self.s.post(self.base + "/nodes/pve5/storage/local/upload", data={"content": "vztmpl"},
                          files={"filename": ("x.exe", b"x")})
        self.assertEqual(bad.status_code, 400)
        r = self.post("/nodes/pve5/lxc", vmid=900, ostemplate="local:vztmpl/alpine-test.tar.xz", hostname="t1",
                      memory=256, rootfs="local-lvm:2", net0="name=eth0,bridge=vmbr0,ip=dhcp", start=1)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn(":vzcreate:900:", r.json()["data"])
        self.sim.wait_task(self.s, "pve5", r.json()["data"])
        self.assertEqual(self.get("/nodes/pve5/lxc/900/status/current").json()["data"]["status"], "running")
        r = self.post("/nodes/pve5/lxc/900/snapshot", snapname="s1", description="first")
        self.sim.wait_task(self.s, "pve5", r.json()["data"])
        names = [s["name"] for s in self.get("/nodes/pve5/lxc/900/snapshot").json()["data"]]
        self.assertEqual(names, ["s1", "current"])
        # As PVE: rollback stops a running CT; `start=1` brings it back.
        r = self.post("/nodes/pve5/lxc/900/snapshot/s1/rollback")
        self.assertEqual(self.sim.wait_task(self.s, "pve5", r.json()["data"])["exitstatus"], "OK")
        self.assertEqual(self.get("/nodes/pve5/lxc/900/status/current").json()["data"]["status"], "stopped")
        r = self.post("/nodes/pve5/lxc/900/snapshot/s1/rollback", start=1)
        self.assertEqual(self.sim.wait_task(self.s, "pve5", r.json()["data"])["exitstatus"], "OK")
        self.assertEqual(self.get("/nodes/pve5/lxc/900/status/current").json()["data"]["status"], "running")
        self.assertEqual(self.get("/nodes/pve5/lxc/900/config").json()["data"]["parent"], "s1")
        r = self.s.delete(self.base + "/nodes/pve5/lxc/900/snapshot/s1")
        self.assertEqual(self.sim.wait_task(self.s, "pve5", r.json()["data"])["exitstatus"], "OK")
        r = self.s.delete(self.base + "/nodes/pve5/lxc/900", params={"purge": 1})
        self.assertEqual(r.status_code, 500, "running CT cannot be destroyed")
        r = self.post("/nodes/pve5/lxc/900/status/stop")
        self.sim.wait_task(self.s, "pve5", r.json()["data"])
        r = self.s.delete(self.base + "/nodes/pve5/lxc/900", params={"purge": 1})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn(":vzdestroy:900:", r.json()["data"])
        self.sim.wait_task(self.s, "pve5", r.json()["data"])
        self.assertIsNone(self.guest_node(900))


if __name__ == "__main__":
    warnings.simplefilter("ignore", ResourceWarning)
    argv = [a for i, a in enumerate(sys.argv) if a != "--pvesim" and (i == 0 or sys.argv[i - 1] != "--pvesim")]
    unittest.main(argv=argv, verbosity=2, warnings="ignore")
