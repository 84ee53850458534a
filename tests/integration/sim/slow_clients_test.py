"""Idle and slow clients cannot keep others out of pvesim (issue 13).

Holds 1,000 idle TCP connections (connected, nothing sent: they wait in the
TLS handshake) and 50 slowloris connections (TLS, then a request header
trickled a byte at a time that never ends) against one pvesim, then checks
that fresh clients still get GET /api2/json/version promptly, and that the
server closes the slow and the idle connections once its header timeout
(--header-timeout) has passed, although the slow ones keep sending.

The bound on the fresh requests is generous (5 s, a noisy 2-core machine
must not make it flaky); a thread-per-connection server fails it outright:
its threads all sit in the waiting connections, and a fresh client waits for
their timeouts (cpp-httplib's pvesim blocked about 30 s). Latency figures are
printed, not asserted: bench/sim/slow_clients.py measures them.

Exits 77 (skip) when the open file limit cannot be raised for 1,000+ sockets.
"""
import os
import resource
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, DEFAULT_SECRET, DEFAULT_TOKEN, SKIP  # noqa: E402

IDLE = 1000
SLOW = 50
HEADER_TIMEOUT = 3.0  # seconds, pvesim --header-timeout
FRESH_BOUND = 5.0  # seconds a fresh request may take at most
CLOSE_BOUND = 20.0  # seconds after the header timeout for the server to close them all
NEEDED_FDS = IDLE + SLOW + 200


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= NEEDED_FDS:
        return None
    if hard != resource.RLIM_INFINITY and hard < NEEDED_FDS:
        return "the open file limit is %d (hard); %d sockets are needed" % (hard, NEEDED_FDS)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NEEDED_FDS, hard))
    except (ValueError, OSError) as e:
        return "cannot raise the open file limit to %d: %s" % (NEEDED_FDS, e)
    return None


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def closed_by_server(sock):
    """True when the peer closed or reset `sock`; False when it is open."""
    try:
        sock.setblocking(False)
        data = sock.recv(1)
        return data == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
        return True


class Trickler(threading.Thread):
    """Sends one more header byte on every slow connection every 0.25 s."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks = socks
        self.stop = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stop.wait(0.25):
            for s in self.socks:
                try:
                    s.send(b"a")
                    self.sent += 1
                except (OSError, ssl.SSLError):
                    pass  # closed by the server: what the test expects in the end


def fresh_version(sim, ctx):
    """One GET /version on a new TLS connection; (seconds, status line, body)."""
    start = time.monotonic()
    with socket.create_connection((sim.host, sim.port), timeout=FRESH_BOUND) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(b"GET /api2/json/version HTTP/1.1\r\nHost: pvesim\r\nConnection: close\r\n"
                      b"Authorization: PVEAPIToken=%s=%s\r\n\r\n" % (DEFAULT_TOKEN.encode(), DEFAULT_SECRET.encode()))
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return time.monotonic() - start, head.split(b"\r\n")[0].decode(), body


class SlowClientsTest(unittest.TestCase):
    def test_idle_and_slow_connections_neither_block_nor_stay(self):
        ctx = tls_context()
        idle, slow = [], []
        trickler = None
        with Pvesim("--header-timeout", str(HEADER_TIMEOUT)) as sim:
            try:
                opened = time.monotonic()
                for _ in range(IDLE):
                    idle.append(socket.create_connection((sim.host, sim.port), timeout=10))
                for _ in range(SLOW):
                    s = ctx.wrap_socket(socket.create_connection((sim.host, sim.port), timeout=10))
                    s.sendall(b"GET /api2/json/version HTTP/1.1\r\nHost: pvesim\r\nX-Slow: ")
                    slow.append(s)
                trickler = Trickler(slow)
                trickler.start()
                held_after = time.monotonic() - opened
                times = []
                for _ in range(10):
                    elapsed, status, body = fresh_version(sim, ctx)
                    self.assertEqual(status, "HTTP/1.1 200 OK")
                    self.assertIn(b'"version"', body)
                    self.assertLess(elapsed, FRESH_BOUND)
                    times.append(elapsed)
                all_open = time.monotonic() - opened < HEADER_TIMEOUT
                print("%d idle + %d slow connections held (opened in %.2f s); fresh GET /version: "
                      "median %.1f ms, max %.1f ms%s" %
                      (IDLE, SLOW, held_after, sorted(times)[len(times) // 2] * 1000, max(times) * 1000,
                       "" if all_open else " (some after the header timeout: the machine is slow)"))

                # The slow connections keep sending, the idle ones never do:
                # all are closed once the header timeout has passed.
                deadline = opened + HEADER_TIMEOUT + CLOSE_BOUND
                pending = {"slow": list(slow), "idle": list(idle)}
                while time.monotonic() < deadline and (pending["slow"] or pending["idle"]):
                    for kind in pending:
                        pending[kind] = [s for s in pending[kind] if not closed_by_server(s)]
                    time.sleep(0.2)
                closed_after = time.monotonic() - opened
                self.assertGreater(trickler.sent, SLOW, "the slow clients sent nothing after their first write")
                self.assertEqual(len(pending["slow"]), 0, "slow connections still open %.1f s after the first "
                                 "was opened" % closed_after)
                self.assertEqual(len(pending["idle"]), 0, "idle connections still open %.1f s after the first "
                                 "was opened" % closed_after)
                print("all %d connections closed by pvesim %.1f s after the first was opened (header timeout %.1f s)"
                      % (IDLE + SLOW, closed_after, HEADER_TIMEOUT))
                # And it still serves.
                _, status, _ = fresh_version(sim, ctx)
                self.assertEqual(status, "HTTP/1.1 200 OK")
            finally:
                if trickler:
                    trickler.stop.set()
                    trickler.join()
                for s in idle + slow:
                    s.close()


if __name__ == "__main__":
    reason = raise_fd_limit()
    if reason:
        print("SKIP: " + reason)
        sys.exit(SKIP)
    unittest.main(argv=[sys.argv[0]])
