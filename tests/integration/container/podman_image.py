"""The pvekit image as the container and Kubernetes tests use it: built once
per test process from this build tree by scripts/image.sh under a tag of its
own, removed at exit with every container the tests started.

podman runs as root here with its default (CNI bridge) network; each run gets
`--ulimit` flags because this host lacks CAP_SYS_RESOURCE (podman's default
rlimits are above the hard limits; /work/shared/ENVIRONMENT.md)."""

import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

PODMAN = "/usr/bin/podman"
SKIP = 77
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
UID = 65532


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


def run_tests(flags):
    """unittest.main on the command line less `flags` and their values; the exit status for CTest:
    1 on a failure, SKIP when every test skipped (CTest then shows the reason), else 0."""
    argv, rest = [sys.argv[0]], sys.argv[1:]
    while rest:
        if rest[0] in flags:
            rest = rest[2:]
        else:
            argv.append(rest.pop(0))
    result = unittest.main(argv=argv, verbosity=2, exit=False).result
    if not result.wasSuccessful():
        return 1
    return SKIP if len(result.skipped) == result.testsRun else 0


def why_podman_cannot_run():
    """None, or why podman cannot run containers here (the caller skips)."""
    if not os.access(PODMAN, os.X_OK):
        return "podman is not installed (scripts/setup.sh installs it)"
    if os.geteuid() != 0:
        return "needs root: the tests run podman with its root storage and bridge network"
    p = subprocess.run([PODMAN, "info", "--format", "{{.Host.OCIRuntime.Name}}"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        return "podman info failed: %s" % p.stderr.strip()[-300:]
    return None


class Image:
    """The image built from --source and --build-dir, and the containers run from it."""

    def __init__(self, source, build_dir):
        self.tmp = tempfile.TemporaryDirectory(prefix="pvekit-image-it.")
        suffix = uuid.uuid4().hex[:10]
        self.tag = "localhost/pvekit-it-%s:test" % suffix
        self.archive = os.path.join(self.tmp.name, "pvekit-image.tar")
        self.containers = []
        self.prefix = "pvekit-it-" + suffix
        atexit.register(self.remove)
        started = time.time()
        p = subprocess.run(["bash", os.path.join(source, "scripts", "image.sh")], capture_output=True, text=True,
                           timeout=600, env={**os.environ, "PVEKIT_BUILD_DIR": build_dir, "PVEKIT_IMAGE_TAG": self.tag,
                                             "PVEKIT_IMAGE_ARCHIVE": self.archive})
        self.build_seconds = time.time() - started
        if p.returncode != 0:
            raise AssertionError("scripts/image.sh failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
        self.output = p.stdout.splitlines()

    def inspect(self):
        p = subprocess.run([PODMAN, "image", "inspect", self.tag], capture_output=True, text=True, check=True)
        return json.loads(p.stdout)[0]

    def name(self, role):
        """A container name of this run (removed at exit)."""
        name = "%s-%s" % (self.prefix, role)
        self.containers.append(name)
        return name

    def run(self, *args, runtime=None, timeout=120, env=None):
        """`podman run --rm ARGS` of this image (ARGS: podman's options, then the image's arguments after
        "--image--"), with `env` added to podman's environment; the CompletedProcess."""
        return subprocess.run(self.command(*args, runtime=runtime, detach=False), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})

    def start(self, role, *args, runtime=None):
        """`podman run -d` as container ROLE; its name."""
        name = self.name(role)
        p = subprocess.run(self.command("--name", name, *args, runtime=runtime, detach=True), capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise AssertionError("podman run -d %s failed: %s" % (role, p.stderr))
        return name

    def start_pvesim(self, *args):
        """pvesim of the image in a container on podman's network, with the podman options and pvesim
        arguments `args` (split by "--image--"): (container, address, certificate fingerprint)."""
        split = args.index("--image--")
        # On podman's network only: the admin interface (faults, load) needs no token there.
        name = self.start("pvesim", *args[:split], "--entrypoint", "/usr/bin/pvesim", "--image--", "--host", "0.0.0.0",
                          "--allow-remote-admin", "--port", "8006", *args[split + 1:])
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"listening on https://\S+ fingerprint ([0-9A-F:]+)", podman("logs", name).stdout)
            if m:
                return name, "%s:8006" % container_ip(name), m.group(1)
            time.sleep(0.2)
        raise AssertionError("pvesim in the container did not start: %s" % podman("logs", name).stderr)

    def command(self, *args, runtime, detach):
        split = args.index("--image--")
        base = [PODMAN] + (["--runtime", runtime] if runtime else [])
        return base + ["run", "-d" if detach else "--rm", "--pull=never", *ULIMITS, *args[:split], self.tag, *args[split + 1:]]

    def remove(self):
        for name in self.containers:
            subprocess.run([PODMAN, "rm", "-f", "-t", "0", name], capture_output=True)
        self.containers = []
        subprocess.run([PODMAN, "rmi", "-f", self.tag], capture_output=True)
        self.tmp.cleanup()


def podman(*args, timeout=60):
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout)


def container_ip(name):
    p = podman("inspect", "--format", "{{.NetworkSettings.IPAddress}}", name)
    if p.returncode != 0 or not p.stdout.strip():
        raise AssertionError("no IP address of container %s: %s" % (name, p.stderr))
    return p.stdout.strip()


def container_pid(name):
    p = podman("inspect", "--format", "{{.State.Pid}}", name)
    if p.returncode != 0:
        raise AssertionError("podman inspect %s: %s" % (name, p.stderr))
    return int(p.stdout.strip())
