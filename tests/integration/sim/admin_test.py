"""The /_sim admin interface's guards: pvesim refuses a non-loopback --host
without --allow-remote-admin, and --admin-token-file makes /_sim require a
bearer token (while /api2 stays as it was).

usage: admin_test.py --pvesim BIN
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, pvesim_binary  # noqa: E402

TOKEN = "admin-7f3c9e2a-b1d4"


class AdminGuardTest(unittest.TestCase):
    def setUp(self):
        fd, self.token_file = tempfile.mkstemp(prefix="pvesim-admin-")
        os.write(fd, (TOKEN + "\n").encode())
        os.close(fd)
        self.addCleanup(os.unlink, self.token_file)

    def test_non_loopback_host_is_refused_without_allow_remote_admin(self):
        for host in ("0.0.0.0", "::"):
            r = subprocess.run([pvesim_binary(), "--host", host, "--port", "0"], capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(r.stdout, "", "it must not start listening")
            self.assertIn("refusing to listen on %s" % host, r.stderr)
            self.assertIn("--allow-remote-admin", r.stderr)

    def test_help_names_the_flags(self):
        out = subprocess.run([pvesim_binary(), "--help"], capture_output=True, text=True, timeout=20).stdout
        self.assertIn("--allow-remote-admin", out)
        self.assertIn("--admin-token-file", out)

    def check_token_guard(self, sim):
        s = sim.session()
        r = s.get(sim.root + "/_sim/state", timeout=10)
        self.assertEqual(r.status_code, 401, r.text)
        r = s.post(sim.root + "/_sim/quorum/lost", headers={"Authorization": "Bearer wrong"}, timeout=10)
        self.assertEqual(r.status_code, 401, r.text)
        r = s.get(sim.root + "/_sim/state", headers={"Authorization": "Bearer " + TOKEN}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["data"]["quorate"], 1, "the refused request changed nothing")
        # /api2 authenticates as before.
        self.assertEqual(sim.token_session().get(sim.base + "/version", timeout=10).status_code, 200)

    def test_admin_token_on_loopback(self):
        with Pvesim("--admin-token-file", self.token_file) as sim:
            self.check_token_guard(sim)

    def test_remote_admin_when_asked(self):
        with Pvesim("--host", "0.0.0.0", "--allow-remote-admin", "--admin-token-file", self.token_file) as sim:
            self.check_token_guard(sim)


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv) if a != "--pvesim" and (i == 0 or sys.argv[i - 1] != "--pvesim")]
    unittest.main(argv=argv, verbosity=2, warnings="ignore")
