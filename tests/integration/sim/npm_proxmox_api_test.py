"""The npm client `proxmox-api` (a third-party Proxmox client), unmodified,
against pvesim: proxmox_api_client.mjs runs the essential calls.

usage: npm_proxmox_api_test.py --pvesim BIN --cache DIR

The package is installed with npm into DIR (kept between runs). Exits 77
(skip) with the reason when node or npm is missing or the npm registry
cannot be reached.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvesim_harness import Pvesim, DEFAULT_PASSWORD, DEFAULT_SECRET, SKIP  # noqa: E402

PACKAGE = "proxmox-api@1.1.1"


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


def install(cache, package=PACKAGE, env=None):
    """npm installs `package` ("name@version") into `cache` unless it is
    there; None, or why it could not (the caller skips)."""
    module = os.path.join(cache, "node_modules", package.rsplit("@", 1)[0], "package.json")
    if os.path.exists(module):
        return None
    os.makedirs(cache, exist_ok=True)
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", cache, package],
                           capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        return "npm install %s timed out (registry unreachable?)" % package
    if r.returncode != 0:
        return "npm install %s failed (registry unreachable?): %s" % (package, r.stderr.strip()[-300:])
    return None


def main():
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return SKIP
    cache = arg("--cache")
    problem = install(cache)
    if problem:
        print("SKIP: " + problem)
        return SKIP
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proxmox_api_client.mjs")
    with Pvesim("--http", "--time-scale", "30") as sim:
        r = subprocess.run(["node", script, cache, sim.host, str(sim.port), DEFAULT_PASSWORD, DEFAULT_SECRET],
                           text=True, timeout=240)
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
