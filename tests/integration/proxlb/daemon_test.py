#!/usr/bin/env python3
"""proxlb daemon against pvesim with load that changes while it runs (issue
14): a short spike moves nothing, a lasting shift is balanced after
service.hold rounds; SIGTERM mid-wave lets the running migration finish,
starts no new one and exits 0; SIGHUP with a bad config keeps the old one;
systemd's notify protocol and watchdog as a service manager sees them."""

import os
import queue
import re
import shutil
import json
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, Pvesim, free_port  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


PROXLB = arg("--proxlb")
SCENARIO = arg("--scenario")
PVE1_GUESTS = (101, 102, 103, 104)
MIGRATIONS = ("qmigrate", "vzmigrate")


class Daemon:
    """`proxlb daemon` as a child process whose log lines are read as they come."""

    def __init__(self, config, *args, pre=(), env=None):
        self.proc = subprocess.Popen([PROXLB, "-c", config, "--log-level", "info", *pre, "daemon", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text, timeout=30):
        """The next log line containing `text`; fails the test on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError("no log line with %r within %d s; log:\n%s" % (text, timeout, "\n".join(self.log)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class DaemonCase(unittest.TestCase):
    time_scale = "60"

    extra_scenario = ""  # YAML appended to the scenario file

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        scenario = SCENARIO
        if self.extra_scenario:
            scenario = os.path.join(self.tmp.name, "scenario.yaml")
            with open(SCENARIO) as base, open(scenario, "w") as f:
                f.write(base.read() + self.extra_scenario)
        self.sim = Pvesim("--time-scale", self.time_scale, "--scenario", scenario).__enter__()
        self.addCleanup(self.sim.__exit__, None, None, None)
        self.api = self.sim.token_session()
        self.config = os.path.join(self.tmp.name, "proxlb.yaml")
        self.write_config()

    def write_config(self, service="  hold: 3\n  margin: 2\n  listen: ''\n", extra=""):
        # The audit log and status socket of this test, not the system's.
        self.audit = os.path.join(self.tmp.name, "audit.jsonl")
        if "audit_log:" not in service:
            service += "  audit_log: %s\n" % self.audit
        if "status_socket:" not in service:
            service += "  status_socket: %s\n" % os.path.join(self.tmp.name, "status.sock")
        with open(self.config, "w") as f:
            f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                    "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                    "balancing:\n  method: memory\n  mode: used\n  balanciness: 5\n"
                    "service:\n%s%s" % (self.sim.port, DEFAULT_SECRET, self.sim.fingerprint, service, extra))

    def daemon(self, *args, socket_path=None, env=None):
        """A daemon with a status socket of its own (several run at once)."""
        self.daemons_started = getattr(self, "daemons_started", 0) + 1
        d = Daemon(self.config, *args, pre=("--set", "service.status_socket=" +
                                            (socket_path or self.socket_path(self.daemons_started))), env=env)
        d.socket = socket_path or self.socket_path(self.daemons_started)
        self.addCleanup(d.stop)
        return d

    def socket_path(self, n):
        return os.path.join(self.tmp.name, "status-%d.sock" % n)

    def proxlb(self, *args, socket_path=None):
        pre = ["--set", "service.status_socket=" + socket_path] if socket_path else []
        return subprocess.run([PROXLB, "-c", self.config, *pre, *args], capture_output=True, text=True, timeout=60)

    def load_pve1(self, mem):
        for vmid in PVE1_GUESTS:
            self.sim.admin("guest/%d/load" % vmid, mem=mem)

    def migrations(self):
        r = self.api.get(self.sim.base + "/cluster/tasks", timeout=10)
        r.raise_for_status()
        return [t for t in r.json()["data"] if t["type"] in MIGRATIONS]


class LoadControl(DaemonCase):
    """POST /_sim/guest/{vmid}/load with hostile input: refused by name, nothing changed."""

    def test_bad_load_requests_are_refused(self):
        post = lambda path, **p: self.sim.session().post(self.sim.root + "/_sim/" + path, data=p, timeout=10)
        for path, params in (("guest/101/load", {"mem": "2"}), ("guest/101/load", {"cpu": "-0.5"}),
                             ("guest/101/load", {"mem": "nan"}), ("guest/abc/load", {"mem": "0.5"}),
                             ("guest/99/load", {"mem": "0.5"})):
            r = post(path, **params)
            self.assertEqual(r.status_code, 400, (path, params, r.text))
        r = post("guest/999999/load", mem="0.5")
        self.assertEqual(r.status_code, 500)
        self.assertIn("999999.conf' does not exist", r.reason)
        self.assertEqual(self.sim.admin("guest/101/load", mem="0.25")["mem"], 0.25)


class Hysteresis(DaemonCase):
    def test_a_short_spike_moves_nothing(self):
        d = self.daemon("--interval", "1")
        d.expect("round: balanced")
        self.load_pve1(1.0)
        d.expect("needs balancing")
        held = d.expect("round:")  # the second round still sees the spike
        self.assertIn("2 of 3 rounds", held)
        self.load_pve1(0.5)
        d.expect("round: balanced")
        d.expect("round: balanced")
        self.assertEqual(self.migrations(), [], "a spike of two rounds moved guests")
        self.assertFalse([line for line in d.log if "migrating" in line], "\n".join(d.log))

    def test_a_lasting_shift_is_balanced_after_hold_rounds(self):
        d = self.daemon("--interval", "1")
        d.expect("round: balanced")
        self.load_pve1(1.0)
        self.assertIn("1 of 3 rounds", d.expect("round:"))
        self.assertIn("2 of 3 rounds", d.expect("round:"))
        self.assertEqual(self.migrations(), [], "balanced before service.hold rounds")
        done = d.expect("round: balanced:", timeout=60)
        self.assertIn("0 failed", done)
        self.assertTrue(self.migrations(), "no migration task in pvesim")
        for t in self.migrations():
            self.assertEqual(t.get("status"), "OK", t)


class Signals(DaemonCase):
    # Slow migrations (a 1 GiB guest takes a few real seconds) so a signal
    # lands in the middle of a wave.
    time_scale = "2"

    def test_sigterm_mid_wave_finishes_the_running_migration_and_starts_no_other(self):
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n")
        self.load_pve1(1.0)
        d = self.daemon("--interval", "1")
        d.expect("migrating")
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=120), 0, "\n".join(d.log))
        while True:  # the rest of the log
            try:
                d.log.append(d.lines.get(timeout=1))
            except queue.Empty:
                break
        log = "\n".join(d.log)
        waves, moves = map(int, re.search(r"wave 1/(\d+): (\d+) migration", log).groups())
        self.assertGreaterEqual(max(waves, moves), 2, "the plan has more than the one migration started:\n" + log)
        tasks = self.migrations()
        self.assertEqual(len(tasks), 1, "exactly the migration running at SIGTERM ran: %s\n%s" % (tasks, log))
        self.assertEqual(tasks[0].get("status"), "OK", "it was awaited to its end: %s" % tasks[0])
        self.assertIn("shutting down", log)
        self.assertIn("proxlb daemon: stopped", log)

    def test_sighup_with_a_bad_config_keeps_the_old_one(self):
        d = self.daemon("--interval", "1")
        d.expect("round: balanced")
        with open(self.config, "a") as f:
            f.write("  no_such_key: 1\n")
        d.proc.send_signal(signal.SIGHUP)
        failed = d.expect("config reload failed")
        self.assertIn("service.no_such_key", failed)
        d.expect("round: balanced")  # still running, on the old config
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n")
        d.proc.send_signal(signal.SIGHUP)
        d.expect("config reloaded")
        self.load_pve1(1.0)
        d.expect("round: balanced:", timeout=60)  # hold 1: acts on the first imbalanced round
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=120), 0)


class NotifySocket:
    """A service manager's end of systemd's notify protocol (sd_notify(3)):
    a datagram socket whose messages are kept with their arrival time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, line)
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            with self.lock:
                self.messages.extend((time.monotonic(), line) for line in data.split("\n") if line)

    def close(self):
        self.running = False
        self.sock.close()

    def since(self, start, prefix):
        with self.lock:
            return [t for t, line in self.messages if t >= start and line.startswith(prefix)]

    def wait(self, prefix, start, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.since(start, prefix):
                return
            time.sleep(0.05)
        with self.lock:
            raise AssertionError("no %r within %d s; got %s" % (prefix, timeout, [m for _, m in self.messages]))


class ServiceManager(DaemonCase):
    """systemd's Type=notify with WatchdogSec as systemd speaks it (no systemd
    runs here): READY=1 once the loop runs, STATUS= after each round,
    WATCHDOG=1 every half WatchdogSec while the loop is alive and none while
    it is stuck outside any wait, RELOADING=1 on SIGHUP and STOPPING=1 on
    SIGTERM."""

    WATCHDOG = 2.0  # seconds, as WATCHDOG_USEC

    def test_ready_status_watchdog_reload_and_stop(self):
        notify = NotifySocket(os.path.join(self.tmp.name, "notify.sock"))
        self.addCleanup(notify.close)
        env = dict(os.environ, NOTIFY_SOCKET=notify.sock.getsockname(), WATCHDOG_USEC=str(int(self.WATCHDOG * 1e6)))
        start = time.monotonic()
        d = self.daemon("--interval", "1", env=env)
        notify.wait("READY=1", start)
        d.expect("round: ")
        notify.wait("STATUS=", start)
        # Alive: a ping every half WatchdogSec.
        alive = time.monotonic()
        time.sleep(4 * self.WATCHDOG)
        pings = notify.since(alive, "WATCHDOG=1")
        self.assertGreaterEqual(len(pings), 6, "pings while alive: %d in %.0f s" % (len(pings), 4 * self.WATCHDOG))
        # Stuck: every API request hangs 8 s, so the loop sits in one request
        # (no clock wait) for longer than WatchdogSec; the pings stop, which
        # is what makes systemd restart a hung daemon.
        self.sim.admin("delay", ms="8000")
        time.sleep(4)  # the next round's first request started within 1 s and hangs till 9 s
        stuck = time.monotonic()
        time.sleep(4)
        self.assertEqual(notify.since(stuck, "WATCHDOG=1"), [], "pings while the loop hangs in a request")
        self.sim.admin("reset")
        recovered = time.monotonic()
        d.expect("round: ", timeout=60)
        notify.wait("WATCHDOG=1", recovered, timeout=30)
        reload_at = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        d.expect("config reloaded")
        notify.wait("RELOADING=1", reload_at)
        notify.wait("READY=1", reload_at)
        stop_at = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=60), 0)
        notify.wait("STOPPING=1", stop_at, timeout=5)


