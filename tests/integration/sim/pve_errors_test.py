"""Errors as PVE sends them, seen by clients nobody here wrote, over real HTTPS.

PVE puts its message in the HTTP reason phrase (pve-http-server,
PVE::APIServer::AnyEvent::response: the first line of the message), and
python3-proxmoxer builds its exception text from that phrase. This checks the
status lines on the wire, that a message echoing client input cannot break
them, what proxmoxer shows for a 400, a 500 for an unknown guest, a 401 and an
injected 500, and that a POST without Content-Length (plain curl -X POST) is
handled with its query parameters, as PVE does.

Exits 77 (skip) when proxmoxer is not importable by this interpreter or curl is missing.
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, DEFAULT_SECRET, DEFAULT_TOKEN, SKIP  # noqa: E402

try:
    from proxmoxer import ProxmoxAPI
    from proxmoxer.core import ResourceException
except ImportError as e:
    print("SKIP: proxmoxer is not importable (%s); install python3-proxmoxer" % e)
    sys.exit(SKIP)
CURL = shutil.which("curl")
if not CURL:
    print("SKIP: curl is not installed")
    sys.exit(SKIP)

TOKEN_HEADER = "PVEAPIToken=%s=%s" % (DEFAULT_TOKEN, DEFAULT_SECRET)
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class PveErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Pvesim("--time-scale", "50").__enter__()
        cls.host = "%s:%d" % (cls.sim.host, cls.sim.port)
        cls.api = ProxmoxAPI(cls.host, user="root@pam", token_name="pvekit", token_value=DEFAULT_SECRET,
                             verify_ssl=False)

    @classmethod
    def tearDownClass(cls):
        cls.sim.__exit__(None, None, None)

    def setUp(self):
        self.sim.admin("reset")

    # --- helpers ----------------------------------------------------------------------
    def status_line(self, method, path, headers=None):
        """(status, reason) of one request, read by Python's own HTTP client."""
        conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=tls_context(), timeout=10)
        try:
            conn.request(method, "/api2/json" + path,
                         headers={"Authorization": TOKEN_HEADER} if headers is None else headers)
            r = conn.getresponse()
            r.read()
            return r.status, r.reason
        finally:
            conn.close()

    def raw(self, request):
        """The raw bytes of the answer to one request written as is."""
        with socket.create_connection((self.sim.host, self.sim.port), timeout=10) as s:
            with tls_context().wrap_socket(s) as t:
                t.sendall(request)
                out = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        return out
                    out += chunk

    def proxmoxer_error(self, call, api=None):
        with self.assertRaises(ResourceException) as caught:
            call(api or self.api)
        return str(caught.exception)

    def curl(self, method, path, *extra):
        """(status, body, seconds, request header lines) of a curl call without any body."""
        t0 = time.time()
        p = subprocess.run([CURL, "-sk", "-v", "-X", method, "-H", "Authorization: " + TOKEN_HEADER,
                            "-o", "-", "-w", "\n%{http_code}", *extra, self.sim.base + path],
                           capture_output=True, text=True, timeout=30)
        body, _, code = p.stdout.rpartition("\n")
        sent = [l[2:] for l in p.stderr.splitlines() if l.startswith("> ")]
        return int(code), body, time.time() - t0, sent, p.stderr

    # --- the reason phrase on the wire --------------------------------------------------
    def test_status_lines_carry_pve_messages(self):
        cases = [
            ("GET", "/version", None, 200, "OK"),
            ("GET", "/nodes/pve1/qemu/abc/config", None, 400, "Parameter verification failed."),
            ("GET", "/nodes/pve1/qemu/999/config", None, 500,
             "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"),
            ("GET", "/version", {}, 401, "No ticket"),
            ("GET", "/version", {"Authorization": "PVEAPIToken=root@pam!pvekit=wrong"}, 401, "invalid token value!"),
            ("GET", "/nope", None, 501, "Method 'GET /nope' not implemented"),
        ]
        for method, path, headers, status, reason in cases:
            with self.subTest(path=path, status=status):
                self.assertEqual(self.status_line(method, path, headers), (status, reason))
        self.sim.admin("fail-requests", count=1)
        self.assertEqual(self.status_line("GET", "/version"), (500, "simulated failure (pvesim fault injection)"))
        self.sim.admin("node/pve3/offline")
        self.assertEqual(self.status_line("GET", "/nodes/pve3/status"), (595, "No route to host"))

    def test_a_message_cannot_break_the_status_line(self):
        # Messages echo client input (the decoded path of a 501, a migration
        # target): CR LF in it must not start a header of the answer.
        form = b"target=pve9%0D%0AX-Injected%3A+yes&online=1"
        requests = [
            (b"GET /api2/json/x%0d%0aX-Injected:%20yes HTTP/1.1\r\n", b"HTTP/1.1 501 Method 'GET /x ",
             "Method 'GET /x\r\nX-Injected: yes' not implemented\n"),
            (b"POST /api2/json/nodes/pve2/qemu/101/migrate HTTP/1.1\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(form),
             b"HTTP/1.1 500 no such cluster node 'pve9 ", "no such cluster node 'pve9\r\nX-Injected: yes'\n"),
        ]
        for request, status_line, message in requests:
            with self.subTest(status_line=status_line):
                answer = self.raw(request + b"Host: h\r\nAuthorization: " + TOKEN_HEADER.encode() +
                                  b"\r\nConnection: close\r\n\r\n" + (form if request.startswith(b"POST") else b""))
                head, _, body = answer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                self.assertEqual(lines[0], status_line, answer[:300])
                self.assertFalse([h for h in lines if h.lower().startswith(b"x-injected")], lines)
                self.assertEqual(json.loads(body)["message"], message)
        # A long path gives a bounded phrase; the body keeps the whole message.
        status, reason = self.status_line("GET", "/" + "a" * 4000)
        self.assertEqual(status, 501)
        self.assertEqual(len(reason), 512)
        self.assertTrue(reason.startswith("Method 'GET /aaa"), reason)

    # --- python3-proxmoxer -------------------------------------------------------------------
    def test_proxmoxer_shows_pve_messages(self):
        # 400: proxmoxer 1.2 looks for `errors` inside `data`, so it shows the phrase
        # only, against PVE as against pvesim.
        text = self.proxmoxer_error(lambda a: a.nodes("pve2").lxc.post(vmid=905, ostemplate=TEMPLATE,
                                                                        memory=2 ** 62))
        self.assertEqual(text, "400 Bad Request: Parameter verification failed.")
        text = self.proxmoxer_error(lambda a: a.nodes("pve1").tasks("UPID:pve1:000F4240:00000001:65000000:vzstart:"
                                                                   "100:root@pam:").status.get())
        self.assertEqual(text, "400 Bad Request: Parameter verification failed.")
        # An unknown guest: 500 with PVE's message (PVE answers this one with 500, not 404).
        text = self.proxmoxer_error(lambda a: a.nodes("pve1").qemu(999).status.current.get())
        self.assertEqual(text, "500 Internal Server Error: "
                               "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist")
        text = self.proxmoxer_error(lambda a: a.nodes("pve2").lxc(108).migrate.post(target="pve5"))
        self.assertEqual(text, "500 Internal Server Error: "
                               "can't migrate running container without --online or --restart")
        # 401: a wrong token secret.
        bad = ProxmoxAPI(self.host, user="root@pam", token_name="pvekit", token_value="wrong", verify_ssl=False)
        self.assertEqual(self.proxmoxer_error(lambda a: a.version.get(), bad), "401 Unauthorized: invalid token value!")
        # 500 from an injected fault.
        self.sim.admin("fail-requests", count=1)
        self.assertEqual(self.proxmoxer_error(lambda a: a.version.get()),
                         "500 Internal Server Error: simulated failure (pvesim fault injection)")
        self.assertEqual(self.api.version.get()["release"], "9.1")

    # --- requests without Content-Length ------------------------------------------------------
    def test_post_without_content_length(self):
        code, body, seconds, sent, trace = self.curl("POST", "/nodes/pve5/lxc/111/migrate?target=pve1&restart=1")
        self.assertFalse([h for h in sent if h.lower().startswith(("content-length", "transfer-encoding"))], sent)
        self.assertEqual(code, 200, trace)
        self.assertIn(":vzmigrate:111:", json.loads(body)["data"])
        self.assertLess(seconds, 3, "answered at once, not after a read timeout")
        # A parameter error from the query alone, with PVE's body and status line.
        code, body, seconds, _, trace = self.curl("POST", "/nodes/pve2/lxc/108/migrate")
        self.assertEqual(code, 400, trace)
        self.assertEqual(json.loads(body)["errors"], {"target": "property is missing and it is not optional"})
        self.assertIn("< HTTP/1.1 400 Parameter verification failed.", trace)
        self.assertLess(seconds, 3)
        code, body, seconds, _, trace = self.curl("DELETE", "/nodes/pve5/lxc/999")
        self.assertEqual(code, 500, trace)
        self.assertEqual(json.loads(body)["message"], "Configuration file 'nodes/pve5/lxc/999.conf' does not exist\n")
        self.assertLess(seconds, 3)


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv) if a != "--pvesim" and (i == 0 or sys.argv[i - 1] != "--pvesim")]
    unittest.main(argv=argv, verbosity=2, warnings="ignore")
