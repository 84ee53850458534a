#!/usr/bin/python3
"""lxcri's proxmox backend against a real pvesim.

Drives bundles through the whole lifecycle on the simulated cluster
(create, start, state, list, pause/resume, kill, delete), routing rules,
recovery of a container whose state directory was lost (also by `list`),
OCI image archives as templates (proxmox.template_format oci), checkpoint/restore
through Proxmox's snapshot API, and failures in the
middle of create that must leave nothing behind (no CT, no template volume,
no state). Every scenario uses its own --root and pvesim; both are removed
at the end, even on failure. Exits 77 when tar(1) is missing.
"""

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import DEFAULT_SECRET, DEFAULT_TOKEN, SKIP, Pvesim  # noqa: E402
from lxcri_test import Failure, check  # noqa: E402

NODE = "pve1"


class Env:
    def __init__(self, lxcri, sim):
        self.lxcri = lxcri
        self.sim = sim
        self.api = sim.token_session()
        self.tmp = tempfile.mkdtemp(prefix="lxcri-pve-it-")
        self.root = os.path.join(self.tmp, "state")
        self.bundle = self.make_bundle("bundle")
        self.config = os.path.join(self.tmp, "lxcri.json")
        self.write_config()

    def write_config(self, token=(DEFAULT_TOKEN, DEFAULT_SECRET), **proxmox):
        settings = {"node": NODE, "poll_interval_ms": 20, "task_timeout": 30}
        settings.update(proxmox)
        config = {
            "root": self.root,
            "proxmox_api": {"hosts": ["%s:%d" % (self.sim.host, self.sim.port)], "token_id": token[0],
                            "token_secret": token[1], "ssl_fingerprint": [self.sim.fingerprint]},
            "proxmox": settings,
            "routing": {"rules": {"10-pve-ids": {"backend": "proxmox", "id": "^pve-"},
                                  "20-tier": {"backend": "proxmox", "annotations": {"tier": "^db$"}}}},
        }
        with open(self.config, "w") as f:
            json.dump(config, f)

    def make_bundle(self, name, annotations=None):
        bundle = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(bundle, "rootfs", "etc"))
        with open(os.path.join(bundle, "rootfs", "etc", "hostname"), "w") as f:
            f.write("app\n")
        r = self.run("spec", "-b", bundle)
        check(r.returncode == 0, "lxcri spec: " + r.stderr)
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["/bin/httpd", "-f"]
        spec["linux"]["resources"] = {"memory": {"limit": 128 << 20}}
        spec["annotations"] = annotations or {}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        return bundle

    def run(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [self.lxcri]
        if args[0] != "spec":
            cmd += ["--config", self.config]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, env=full_env)
        self.last_stderr = r.stderr
        return r

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        check(r.returncode == 0, "lxcri %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def fails(self, *args, expect="", **kw):
        r = self.run(*args, **kw)
        check(r.returncode != 0, "lxcri %s should fail: %s" % (" ".join(args), r.stdout))
        check("error:" in r.stderr and expect in r.stderr,
              "lxcri %s: expected error with %r, got: %s" % (" ".join(args), expect, r.stderr))
        return r.stderr

    def state(self, cid):
        return json.loads(self.ok("state", cid))

    # --- the cluster's side ------------------------------------------------------
    def get(self, path):
        r = self.api.get(self.sim.base + path, timeout=10)
        return r.status_code, r.json().get("data")

    def lxcri_cts(self):
        _, res = self.get("/cluster/resources?type=vm")
        return [g for g in res if g["type"] == "lxc" and "lxcri" in (g.get("tags") or "").split(";")]

    def templates(self):
        _, content = self.get("/nodes/%s/storage/local/content?content=vztmpl" % NODE)
        return [v["volid"] for v in content if "lxcri-" in v["volid"]]

    def ct_config(self, vmid):
        return self.get("/nodes/%s/lxc/%d/config" % (NODE, vmid))

    def assert_nothing_left(self, cid):
        check(not self.lxcri_cts(), "CTs left behind: %s" % self.lxcri_cts())
        check(not self.templates(), "template volumes left behind: %s (lxcri said: %s)" % (self.templates(),
                                                                                           self.last_stderr))
        check(not os.path.exists(os.path.join(self.root, cid)), "state dir of %s left behind" % cid)

    def cleanup(self):
        for cid in os.listdir(self.root) if os.path.isdir(self.root) else []:
            self.run("delete", "--force", cid)
        shutil.rmtree(self.tmp, ignore_errors=True)


def scenario_lifecycle(env):
    out = env.ok("create", "-b", env.bundle, "pve-app")
    check(out == "", "create prints nothing: %r" % out)
    s = env.state("pve-app")
    check(s["status"] == "created" and s["backend"] == "proxmox", "state after create: %s" % s)
    check(list(s.keys())[:8] == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"],
          "runc's state keys first: %s" % list(s))
    vmid = s["proxmox"]["vmid"]
    check(s["proxmox"]["node"] == NODE and vmid >= 100, "proxmox placement: %s" % s)
    code, cfg = env.ct_config(vmid)
    check(code == 200, "CT %d exists" % vmid)
    check(cfg["entrypoint"] == "/bin/httpd -f" and int(cfg["memory"]) == 128, "spec mapped: %s" % cfg)
    check("lxcri-pve-app" in cfg["tags"] and '"id":"pve-app"' in cfg["description"], "identity stored: %s" % cfg)
    check(cfg["hostname"] == "lxcri" and cfg["net0"].startswith("name=eth0"), "hostname and net0: %s" % cfg)
    check(not env.templates(), "the uploaded template is removed after create: %s" % env.templates())

    env.ok("start", "pve-app")
    check(env.state("pve-app")["status"] == "running", "running after start")
    _, st = env.get("/nodes/%s/lxc/%d/status/current" % (NODE, vmid))
    check(st["status"] == "running", "PVE says running: %s" % st)
    env.fails("start", "pve-app", expect="")

    listed = json.loads(env.ok("list", "--format", "json"))
    check([(c["id"], c["status"], c["backend"]) for c in listed] == [("pve-app", "running", "proxmox")],
          "list json: %s" % listed)
    table = env.ok("list")
    check("BACKEND" in table.splitlines()[0] and "proxmox" in table.splitlines()[1], "list table: %s" % table)

    env.ok("pause", "pve-app")
    check(env.state("pve-app")["status"] == "paused", "paused")
    env.ok("resume", "pve-app")
    check(env.state("pve-app")["status"] == "running", "running after resume")

    env.fails("kill", "pve-app", "USR1", expect="SIGTERM to shutdown and SIGKILL to stop")
    env.ok("kill", "pve-app", "TERM")
    check(env.state("pve-app")["status"] == "stopped", "stopped after SIGTERM (shutdown)")
    env.ok("delete", "pve-app")
    code, _ = env.ct_config(vmid)
    check(code != 200, "CT %d is gone after delete" % vmid)
    env.assert_nothing_left("pve-app")

    # SIGKILL is a hard stop; delete --force stops a running container first.
    env.ok("create", "-b", env.bundle, "pve-k")
    env.ok("start", "pve-k")
    env.ok("kill", "pve-k", "KILL")
    check(env.state("pve-k")["status"] == "stopped", "stopped after SIGKILL")
    env.ok("delete", "pve-k")
    env.ok("create", "-b", env.bundle, "pve-f")
    env.ok("start", "pve-f")
    env.fails("delete", "pve-f", expect="not stopped")
    env.ok("delete", "--force", "pve-f")
    env.assert_nothing_left("pve-f")


def scenario_routing(env):
    by_annotation = env.make_bundle("b-annot", {"org.pvekit.backend": "proxmox"})
    by_rule = env.make_bundle("b-tier", {"tier": "db"})
    env.ok("create", "-b", by_annotation, "app1")
    env.ok("create", "-b", by_rule, "app2")
    check(env.state("app1")["backend"] == "proxmox" and env.state("app2")["backend"] == "proxmox",
          "annotation and annotation rule route to proxmox")
    env.ok("delete", "app1")
    env.ok("delete", "app2")
    # The proxmox backend is a helper lxcri finds relative to the file it was
    # started from (also after the protective re-exec of create): a copy of
    # lxcri without one refuses proxmox containers, naming the helper, and
    # leaves nothing behind.
    lone = os.path.join(env.tmp, "bin", "lxcri")
    os.makedirs(os.path.dirname(lone))
    shutil.copy2(env.lxcri, lone)
    r = subprocess.run([lone, "--config", env.config, "create", "-b", by_annotation, "app3"],
                       capture_output=True, text=True, timeout=60)
    missing = re.search(r"error: .*the proxmox backend helper (\S+) could not be run: .*No such file", r.stderr)
    check(r.returncode != 0 and missing and missing.group(1).startswith(env.tmp + "/"),
          "lxcri without its helper: exit %d: %s" % (r.returncode, r.stderr))
    check("app3" not in env.ok("list", "-q").split(), "no state left for app3")
    env.assert_nothing_left("app3")
    # No rule matches: the default (linux) runs it; this rootfs has no /bin/httpd, so linux refuses it.
    r = env.run("--debug", "create", "-b", env.bundle, "plain")
    check("backend linux (default)" in r.stderr, "default route logged: %s" % r.stderr)
    if r.returncode == 0:
        env.run("delete", "--force", "plain")
    check(not env.lxcri_cts(), "nothing created in PVE for a linux container")
    env.fails("create", "-b", env.make_bundle("b-bad", {"org.pvekit.backend": "kvm"}), "pve-bad",
              expect='unknown backend "kvm"')
    env.fails("state", "x", env={"LXCRI_PROXMOX_NODES": "a"}, expect="LXCRI_PROXMOX_NODES")
    # Unmappable spec fields are refused before the cluster is touched.
    spec_path = os.path.join(env.bundle, "config.json")
    with open(spec_path) as f:
        spec = json.load(f)
    spec["process"]["cwd"] = "/srv"
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env.fails("create", "-b", env.bundle, "pve-cwd", expect="process.cwd")
    env.assert_nothing_left("pve-cwd")


def scenario_failures(env):
    # The API refuses the create itself: the uploaded template goes again.
    env.fails("create", "-b", env.bundle, "pve-f1", env={"LXCRI_PROXMOX_ROOTFS_STORAGE": "nope"},
              expect="storage 'nope' does not exist")
    env.assert_nothing_left("pve-f1")
    # The create task fails (PVE removes the CT itself); the error carries PVE's message.
    env.sim.admin("fail-task/vzcreate", message="unpacking failed: disk quota exceeded")
    env.fails("create", "-b", env.bundle, "pve-f2", expect="disk quota exceeded")
    env.assert_nothing_left("pve-f2")
    # The connection breaks while the create task runs: the CT exists, lxcri removes it.
    r = env.sim.session().post(env.sim.root + "/_sim/fail-requests", data={"count": 1, "path": ":vzcreate:"},
                               timeout=10)
    check(r.status_code == 200, "fail-requests with a path: %s" % r.text)
    env.fails("create", "-b", env.bundle, "pve-f3", expect="simulated failure")
    env.assert_nothing_left("pve-f3")
    # The cluster is unreachable before anything is made.
    env.sim.admin("fail-requests", count=1)
    env.fails("create", "-b", env.bundle, "pve-f4", expect="simulated failure")
    env.assert_nothing_left("pve-f4")
    # A failed start keeps the container (created) and reports PVE's message.
    env.ok("create", "-b", env.bundle, "pve-f5")
    env.sim.admin("fail-task/vzstart", message="startup for container failed")
    env.fails("start", "pve-f5", expect="startup for container failed")
    check(env.state("pve-f5")["status"] == "created", "still created after a failed start")
    env.ok("delete", "pve-f5")
    env.assert_nothing_left("pve-f5")


def scenario_pidfile(env):
    """--pid-file has no meaning for a CT on a cluster node: refused before anything is created."""
    pid_file = os.path.join(env.tmp, "pid")
    env.fails("create", "--pid-file", pid_file, "-b", env.bundle, "pve-pid", expect="--pid-file")
    check(not os.path.exists(pid_file), "no pid file written")
    env.assert_nothing_left("pve-pid")


def scenario_recovery(env):
    env.ok("create", "-b", env.bundle, "pve-rec")
    env.ok("start", "pve-rec")
    vmid = env.state("pve-rec")["proxmox"]["vmid"]
    shutil.rmtree(env.root)
    s = env.state("pve-rec")
    check(s["status"] == "running" and s["proxmox"]["vmid"] == vmid and s["bundle"] == env.bundle,
          "state recovered from PVE: %s" % s)
    check(os.path.exists(os.path.join(env.root, "pve-rec", "state.json")), "state.json rewritten")
    shutil.rmtree(env.root)
    env.ok("delete", "--force", "pve-rec")
    env.assert_nothing_left("pve-rec")
    env.fails("state", "pve-never", expect="pve-never")
    env.ok("delete", "--force", "pve-never")


def scenario_exec(env):
    env.ok("create", "-b", env.bundle, "pve-x")
    env.ok("start", "pve-x")
    env.fails("exec", "pve-x", "ls", expect="is not on this host")
    env.fails("exec", "--cgroup", "sub", "pve-x", "ls", expect="exec --cgroup")
    env.fails("ps", "pve-x", expect="backend proxmox does not support")
    env.ok("delete", "--force", "pve-x")


def scenario_config(env):
    report = json.loads(env.ok("config", env={"LXCRI_PROXMOX_POOL": "apps"}))
    check(report["proxmox.pool"] == {"value": "apps", "source": "env LXCRI_PROXMOX_POOL"}, "env layer: %s"
          % report["proxmox.pool"])
    check(report["proxmox.node"]["source"] == env.config, "file layer: %s" % report["proxmox.node"])
    check(report["root"]["value"] == env.root, "root from the file")
    check(report["proxmox_api.token_secret"]["value"] == "<redacted>" and DEFAULT_SECRET not in json.dumps(report),
          "secret redacted")
    flagged = json.loads(env.ok("--root", "/tmp/x-root", "config"))
    check(flagged["root"] == {"value": "/tmp/x-root", "source": "flag root"}, "flag layer: %s" % flagged["root"])
    bad = os.path.join(env.tmp, "bad.json")
    with open(bad, "w") as f:
        json.dump({"proxmox": {"storage": "x"}}, f)
    r = subprocess.run([env.lxcri, "--config", bad, "list"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "proxmox.storage" in r.stderr, "unknown key named: %s" % r.stderr)


def scenario_snapshot(env):
    """checkpoint/restore through Proxmox's snapshot API (the pve driver)."""
    env.ok("create", "-b", env.bundle, "pve-snap")
    env.ok("start", "pve-snap")
    vmid = env.state("pve-snap")["proxmox"]["vmid"]
    base = "/nodes/%s/lxc/%d" % (NODE, vmid)

    def pve_snapshots():
        _, snaps = env.get(base + "/snapshot")
        return sorted(x["name"] for x in snaps if x["name"] != "current")

    out = env.ok("checkpoint", "--snapshot", "before", "pve-snap")
    check("before" in out, "checkpoint prints the snapshot's name: %r" % out)
    check(env.state("pve-snap")["status"] == "running", "still running after the snapshot")
    check(pve_snapshots() == ["before"], "PVE has the snapshot: %s" % pve_snapshots())
    code, then = env.get(base + "/config?snapshot=before")
    check(code == 200 and then["entrypoint"] == "/bin/httpd -f", "the snapshot keeps the config: %s" % then)
    listed = json.loads(env.ok("checkpoint", "--list", "--format", "json", "pve-snap"))
    check([x["name"] for x in listed] == ["before"], "checkpoint --list: %s" % listed)

    env.fails("checkpoint", "--snapshot", "before", "pve-snap", expect="exists already")
    env.fails("checkpoint", "--snapshot", "9lives", "pve-snap", expect="9lives")
    env.fails("restore", "--snapshot", "missing", "pve-snap", expect="missing")
    check(env.state("pve-snap")["status"] == "running", "a failed restore changes nothing")

    env.ok("restore", "--snapshot", "before", "pve-snap")
    check(env.state("pve-snap")["status"] == "running", "a running container runs again after the rollback")
    _, cur = env.get(base + "/status/current")
    _, cfg = env.ct_config(vmid)
    check(cur["status"] == "running" and cfg.get("parent") == "before", "PVE rolled back: %s %s" % (cur, cfg))
    env.ok("kill", "pve-snap", "TERM")
    env.ok("restore", "--snapshot", "before", "pve-snap")
    check(env.state("pve-snap")["status"] == "stopped", "a stopped container stays stopped after the rollback")

    # Retention: at most two snapshots are kept, the newest.
    keep_two = {"LXCRI_CHECKPOINT_RETENTION_MAX_SNAPSHOTS": "2"}
    first = env.ok("checkpoint", "pve-snap", env=keep_two).strip()
    second = env.ok("checkpoint", "pve-snap", env=keep_two).strip()
    check(first.startswith("lxcri_") and second.startswith("lxcri_") and first != second,
          "unnamed snapshots: %r %r" % (first, second))
    check(pve_snapshots() == sorted([first, second]), "retention kept the two newest: %s" % pve_snapshots())
    env.ok("checkpoint", "--delete", first, "pve-snap")
    check(pve_snapshots() == [second], "checkpoint --delete: %s" % pve_snapshots())
    env.fails("checkpoint", "--delete", first, "pve-snap", expect=first)

    env.ok("delete", "--force", "pve-snap")
    env.assert_nothing_left("pve-snap")


def oci_tar(members):
    """A plain tar (Python's tarfile, GNU format) of name -> bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def scenario_oci_archive(env):
    """proxmox.template_format oci: the bundle goes up as an OCI image archive and
    PVE 9.1 (pvesim) fills entrypoint, env, cwd from the image config."""
    env.write_config(template_format="oci")
    spec_path = os.path.join(env.bundle, "config.json")
    with open(spec_path) as f:
        spec = json.load(f)
    # What a tar.gz template cannot carry: an argument with a space, a working directory.
    spec["process"]["args"] = ["/bin/httpd", "-f", "-h", "/srv/www root"]
    spec["process"]["cwd"] = "/srv"
    spec["process"]["env"] = ["PATH=/bin:/usr/bin", "MODE=prod"]
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env.ok("create", "-b", env.bundle, "pve-oci")
    s = env.state("pve-oci")
    check(s["status"] == "created" and s["backend"] == "proxmox", "state after create: %s" % s)
    vmid = s["proxmox"]["vmid"]
    code, cfg = env.ct_config(vmid)
    check(code == 200, "CT %d exists" % vmid)
    check(cfg.get("entrypoint") == '/bin/httpd "-f" "-h" "/srv/www root"' and cfg.get("cmode") == "console",
          "entrypoint from the image's Entrypoint, as PVE 9.1 quotes it: %s" % cfg)
    check(cfg.get("env") == "PATH=/bin:/usr/bin\0MODE=prod", "env from the image's Env: %r" % cfg.get("env"))
    check(["lxc.init.cwd", "/srv"] in cfg.get("lxc", []) and ["lxc.signal.halt", "SIGTERM"] in cfg.get("lxc", []),
          "cwd and stop signal from the image: %s" % cfg.get("lxc"))
    check(int(cfg["memory"]) == 128 and "lxcri-pve-oci" in cfg["tags"], "the rest maps as with tar.gz: %s" % cfg)
    _, tasks = env.get("/nodes/%s/tasks?vmid=%d&typefilter=vzcreate" % (NODE, vmid))
    check(tasks, "the vzcreate task is listed")
    _, log = env.get("/nodes/%s/tasks/%s/log" % (NODE, tasks[0]["upid"]))
    check(log and log[0]["t"] == "Detected OCI archive", "PVE took the template for an OCI image: %s" % log)
    check(not env.templates(), "the uploaded archive is removed after create: %s" % env.templates())
    env.ok("start", "pve-oci")
    check(env.state("pve-oci")["status"] == "running", "running after start")
    env.ok("kill", "pve-oci", "TERM")
    env.ok("delete", "pve-oci")
    env.assert_nothing_left("pve-oci")
    # The first word is not quoted by PVE: refused before anything is made.
    spec["process"]["args"] = ["/bin/my httpd"]
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env.fails("create", "-b", env.bundle, "pve-oci2", expect="process.args[0]")
    env.assert_nothing_left("pve-oci2")

    # A malformed image (its manifest is missing) fails PVE's create task with the reason.
    missing = "sha256:" + "e" * 64
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": missing, "size": 10}]}).encode()
    bad = oci_tar({"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index,
                   "blobs/sha256/" + hashlib.sha256(b"x").hexdigest(): b"x"})
    r = env.api.post(env.sim.base + "/nodes/%s/storage/local/upload" % NODE, data={"content": "vztmpl"},
                     files={"filename": ("lxcri-bad.tar", bad)}, timeout=10)
    check(r.status_code == 200, "upload of a .tar to vztmpl: %s %s" % (r.status_code, r.text))
    env.sim.wait_task(env.api, NODE, r.json()["data"])
    _, nextid = env.get("/cluster/nextid")
    r = env.api.post(env.sim.base + "/nodes/%s/lxc" % NODE, timeout=10,
                     data={"vmid": nextid, "ostemplate": "local:vztmpl/lxcri-bad.tar", "rootfs": "local-lvm:1"})
    check(r.status_code == 200, "create from the broken archive starts: %s" % r.text)
    st = env.sim.wait_task(env.api, NODE, r.json()["data"])
    check(st["exitstatus"] == "unable to create CT %s - OCI image: manifest: blob %s is missing" % (nextid, missing),
          "the create task fails with the reason: %s" % st)
    check(env.ct_config(int(nextid))[0] != 200, "no CT is left")
    r = env.api.delete(env.sim.base + "/nodes/%s/storage/local/content/local:vztmpl/lxcri-bad.tar" % NODE, timeout=10)
    env.sim.wait_task(env.api, NODE, r.json()["data"])


def scenario_list_recovery(env):
    """`list` finds lxcri's CTs whose state dir was lost and writes their state again."""
    env.ok("create", "-b", env.bundle, "pve-l1")
    env.ok("start", "pve-l1")
    env.ok("create", "-b", env.bundle, "pve-l2")
    vmids = {cid: env.state(cid)["proxmox"]["vmid"] for cid in ("pve-l1", "pve-l2")}
    shutil.rmtree(env.root)
    listed = json.loads(env.ok("list", "--format", "json"))
    got = sorted((c["id"], c["status"], c["backend"], c["proxmox"]["vmid"], c["bundle"]) for c in listed)
    check(got == [("pve-l1", "running", "proxmox", vmids["pve-l1"], env.bundle),
                  ("pve-l2", "stopped", "proxmox", vmids["pve-l2"], env.bundle)],
          "list --format json shows the lost containers: %s" % listed)
    for cid in ("pve-l1", "pve-l2"):
        check(os.path.exists(os.path.join(env.root, cid, "state.json")), "state of %s written again" % cid)
    shutil.rmtree(env.root)
    table = env.ok("list").splitlines()
    check(table[0].split()[-1] == "BACKEND" and len(table) == 3 and
          all(line.split()[0] in ("pve-l1", "pve-l2") and line.split()[-1] == "proxmox" for line in table[1:]),
          "list (table) shows them with BACKEND proxmox: %s" % table)
    env.ok("delete", "--force", "pve-l1")
    env.ok("delete", "--force", "pve-l2")
    env.assert_nothing_left("pve-l1")
    check(env.ok("list", "--format", "json").strip() == "null", "nothing to list afterwards")

    # An unreachable cluster: list still prints what is known locally and warns.
    env.ok("create", "-b", env.bundle, "pve-l3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with open(env.config) as f:
        config = json.load(f)
    config["proxmox_api"].update({"hosts": ["127.0.0.1:%d" % closed_port], "timeout": 2, "retries": 1})
    unreachable = os.path.join(env.tmp, "unreachable.json")
    with open(unreachable, "w") as f:
        json.dump(config, f)
    r = subprocess.run([env.lxcri, "--config", unreachable, "list", "--format", "json"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "list with an unreachable cluster succeeds: %d %s" % (r.returncode, r.stderr))
    rows = json.loads(r.stdout)
    check([(c["id"], c["backend"], c["status"]) for c in rows] == [("pve-l3", "proxmox", "created")],
          "the local container is listed with its last known status: %s" % rows)
    check("warn" in r.stderr and "listing lxcri's containers in the Proxmox cluster" in r.stderr
          and "showing its last known status" in r.stderr, "warnings on stderr: %s" % r.stderr)
    r = subprocess.run([env.lxcri, "--config", unreachable, "list", "-q"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stdout.split() == ["pve-l3"], "list -q: %d %r %s" % (r.returncode, r.stdout,
                                                                                      r.stderr))
    env.ok("delete", "pve-l3")
    env.assert_nothing_left("pve-l3")


# The roles of docs/lxcri.md ("Least privileges"), with the paths they are granted on.
LEAST_ROLES = {
    "LxcriCT": (["VM.Allocate", "VM.Audit", "VM.PowerMgmt", "VM.Snapshot", "VM.Config.Disk", "VM.Config.Memory",
                 "VM.Config.CPU", "VM.Config.Network", "VM.Config.Options"], ["/vms"]),
    "LxcriStorage": (["Datastore.AllocateTemplate", "Datastore.Allocate", "Datastore.AllocateSpace"],
                     ["/storage/local", "/storage/local-lvm"]),
    "LxcriBridge": (["SDN.Use"], ["/sdn/zones/localnetwork/vmbr0"]),
}
# The command that needs each privilege first, and the path PVE names when it is missing.
NEEDED_BY = {
    "Datastore.AllocateTemplate": ("create", "/storage/local"),
    "Datastore.Allocate": ("create", None),
    "Datastore.AllocateSpace": ("create", "/storage/local"),  # the template's storage is checked first
    "VM.Allocate": ("create", "/vms/"),
    "VM.Config.Disk": ("create", "/vms/"),
    "VM.Config.Memory": ("create", "/vms/"),
    "VM.Config.CPU": ("create", "/vms/"),
    "VM.Config.Network": ("create", "/vms/"),
    "VM.Config.Options": ("create", "/vms/"),
    "SDN.Use": ("create", "/sdn/zones/localnetwork/vmbr0"),
    "VM.Audit": ("state", "/vms/"),
    "VM.PowerMgmt": ("start", "/vms/"),
    "VM.Snapshot": ("checkpoint", "/vms/"),
}


def least_privilege_token(env):
    """A privilege-separated token of lxcri@pve holding exactly the documented roles."""
    base = env.sim.base

    def ok(r):
        check(r.status_code == 200, "%s %s: %d %s" % (r.request.method, r.request.url, r.status_code, r.text))
        return r.json().get("data")

    for role, (privs, _) in LEAST_ROLES.items():
        ok(env.api.post(base + "/access/roles", data={"roleid": role, "privs": ",".join(privs)}, timeout=10))
    ok(env.api.post(base + "/access/users", data={"userid": "lxcri@pve"}, timeout=10))
    secret = ok(env.api.post(base + "/access/users/lxcri@pve/token/ct", data={"privsep": 1}, timeout=10))["value"]
    for role, (_, paths) in LEAST_ROLES.items():
        for path in paths:
            ok(env.api.put(base + "/access/acl", data={"path": path, "roles": role, "users": "lxcri@pve",
                                                       "tokens": "lxcri@pve!ct"}, timeout=10))
    return secret


def set_least_roles(env, without=None):
    for role, (privs, _) in LEAST_ROLES.items():
        r = env.api.put(env.sim.base + "/access/roles/" + role,
                        data={"privs": ",".join(p for p in privs if p != without)}, timeout=10)
        check(r.status_code == 200, "set role %s: %s" % (role, r.text))


def scenario_least_privilege(env):
    """The lifecycle with a token holding exactly the documented roles, then
    with each privilege taken away: the command needing it fails with PVE's
    403 message (path and privilege) and leaves nothing behind."""
    secret = least_privilege_token(env)
    env.write_config(token=("lxcri@pve!ct", secret))
    # A CPU limit too (cpulimit: VM.Config.CPU); the memory limit of make_bundle needs VM.Config.Memory.
    spec_path = os.path.join(env.bundle, "config.json")
    with open(spec_path) as f:
        spec = json.load(f)
    spec["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env.ok("create", "-b", env.bundle, "pve-lp")
    check(env.state("pve-lp")["status"] == "created", "created with the least privileges")
    env.ok("start", "pve-lp")
    env.ok("pause", "pve-lp")
    env.ok("resume", "pve-lp")
    check(env.state("pve-lp")["status"] == "running", "running")
    env.ok("checkpoint", "--snapshot", "lp", "pve-lp")
    env.ok("restore", "--snapshot", "lp", "pve-lp")
    env.ok("kill", "pve-lp", "KILL")
    env.ok("delete", "pve-lp")
    env.assert_nothing_left("pve-lp")

    for missing, (command, path) in NEEDED_BY.items():
        cid = "pve-lp-" + missing.lower().replace(".", "-")
        if command != "create":
            env.ok("create", "-b", env.bundle, cid)
            if command == "checkpoint":
                env.ok("start", cid)
        set_least_roles(env, without=missing)
        try:
            args = {"create": ("create", "-b", env.bundle, cid), "state": ("state", cid), "start": ("start", cid),
                    "checkpoint": ("checkpoint", "--snapshot", "lp2", cid)}[command]
            err = env.fails(*args)
            if missing == "Datastore.Allocate":
                # PVE would refuse only the template's removal, after the create: lxcri asks first.
                check("lack Datastore.Allocate on /storage/local:" in err, "without %s: %s" % (missing, err))
            else:
                refused = re.search(r"403 Permission check failed \((/[^,)]*), ([^)]*)\)", err)
                check(refused and refused.group(1).startswith(path) and missing in refused.group(2).split("|"),
                      "without %s: %s fails with PVE's 403 naming %s and it: %s" % (missing, command, path, err))
            check(secret not in err, "no secret in the error")
        finally:
            set_least_roles(env)
        if command == "create":
            env.assert_nothing_left(cid)
        else:
            env.ok("delete", "--force", cid)
            env.assert_nothing_left(cid)

    # A privileged CT (proxmox.unprivileged false) needs Sys.Modify on /, which the roles do not give.
    env.write_config(token=("lxcri@pve!ct", secret), unprivileged=False)
    env.fails("create", "-b", env.bundle, "pve-lp-priv", expect="403 Permission check failed (/, Sys.Modify)")
    env.assert_nothing_left("pve-lp-priv")


SCENARIOS = {"lifecycle": scenario_lifecycle, "routing": scenario_routing, "failures": scenario_failures,
             "recovery": scenario_recovery, "exec": scenario_exec, "config": scenario_config,
             "snapshot": scenario_snapshot, "pidfile": scenario_pidfile, "oci_archive": scenario_oci_archive,
             "list_recovery": scenario_list_recovery,
             "least_privilege": scenario_least_privilege}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lxcri", required=True)
    p.add_argument("--pvesim", required=True)
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    args = p.parse_args()
    if shutil.which("tar") is None:
        print("SKIP: tar(1) is missing (the proxmox backend packs the rootfs with it)")
        return SKIP
    sys.argv += ["--pvesim", args.pvesim]
    with Pvesim("--time-scale", "50") as sim:
        env = Env(args.lxcri, sim)
        try:
            SCENARIOS[args.scenario](env)
        except Failure as e:
            print("FAIL: %s" % e)
            return 1
        finally:
            env.cleanup()
    print("ok: %s" % args.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