class Endpoints(DaemonCase):
    """/metrics, /healthz, /readyz and /status on service.listen, read by a
    plain client, through 1,000 idle connections, and by a real Prometheus."""

    def start(self):
        self.write_config(service="  hold: 3\n  listen: 127.0.0.1:0\n")
        d = self.daemon("--interval", "1")
        line = d.expect("/metrics, /healthz, /readyz and /status on http://")
        self.url = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)
        d.expect("round: balanced")
        return d

    def get(self, path):
        return self.api.get(self.url + path, timeout=5)

    def test_endpoints_answer_through_a_thousand_idle_connections(self):
        self.start()
        self.assertEqual(self.get("/healthz").text, "ok\n")
        self.assertEqual(self.get("/readyz").text, "ready\n")
        status = self.get("/status").json()
        self.assertEqual(status["last_round"]["verdict"], "balanced")
        metrics = self.get("/metrics")
        self.assertTrue(metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn('proxlb_leader{cluster="steady"} 1', metrics.text)
        self.assertIn('proxlb_node_guests{cluster="steady",node="pve1"} 4', metrics.text)
        self.assertEqual(self.get("/nothing").status_code, 404)
        host, port = self.url[len("http://"):].split(":")
        idle = []
        try:
            for _ in range(1000):
                idle.append(socket.create_connection((host, int(port)), timeout=5))
            started = time.time()
            self.assertEqual(self.get("/healthz").status_code, 200)
            print("\n/healthz with 1,000 idle connections open: %.1f ms" % ((time.time() - started) * 1000))
        finally:
            for c in idle:
                c.close()

    def test_prometheus_scrapes_the_daemon(self):
        prometheus = shutil.which("prometheus")
        if not prometheus:
            self.skipTest("prometheus is not installed (apt-get install prometheus)")
        self.start()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            web = s.getsockname()[1]
        config = os.path.join(self.tmp.name, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: proxlb\n"
                    "    static_configs:\n      - targets: ['%s']\n" % self.url[len("http://"):])
        p = subprocess.Popen([prometheus, "--config.file", config, "--storage.tsdb.path",
                              os.path.join(self.tmp.name, "tsdb"), "--web.listen-address", "127.0.0.1:%d" % web],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.terminate(), p.wait()))
        deadline = time.time() + 60
        series = {}
        while time.time() < deadline:
            try:
                for query in ("proxlb_leader", "proxlb_node_guests", "up"):
                    r = self.api.get("http://127.0.0.1:%d/api/v1/query" % web, params={"query": query}, timeout=5)
                    series[query] = r.json()["data"]["result"]
                if all(series.values()):
                    break
            except Exception:  # noqa: BLE001 (prometheus still starting)
                pass
            time.sleep(0.5)
        self.assertTrue(series.get("up"), "prometheus never scraped the daemon: %s" % series)
        self.assertEqual(series["up"][0]["value"][1], "1")
        self.assertEqual(series["proxlb_leader"][0]["value"][1], "1")
        self.assertEqual(series["proxlb_leader"][0]["metric"]["cluster"], "steady")
        guests = {s["metric"]["node"]: s["value"][1] for s in series["proxlb_node_guests"]}
        self.assertEqual(guests, {"pve1": "4", "pve2": "4", "pve3": "4"})


