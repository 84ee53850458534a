"""Starts a real pvesim on a free loopback port and talks to it over HTTP(S).

Used by the integration tests in this directory. Every started process is
killed at the end of its `with` block, and again at interpreter exit, so a
failing test never leaves a pvesim behind.
"""
import atexit
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import urllib3

import requests

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
requests.packages.urllib3.disable_warnings()

SKIP = 77
DEFAULT_PASSWORD = "pvesim"
DEFAULT_TOKEN = "root@pam!pvekit"
DEFAULT_SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
_LINE = re.compile(r"pvesim: listening on (https?)://([0-9.]+):(\d+)(?: fingerprint ([0-9A-F:]+))?")
_started = []


def _kill_all():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


atexit.register(_kill_all)


def free_port():
    """A loopback port no one listens on now (for a process the test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pvesim_binary():
    for i, arg in enumerate(sys.argv):
        if arg == "--pvesim" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return os.environ.get("PVESIM", "pvesim")


class Pvesim:
    """One pvesim process. Use as a context manager."""

    def __init__(self, *args, timeout=15):
        self.args = [pvesim_binary(), "--port", "0", "--log-level", "warn", *args]
        self.timeout = timeout
        self.proc = None

    def __enter__(self):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        _started.append(self.proc)
        deadline = time.time() + self.timeout
        line = ""
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        m = _LINE.search(line)
        if not m:
            self.__exit__(None, None, None)
            self.stderr.seek(0)
            raise RuntimeError("pvesim did not start: %r %s" % (line, self.stderr.read()))
        self.scheme, self.host, self.port, self.fingerprint = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        self.root = "%s://%s:%d" % (self.scheme, self.host, self.port)
        self.base = self.root + "/api2/json"
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.stderr.close()
        return False

    # --- clients -----------------------------------------------------------
    @staticmethod
    def session():
        s = requests.Session()
        s.verify = False
        # Without this, REQUESTS_CA_BUNDLE in the environment overrides verify=False.
        s.trust_env = False
        return s

    def token_session(self, secret=DEFAULT_SECRET):
        s = self.session()
        s.headers["Authorization"] = "PVEAPIToken=%s=%s" % (DEFAULT_TOKEN, secret)
        return s

    def login(self, username="root@pam", password=DEFAULT_PASSWORD):
        return self.session().post(self.base + "/access/ticket", data={"username": username, "password": password},
                                   timeout=10)

    def ticket_session(self, with_csrf=True):
        r = self.login()
        r.raise_for_status()
        data = r.json()["data"]
        s = self.session()
        s.cookies.set("PVEAuthCookie", data["ticket"])
        if with_csrf:
            s.headers["CSRFPreventionToken"] = data["CSRFPreventionToken"]
        return s

    def admin(self, path, **params):
        r = self.session().post(self.root + "/_sim/" + path, data=params, timeout=10)
        r.raise_for_status()
        return r.json()["data"]

    def wait_task(self, session, node, upid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = session.get("%s/nodes/%s/tasks/%s/status" % (self.base, node, upid), timeout=10).json()["data"]
            if st["status"] == "stopped":
                return st
            time.sleep(0.05)
        raise AssertionError("task %s did not finish in %ss" % (upid, timeout))


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)
