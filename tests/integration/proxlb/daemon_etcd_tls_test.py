#!/usr/bin/env python3
"""proxlb daemon with leader election on an etcd that speaks only TLS and asks
for client certificates (--client-cert-auth), as production etcd clusters do:
with service.leader_election.etcd.{ca_file,cert_file,key_file} the daemon
leads and acts; without its client certificate, or trusting another CA, it
never acts and says why; half a key pair or a missing file is refused at
start-up, naming the key."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from daemon_test import PROXLB, DaemonCase, free_port  # noqa: E402

ETCD = "/usr/bin/etcd"
OPENSSL = "/usr/bin/openssl"


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s" % name,
            "-keyout", name + ".key", "-out", name + ".pem", cwd=d)


def make_cert(d, ca, name, ext):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)


class EtcdTls(DaemonCase):
    def setUp(self):
        super().setUp()
        for tool in (ETCD, OPENSSL):
            if not os.access(tool, os.X_OK):
                self.skipTest("%s is not installed (apt-get install etcd-server openssl)" % tool)
        self.pki = os.path.join(self.tmp.name, "pki")
        os.makedirs(self.pki)
        make_ca(self.pki, "ca")
        make_ca(self.pki, "other-ca")
        # etcd's JSON gateway calls etcd's gRPC server with the server's own
        # certificate, which --client-cert-auth then checks as a client's.
        make_cert(self.pki, "ca", "server",
                  "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        make_cert(self.pki, "ca", "client", "extendedKeyUsage=clientAuth\n")
        client, peer = free_port(), free_port()
        self.endpoint = "https://127.0.0.1:%d" % client
        log = open(os.path.join(self.tmp.name, "etcd.log"), "w")
        self.addCleanup(log.close)
        p = subprocess.Popen([ETCD, "--name", "tls", "--data-dir", os.path.join(self.tmp.name, "etcd"),
                              "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
                              "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                              "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                              "--initial-cluster", "tls=http://127.0.0.1:%d" % peer,
                              "--cert-file", self.file("server.pem"), "--key-file", self.file("server.key"),
                              "--trusted-ca-file", self.file("ca.pem"), "--client-cert-auth"],
                             stdout=log, stderr=log)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                r = self.api.get(self.endpoint + "/health", timeout=1, verify=self.file("ca.pem"),
                                 cert=(self.file("client.pem"), self.file("client.key")))
                if r.json().get("health") == "true":
                    return
            except Exception:  # noqa: BLE001 (still starting)
                pass
            time.sleep(0.2)
        self.fail("etcd with TLS did not become healthy")

    def file(self, name):
        return os.path.join(self.pki, name)

    def configure(self, **tls):
        keys = "".join("      %s: '%s'\n" % (k, v) for k, v in tls.items())
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n"
                                  "  leader_election:\n    mode: etcd\n    etcd:\n      endpoints: [%s]\n"
                                  "      lease_ttl: 2\n%s" % (self.endpoint, keys))

    def rounds(self, daemon, seconds):
        """(rounds acted, rounds not acting) during `seconds`."""
        acted = idle = 0
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                line = daemon.lines.get(timeout=0.1)
            except Exception:  # noqa: BLE001 (queue.Empty)
                continue
            daemon.log.append(line)
            if "round:" in line:
                if "not acting" in line:
                    idle += 1
                else:
                    acted += 1
        return acted, idle

    def test_leads_with_its_client_certificate(self):
        self.configure(ca_file=self.file("ca.pem"), cert_file=self.file("client.pem"),
                       key_file=self.file("client.key"))
        d = self.daemon("--interval", "1")
        acted, _ = self.rounds(d, 8)
        self.assertGreater(acted, 0, "the daemon never led over TLS; log:\n%s" % "\n".join(d.log))

    def test_never_acts_without_its_client_certificate(self):
        self.configure(ca_file=self.file("ca.pem"))
        d = self.daemon("--interval", "1")
        acted, idle = self.rounds(d, 6)
        self.assertEqual(acted, 0, "acted without a client certificate; log:\n%s" % "\n".join(d.log))
        self.assertGreater(idle, 0, "no round at all; log:\n%s" % "\n".join(d.log))
        self.assertTrue(any("etcd" in line for line in d.log), "the log does not say etcd failed:\n%s"
                        % "\n".join(d.log))

    def test_never_acts_when_it_trusts_another_ca(self):
        self.configure(ca_file=self.file("other-ca.pem"), cert_file=self.file("client.pem"),
                       key_file=self.file("client.key"))
        d = self.daemon("--interval", "1")
        acted, idle = self.rounds(d, 6)
        self.assertEqual(acted, 0, "acted with etcd's certificate unverified; log:\n%s" % "\n".join(d.log))
        self.assertGreater(idle, 0, "no round at all; log:\n%s" % "\n".join(d.log))

    def test_half_a_key_pair_or_a_missing_file_is_refused_by_name(self):
        cases = [({"cert_file": self.file("client.pem")}, "service.leader_election.etcd.key_file"),
                 ({"key_file": self.file("client.key")}, "service.leader_election.etcd.cert_file"),
                 ({"ca_file": self.file("absent.pem")}, "absent.pem"),
                 ({"cert_file": self.file("absent.pem"), "key_file": self.file("client.key")}, "absent.pem")]
        for tls, named in cases:
            self.configure(**tls)
            p = subprocess.run([PROXLB, "-c", self.config, "daemon", "--rounds", "1"],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, "%s was accepted" % tls)
            self.assertIn(named, p.stderr, "%s: the error does not name %s: %s" % (tls, named, p.stderr))


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