class PveCrs(DaemonCase):
    """PVE's own CRS rebalancing on (PVE 9.2, crs: ha-auto-rebalance=1): the
    daemon leaves HA-managed guests to it, or with
    service.pve_crs_rebalancing: refuse does not act at all."""

    # Every guest of pve1, the node the load shifts to, is HA-managed.
    extra_scenario = "ha:\n  resources:\n" + "".join("    - {sid: \"vm:%d\", state: started}\n" % v for v in PVE1_GUESTS)

    def crs_on_with_ha_guests(self):
        r = self.api.put(self.sim.base + "/cluster/options", data={"crs": "ha=static,ha-auto-rebalance=1"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    def start(self, mode):
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: 127.0.0.1:0\n  pve_crs_rebalancing: %s\n" % mode)
        d = self.daemon("--interval", "1")
        line = d.expect("/metrics, /healthz, /readyz and /status on http://")
        self.url = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)
        return d

    def test_ha_guests_are_left_to_pve(self):
        self.crs_on_with_ha_guests()
        self.load_pve1(1.0)
        d = self.start("leave-ha-guests")
        d.expect("proxlb leaves HA-managed guests to it")
        for _ in range(3):  # the same shift is balanced within one round when CRS is off (Hysteresis tests)
            self.assertNotIn("migrating", d.expect("round:"))
        self.assertEqual(self.migrations(), [], "HA-managed guests were moved while PVE's CRS rebalances them")
        metrics = self.api.get(self.url + "/metrics", timeout=5).text
        self.assertIn('proxlb_pve_crs_rebalancing{cluster="steady"} 1', metrics)
        self.assertTrue(self.api.get(self.url + "/status", timeout=5).json()["last_round"]["pve_crs_rebalancing"])

    def test_refuse_mode_does_not_act_and_says_why(self):
        self.crs_on_with_ha_guests()
        self.load_pve1(1.0)
        d = self.start("refuse")
        failed = d.expect("round failed")
        self.assertIn("service.pve_crs_rebalancing is refuse", failed)
        d.expect("round failed")
        self.assertEqual(self.migrations(), [])
        ready = self.api.get(self.url + "/readyz", timeout=5)
        self.assertEqual(ready.status_code, 503)
        self.assertIn("pve_crs_rebalancing is refuse", ready.text)



class LeaderElection(DaemonCase):
    """Three daemons on one cluster sharing an election on a 3-member etcd:
    exactly one acts; a killed leader is replaced within about the lease
    TTL; without etcd quorum nobody acts; no migration starts twice."""

    ETCD = "/usr/bin/etcd"

    def start_etcd(self):
        if not os.access(self.ETCD, os.X_OK):
            self.skipTest("etcd is not installed (apt-get install etcd-server)")
        members = [("m%d" % i, free_port(), free_port()) for i in range(3)]
        cluster = ",".join("%s=http://127.0.0.1:%d" % (name, peer) for name, _, peer in members)
        self.etcd = []
        for name, client, peer in members:
            log = open(os.path.join(self.tmp.name, name + ".log"), "w")
            self.addCleanup(log.close)
            p = subprocess.Popen([self.ETCD, "--name", name, "--data-dir", os.path.join(self.tmp.name, name),
                                  "--listen-client-urls", "http://127.0.0.1:%d" % client,
                                  "--advertise-client-urls", "http://127.0.0.1:%d" % client,
                                  "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                                  "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                                  "--initial-cluster", cluster, "--initial-cluster-state", "new"],
                                 stdout=log, stderr=log)
            self.addCleanup(lambda p=p: (p.kill(), p.wait()))
            self.etcd.append(p)
        endpoints = ["http://127.0.0.1:%d" % client for _, client, _ in members]
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if all(self.api.get(e + "/health", timeout=1).json().get("health") == "true" for e in endpoints):
                    return endpoints
            except Exception:  # noqa: BLE001 (still starting)
                pass
            time.sleep(0.2)
        self.fail("the etcd cluster did not become healthy")

    def acting(self, daemons, seconds):
        """Per daemon, how many rounds it acted in (did not say 'not acting') during `seconds`;
        self.first_acted: when each first did."""
        counts = [0] * len(daemons)
        self.first_acted = [None] * len(daemons)
        deadline = time.time() + seconds
        while time.time() < deadline:
            for i, d in enumerate(daemons):
                if d is None:
                    continue
                try:
                    line = d.lines.get(timeout=0.05)
                except queue.Empty:
                    continue
                d.log.append(line)
                if "round:" in line and "not acting" not in line:
                    counts[i] += 1
                    self.first_acted[i] = self.first_acted[i] or time.time()
        return counts

    def test_exactly_one_acts_and_leadership_moves_on_when_the_leader_dies(self):
        endpoints = self.start_etcd()
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n"
                                  "  leader_election:\n    mode: etcd\n    etcd:\n      endpoints: [%s]\n"
                                  "      lease_ttl: 2\n" % ", ".join(endpoints))
        daemons = [self.daemon("--interval", "1") for _ in range(3)]
        counts = self.acting(daemons, 8)
        self.assertEqual(sorted(c > 0 for c in counts), [False, False, True],
                         "exactly one daemon acts: rounds acted per daemon %s" % counts)
        leader = counts.index(max(counts))
        self.load_pve1(1.0)
        self.acting(daemons, 4)
        migrated = self.migrations()
        self.assertTrue(migrated, "the leader balanced the shifted load")

        daemons[leader].proc.kill()
        daemons[leader].proc.wait()
        killed_at = time.time()
        daemons[leader] = None
        counts = self.acting(daemons, 8)
        self.assertEqual(sorted(c > 0 for i, c in enumerate(counts) if i != leader), [False, True],
                         "one of the other two took over: %s" % counts)
        took_over = min(t for t in self.first_acted if t) - killed_at
        print("\nleader killed: the next acted after %.1f s (lease TTL 2 s, rounds every 1 s); "
              "rounds acted in 8 s per daemon: %s" % (took_over, counts))
        self.assertLess(took_over, 2 + 1 + 2, "taken over within the TTL plus a round and a margin")

        # Two of three etcd members gone: no quorum, no lease renewal, nobody acts.
        for p in self.etcd[:2]:
            p.kill()
            p.wait()
        self.acting(daemons, 4)  # the leader stops within the lease TTL
        counts = self.acting(daemons, 5)
        self.assertEqual(counts.count(0), len(counts), "nobody acts without etcd quorum: %s" % counts)

        tasks = self.migrations()
        starts = {}
        for t in tasks:
            starts.setdefault(int(t["id"]), []).append(t)
        self.assertFalse([v for v, ts in starts.items() if len(ts) > 1],
                         "no guest was migrated twice: %s" % {v: len(ts) for v, ts in starts.items()})


