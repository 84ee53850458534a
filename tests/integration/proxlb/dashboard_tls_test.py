#!/usr/bin/env python3
"""proxlb's dashboard over HTTPS with a configured certificate (issue 15):
the page and the API answer a client that trusts the certificate's CA, a
plain HTTP request on that port gets no page, the session cookie is Secure,
and the config rules hold at start-up: a non-loopback listen without TLS and
half a key pair are refused naming the key."""

import http.client
import os
import re
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from daemon_test import PROXLB, DaemonCase  # noqa: E402
from daemon_etcd_tls_test import OPENSSL, make_ca, make_cert  # noqa: E402

TOKEN = "dashboard-tls-token-0123456789"


class DashboardTls(DaemonCase):
    def setUp(self):
        super().setUp()
        if not os.access(OPENSSL, os.X_OK):
            self.skipTest("%s is not installed (apt-get install openssl)" % OPENSSL)
        self.pki = tempfile.mkdtemp(dir=self.tmp.name)
        make_ca(self.pki, "ca")
        make_cert(self.pki, "ca", "dashboard",
                  "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        self.token_file = os.path.join(self.tmp.name, "dashboard.token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")

    def dashboard_config(self, listen="127.0.0.1:0", cert=True, key=True):
        lines = "  dashboard:\n    listen: %s\n    token_file: %s\n" % (listen, self.token_file)
        if cert:
            lines += "    tls_cert_file: %s\n" % os.path.join(self.pki, "dashboard.pem")
        if key:
            lines += "    tls_key_file: %s\n" % os.path.join(self.pki, "dashboard.key")
        self.write_config(service="  hold: 3\n  listen: ''\n" + lines)

    def https(self, port):
        context = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))
        return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)

    def test_page_api_and_secure_cookie_over_https(self):
        self.dashboard_config()
        d = self.daemon("--interval", "1")
        url = re.search(r"dashboard on (https://127\.0\.0\.1:(\d+)/dashboard/)", d.expect("dashboard on "))
        self.assertIsNotNone(url, "the dashboard says it speaks HTTPS")
        port = int(url.group(2))
        d.expect("round: ")
        c = self.https(port)
        c.request("GET", "/dashboard/")
        page = c.getresponse()
        self.assertEqual(page.status, 200)
        self.assertIn("<html", page.read().decode().lower())
        origin = "https://127.0.0.1:%d" % port
        c.request("POST", "/dashboard/api/login", body='{"token": "%s"}' % TOKEN,
                  headers={"Content-Type": "application/json", "Origin": origin, "Sec-Fetch-Site": "same-origin"})
        login = c.getresponse()
        login.read()
        self.assertEqual(login.status, 200)
        cookie = login.getheader("Set-Cookie")
        self.assertIn("Secure", cookie, "the session cookie of an HTTPS dashboard is Secure")
        self.assertIn("HttpOnly", cookie)
        # A client that does not trust the CA is refused by the handshake.
        untrusting = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(), timeout=10)
        with self.assertRaises(ssl.SSLError):
            untrusting.request("GET", "/dashboard/")
        # Plain HTTP on the HTTPS port gets no page.
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            plain.request("GET", "/dashboard/")
            self.assertNotEqual(plain.getresponse().status, 200)
        except (OSError, http.client.HTTPException):
            pass

    def test_bad_tls_configs_are_refused_at_start_naming_the_key(self):
        for listen, cert, key, named in (("0.0.0.0:0", False, False, "service.dashboard.listen"),
                                         ("127.0.0.1:0", True, False, "service.dashboard.tls_key_file"),
                                         ("127.0.0.1:0", False, True, "service.dashboard.tls_cert_file")):
            self.dashboard_config(listen, cert, key)
            r = self.proxlb("daemon", socket_path=self.socket_path(9))
            self.assertNotEqual(r.returncode, 0, (listen, cert, key))
            self.assertIn(named, r.stderr, (listen, cert, key))


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
