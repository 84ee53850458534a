#!/usr/bin/env python3
"""proxlb daemon webhooks (service.webhooks) against a python receiver: a
balancing round on pvesim posts plan_executed, a migration failed by
pvesim's fault injection posts migration_failed, a header read from a file
arrives and never shows in the daemon's log; a receiver that hangs or
answers 500 does not delay the rounds, and the queue stays bounded (the
metrics count what was dropped and what failed)."""

import http.server
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from daemon_test import PVE1_GUESTS, DaemonCase  # noqa: E402

TOKEN = "Bearer hook-token-5f1c9a0e7d"


class Receiver:
    """An HTTP server on a free loopback port: /ok answers 204, /fail 500,
    /hang never answers. Every POST's path, headers and JSON body are kept."""

    def __init__(self):
        self.posts = queue.Queue()
        self.seen = []
        received = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put((self.path, dict(self.headers), json.loads(body)))
                if self.path == "/hang":
                    time.sleep(3600)
                self.send_response(204 if self.path == "/ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, event=None, path=None, timeout=30):
        """The first post of `event` (or to `path`); the posts before it are kept in `seen`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                post = self.posts.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            self.seen.append(post)
            if post[2]["event"] == event or post[0] == path:
                return post
        raise AssertionError("no %s webhook within %d s; received: %s" % (event or path, timeout, self.seen))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def drain(d):
    """The rest of a stopped daemon's log."""
    while True:
        try:
            d.log.append(d.lines.get(timeout=1))
        except queue.Empty:
            return "\n".join(d.log)


class Webhooks(DaemonCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def test_plan_executed_and_migration_failed_arrive_with_a_header_from_a_file(self):
        token_file = os.path.join(self.tmp.name, "hook.token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.write_config(service="  hold: 1\n  margin: 0\n  listen: ''\n  webhooks:\n"
                                  "    - url: %s/ok\n"
                                  "      events: [plan_executed, migration_failed, leader_changed]\n"
                                  "      header_files: {Authorization: %s}\n" % (self.receiver.url, token_file))
        for vmid in PVE1_GUESTS:  # whichever the plan moves first fails
            self.sim.admin("fail-migration/%d" % vmid, message="proxlb webhook test")
        self.load_pve1(1.0)
        d = self.daemon("--interval", "1")
        _, headers, leader = self.receiver.wait_for("leader_changed")
        self.assertEqual(headers["Authorization"], TOKEN)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertIs(leader["leader"], True)
        self.assertEqual(leader["cluster"], "steady")
        self.assertTrue(leader["daemon"])
        self.assertRegex(leader["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        _, headers, failed = self.receiver.wait_for("migration_failed", timeout=60)
        self.assertEqual(headers["Authorization"], TOKEN)
        self.assertEqual(failed["result"], "failed")
        self.assertIn("proxlb webhook test", failed["error"])
        for key in ("vmid", "from", "to", "plan_id", "upid", "reason", "started", "finished"):
            self.assertIn(key, failed)
        _, _, plan = self.receiver.wait_for("plan_executed", timeout=60)
        self.assertEqual(plan["plan_id"], failed["plan_id"])
        self.assertGreaterEqual(plan["failed"], 1)
        self.assertIn({"vmid": failed["vmid"], "from": failed["from"], "to": failed["to"], "result": "failed"},
                      [{k: m[k] for k in ("vmid", "from", "to", "result")} for m in plan["moves"]])
        for key in ("spread_before", "spread_after", "planned", "done"):
            self.assertIn(key, plan)
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=60), 0)
        log = drain(d)
        self.assertNotIn("hook-token", log, "the header file's value is never logged")
        self.assertNotIn("hook-token", open(self.audit).read())

    def hooks_config(self, hooks):
        self.write_config(service="  hold: 1\n  listen: 127.0.0.1:0\n  webhook_queue: 2\n  webhooks:\n" + hooks)

    def test_a_hanging_or_failing_receiver_does_not_delay_rounds(self):
        self.hooks_config("    - url: %s/hang\n      events: [round_failed]\n      timeout: 2\n      retries: 1\n"
                          % self.receiver.url)
        self.sim.admin("quorum/lost")  # every round fails: a round_failed per round
        d = self.daemon("--interval", "1")
        url = re.search(r"(http://127\.0\.0\.1:\d+)", d.expect("/metrics, /healthz")).group(1)

        def series():
            text = self.api.get(url + "/metrics", timeout=5).text
            return {m.group(1): float(m.group(2)) for m in
                    re.finditer(r"^(proxlb_webhook_[a-z_]+(?:\{[^}]*\})?) (\S+)$", text, re.M)}

        def wait_for(name, value):
            deadline = time.time() + 30
            while time.time() < deadline:
                s = series()
                if s.get(name, 0) >= value:
                    return s
                time.sleep(0.5)
            self.fail("%s did not reach %s: %s" % (name, value, series()))

        rounds = []
        for _ in range(8):
            d.expect("round failed")
            rounds.append(time.time())
        gaps = [b - a for a, b in zip(rounds, rounds[1:])]
        self.assertLess(max(gaps), 1.6, "rounds kept their 1 s interval while the receiver hung: %s" % gaps)
        self.assertEqual(self.receiver.posts.get(timeout=10)[0], "/hang")
        s = wait_for('proxlb_webhook_deliveries_total{event="round_failed",result="dropped"}', 1)
        self.assertLessEqual(s["proxlb_webhook_queue_length"], 2, s)

        # SIGHUP replaces the list: now a receiver that answers 500.
        self.hooks_config("    - url: %s/fail\n      events: [round_failed]\n      retries: 1\n" % self.receiver.url)
        d.proc.send_signal(signal.SIGHUP)
        d.expect("config reloaded")
        self.assertEqual(self.receiver.wait_for(path="/fail")[0], "/fail")
        s = wait_for('proxlb_webhook_deliveries_total{event="round_failed",result="failed"}', 1)
        self.assertLessEqual(s["proxlb_webhook_queue_length"], 2, s)
        started = time.time()
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=30), 0)
        self.assertLess(time.time() - started, 10, "the grace period for webhooks is bounded")
        self.assertIn("proxlb daemon: stopped", drain(d))


if __name__ == "__main__":
    flags = ("--proxlb", "--scenario", "--pvesim")
    values = [sys.argv[sys.argv.index(f) + 1] for f in flags if f in sys.argv]
    argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a not in flags and a not in values]
    unittest.main(argv=argv, verbosity=2)