def unix_get(path, request):
    """Sends raw `request` bytes on the unix socket `path`; the whole reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(path)
        c.sendall(request)
        reply = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return reply.decode("utf-8", "replace")


def unix_json(path, target):
    reply = unix_get(path, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), reply[:300]
    return json.loads(body)


class StatusApi(DaemonCase):
    """The status API on the unix socket, read by `proxlb status`/`plan`, and
    over TCP with a bearer token."""

    def test_the_socket_answers_and_proxlb_status_and_plan_read_it(self):
        d = self.daemon("--interval", "1")
        d.expect("status API on unix socket")
        d.expect("round: balanced")
        mode = os.lstat(d.socket).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o660)
        deadline = time.time() + 10
        status = unix_json(d.socket, "/status")
        while status["next_round_time"] is None and time.time() < deadline:  # set just after the round's log line
            time.sleep(0.05)
            status = unix_json(d.socket, "/status")
        self.assertTrue(status["leader"])
        self.assertEqual(status["last_round"]["verdict"], "balanced")
        self.assertIsNotNone(status["next_round_time"])
        self.assertIn("moves", unix_json(d.socket, "/plan"))

        out = self.proxlb("status", socket_path=d.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("from the proxlb daemon on " + d.socket), out.stdout)
        self.assertIn("pve1", out.stdout)
        out = self.proxlb("--json", "status", socket_path=d.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertTrue(doc["daemon"]["leader"])
        out = self.proxlb("plan", socket_path=d.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("from the proxlb daemon"), out.stdout)
        direct = self.proxlb("status", "--no-daemon", socket_path=d.socket)
        self.assertEqual(direct.returncode, 0, direct.stderr)
        self.assertNotIn("from the proxlb daemon", direct.stdout)

        # Hostile requests on the socket.
        for target in ("/plan/../status", "/status/..%2f..%2fetc%2fshadow", "/../../etc/passwd"):
            reply = unix_get(d.socket, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(reply.startswith("HTTP/1.1 404"), (target, reply[:200]))
        reply = unix_get(d.socket, b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
                         b"x" * 100000)
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply[:200])
        reply = unix_get(d.socket, b"GET /status HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 100000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith("HTTP/1.1 431"), reply[:200])
        self.assertEqual(unix_json(d.socket, "/status")["leader"], True, "still serving")

        # A second daemon on the same socket refuses to start; the first keeps it.
        second = self.daemon("--interval", "1", socket_path=d.socket)
        self.assertNotEqual(second.proc.wait(timeout=30), 0)
        second.expect("another process is serving on it")
        self.assertTrue(unix_json(d.socket, "/status")["leader"])

        # SIGKILL leaves a stale socket: the CLI reads the cluster itself, a new daemon takes the path over.
        d.proc.kill()
        d.proc.wait()
        self.assertTrue(os.path.exists(d.socket))
        out = self.proxlb("status", socket_path=d.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("from the proxlb daemon", out.stdout)
        again = self.daemon("--interval", "1", socket_path=d.socket)
        again.expect("status API on unix socket")
        again.expect("round: balanced")
        self.assertTrue(unix_json(d.socket, "/status")["leader"])

    def test_a_symlinked_socket_path_is_refused(self):
        target = os.path.join(self.tmp.name, "precious")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(self.tmp.name, "link.sock")
        os.symlink(target, link)
        d = self.daemon("--interval", "1", socket_path=link)
        self.assertNotEqual(d.proc.wait(timeout=30), 0)
        d.expect("symbolic link")
        with open(target) as f:
            self.assertEqual(f.read(), "keep")

    def test_tcp_needs_the_bearer_token(self):
        token = "proxlb-test-token-" + os.urandom(8).hex()
        token_file = os.path.join(self.tmp.name, "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        self.write_config(service="  hold: 3\n  listen: 127.0.0.1:0\n  status_token_file: %s\n" % token_file)
        d = self.daemon("--interval", "1")
        url = re.search(r"(http://127\.0\.0\.1:\d+)", d.expect("on http://")).group(1)
        d.expect("round: balanced")
        for path in ("/status", "/plan", "/audit"):
            self.assertEqual(self.api.get(url + path, timeout=5).status_code, 401, path)
            wrong = self.api.get(url + path, headers={"Authorization": "Bearer " + token[:-1] + "x"}, timeout=5)
            self.assertEqual(wrong.status_code, 401, path)
            right = self.api.get(url + path, headers={"Authorization": "Bearer " + token}, timeout=5)
            self.assertEqual(right.status_code, 200, (path, right.text))
        self.assertEqual(self.api.get(url + "/metrics", timeout=5).status_code, 200)
        d.proc.send_signal(signal.SIGTERM)
        d.proc.wait(timeout=60)
        d.expect("proxlb daemon: stopped")
        self.assertNotIn(token, "\n".join(d.log), "the token is never logged")


class Audit(DaemonCase):
    """service.audit_log: one JSON line per migration, as pvesim's task list shows them."""

    def test_one_line_per_migration_with_failures_recorded(self):
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n")
        for vmid in PVE1_GUESTS:  # whichever the plan moves first fails
            self.sim.admin("fail-migration/%d" % vmid, message="proxlb audit test")
        self.load_pve1(1.0)
        d = self.daemon("--interval", "1")
        d.expect("round: balanced:", timeout=60)
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=120), 0)
        with open(self.audit) as f:
            lines = [json.loads(line) for line in f]
        tasks = self.migrations()
        self.assertTrue(tasks, "no migration ran")
        self.assertEqual(sorted(line["upid"] for line in lines), sorted(t["upid"] for t in tasks),
                         "exactly one audit line per migration task:\n%s\n%s" % (lines, tasks))
        for line in lines:
            task = next(t for t in tasks if t["upid"] == line["upid"])
            self.assertEqual(line["result"], "done" if task.get("status") == "OK" else "failed", (line, task))
            for key in ("started", "finished", "vmid", "name", "type", "from", "to", "reason", "plan_id",
                        "gib_moved", "duration_seconds", "cluster"):
                self.assertIn(key, line)
            self.assertEqual(line["by"], "daemon")
        failed = [line for line in lines if line["result"] == "failed"]
        self.assertTrue(failed, "the injected failure is recorded: %s" % lines)
        self.assertTrue(all(line["error"] and line["gib_moved"] == 0 for line in failed), failed)


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
