"""The third-party client python3-proxmoxer, unmodified, against pvesim.

Exits 77 (skip) when proxmoxer is not importable by this interpreter.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, DEFAULT_PASSWORD, DEFAULT_SECRET, SKIP  # noqa: E402

try:
    from proxmoxer import ProxmoxAPI
except ImportError as e:
    print("SKIP: proxmoxer is not importable (%s); install python3-proxmoxer" % e)
    sys.exit(SKIP)


def wait_task(api, node, upid, timeout=60):
    """proxmoxer.tools.Tasks.blocking_status when this proxmoxer has it (>= 2.0), else the same polling."""
    try:
        from proxmoxer.tools import Tasks
        return Tasks.blocking_status(api, upid, timeout=timeout, polling_interval=0.1)
    except ImportError:
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = api.nodes(node).tasks(upid).status.get()
            if st["status"] == "stopped":
                return st
            time.sleep(0.1)
        raise AssertionError("task did not finish")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok: " + what)


def main():
    with Pvesim("--time-scale", "30") as sim:
        host = "%s:%d" % (sim.host, sim.port)
        pw = ProxmoxAPI(host, user="root@pam", password=DEFAULT_PASSWORD, verify_ssl=False)
        tok = ProxmoxAPI(host, user="root@pam", token_name="pvekit", token_value=DEFAULT_SECRET, verify_ssl=False)
        for name, api in (("password", pw), ("token", tok)):
            resources = api.cluster.resources.get()
            check(len([r for r in resources if r["type"] in ("qemu", "lxc")]) == 60, name + ": /cluster/resources")
            check(api.version.get()["release"] == "9.1", name + ": /version")
        vms = [r for r in pw.cluster.resources.get(type="vm") if r["type"] == "qemu" and r["status"] == "running"
               and r["node"] != "pve5" and "hastate" not in r]
        vm = vms[0]
        for name, api, target in (("password", pw, "pve5"), ("token", tok, vm["node"])):
            src = vm["node"] if name == "password" else "pve5"
            upid = api.nodes(src).qemu(vm["vmid"]).migrate.post(target=target, online=1)
            check(":qmigrate:%d:" % vm["vmid"] in upid, name + ": migrate returned a UPID")
            st = wait_task(api, src, upid)
            check(st["status"] == "stopped" and st["exitstatus"] == "OK", name + ": migration task finished OK")
            now = [r for r in api.cluster.resources.get(type="vm") if r["vmid"] == vm["vmid"]][0]
            check(now["node"] == target, name + ": guest on the target node")
            # PVE's task API shows a token's tasks with user and tokenid apart.
            check(st["user"] == "root@pam" and st.get("tokenid") == ("pvekit" if name == "token" else None),
                  name + ": task user %s, tokenid %s" % (st["user"], st.get("tokenid")))
        # The CRS settings through an unmodified client.
        tok.cluster.options.put(crs="ha=dynamic,ha-auto-rebalance=1")
        check(pw.cluster.options.get()["crs"] == {"ha": "dynamic", "ha-auto-rebalance": 1}, "PUT/GET /cluster/options")
        ct = [r for r in pw.cluster.resources.get(type="vm") if r["type"] == "lxc" and r["status"] == "running"][0]
        rows = tok.nodes(ct["node"]).qemu(ct["vmid"]).rrddata.get(timeframe="day", cf="AVERAGE")
        check(len(rows) == 1440, "a CT's rrddata on the qemu path, as ProxLB asks (%d rows)" % len(rows))
        # A privsep token without privileges: it sees no guests, and its
        # migration is refused with PVE's 403 message visible to the client.
        pw.access.users.post(userid="noperm@pve", password="secret")
        made = pw.access.users("noperm@pve").token("t").post(privsep=1)
        weak = ProxmoxAPI(host, user="noperm@pve", token_name="t", token_value=made["value"], verify_ssl=False)
        check(not [r for r in weak.cluster.resources.get() if r["type"] in ("qemu", "lxc")],
              "a token without VM.Audit sees no guests")
        try:
            weak.nodes(vm["node"]).qemu(vm["vmid"]).migrate.post(target="pve5", online=1)
            raise AssertionError("migration without VM.Migrate was accepted")
        except Exception as e:  # proxmoxer's ResourceException, by name across versions
            text = str(e)
            expected = "Permission check failed (/vms/%d, VM.Migrate)" % vm["vmid"]
            check("403" in text and expected in text, "403 with PVE's message: " + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
