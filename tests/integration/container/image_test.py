#!/usr/bin/env python3
"""The pvekit container image (scripts/image.sh) built from this build tree
and run with podman: its labels, user and contents; `proxlb plan` in the
container against pvesim on the host, with the token from a mounted file and
from the environment; the daemon as uid 65532 on a read-only root; bad and
missing configs refused with the reason; pvesim in the container with proxlb
on the host; and the same with lxcri as podman's runtime.

usage: image_test.py --source DIR --build-dir DIR --pvesim BIN --proxlb BIN --lxcri BIN

Exits 77 (skip) with the reason when podman cannot run containers here."""

import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, Pvesim, free_port  # noqa: E402
from podman_image import (SKIP, UID, Image, arg, container_pid, podman, run_tests,  # noqa: E402
                          why_podman_cannot_run)

IMAGE = None  # built once in main()
CONFIG_IN_IMAGE = "/etc/proxlb/proxlb.yaml"
TOKEN_IN_IMAGE = "/run/secrets/proxlb/token_secret"


def readable_file(path, text):
    """A file uid 65532 in the container can read through a bind mount."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def config_text(host, port, fingerprint, secret_line):
    return ("proxmox_api:\n  hosts: ['%s:%d']\n  user: root@pam\n  token_id: pvekit\n%s"
            "  ssl_fingerprint: ['%s']\n"
            "balancing:\n  method: memory\n  balanciness: 5\n" % (host, port, secret_line, fingerprint))


class ContainerCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        os.chmod(self.tmp.name, 0o755)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def empty_dir(self, path):
        """A host directory for the container's `path`, as Kubernetes makes an emptyDir: empty, mode 0777.
        (A podman --tmpfs would not do: runc gives it the mode of the image's directory and root as owner.)"""
        d = self.path(path.strip("/").replace("/", "-"))
        os.mkdir(d)
        os.chmod(d, 0o777)
        return d

    def mounts(self, config, token=None):
        args = ["-v", "%s:%s:ro" % (config, CONFIG_IN_IMAGE)]
        if token:
            args += ["-v", "%s:%s:ro" % (token, TOKEN_IN_IMAGE)]
        return args

    def sim_config(self, sim, secret_line="  token_secret_file: %s\n" % TOKEN_IN_IMAGE):
        config = readable_file(self.path("proxlb.yaml"), config_text("127.0.0.1", sim.port, sim.fingerprint,
                                                                     secret_line))
        token = readable_file(self.path("token_secret"), DEFAULT_SECRET + "\n")
        return config, token


class ImageContents(ContainerCase):
    def test_labels_user_entrypoint_and_size(self):
        info = IMAGE.inspect()
        labels = info["Labels"] or {}
        for key in ("title", "description", "version", "revision", "created"):
            self.assertTrue(labels.get("org.opencontainers.image." + key), "label %s missing: %s" % (key, labels))
        config = info["Config"]
        self.assertEqual(config["User"], "%d:%d" % (UID, UID))
        self.assertEqual(config["Entrypoint"], ["/usr/bin/proxlb"])
        self.assertEqual(config["Cmd"], ["daemon"])
        print("\nimage %s: %.1f MB in podman's storage, oci-archive %.1f MB, built in %.1f s"
              % (IMAGE.tag, info["Size"] / 1e6, os.path.getsize(IMAGE.archive) / 1e6, IMAGE.build_seconds))
        self.assertEqual(IMAGE.output[-2:], [IMAGE.tag, IMAGE.archive], "the script's last lines")

    def test_script_names_what_is_missing(self):
        script = os.path.join(arg("--source"), "scripts", "image.sh")
        for build, named in ((self.path("absent"), "absent"), (self.tmp.name, "not a configured CMake build")):
            p = subprocess.run(["bash", script], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PVEKIT_BUILD_DIR": build})
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("image: error:", p.stderr)
            self.assertIn(named, p.stderr)

    def test_archive_holds_the_programs_their_libraries_and_nothing_to_run_a_shell(self):
        with tarfile.open(IMAGE.archive) as archive:
            self.assertIn("oci-layout", archive.getnames())
            index = json.load(archive.extractfile("index.json"))
            manifest = json.load(archive.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
            files, owners = set(), {}
            for layer in manifest["layers"]:
                with tarfile.open(fileobj=archive.extractfile("blobs/sha256/" + layer["digest"][7:])) as t:
                    for m in t.getmembers():
                        files.add(m.name.lstrip("./"))
                        owners[m.name.lstrip("./")] = m.uid
        for needed in ("usr/bin/proxlb", "usr/bin/pvesim", "etc/passwd", "etc/group",
                       "etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/Europe/Berlin"):
            self.assertIn(needed, files)
        self.assertTrue(any(re.search(r"/libc\.so\.6$", f) for f in files), "no libc in the image")
        # The daemon's default status socket and audit directories are its user's; all else is root's.
        self.assertEqual({f for f, uid in owners.items() if uid != 0}, {"run/proxlb", "var/log/proxlb"})
        for absent in ("bin/sh", "usr/bin/sh", "usr/bin/lxcri", "usr/bin/busybox"):
            self.assertNotIn(absent, files, "the image holds %s" % absent)


class AgainstPvesimOnTheHost(ContainerCase):
    def test_plan_with_the_token_from_a_mounted_file(self):
        with Pvesim() as sim:
            config, token = self.sim_config(sim)
            p = IMAGE.run("--network", "host", *self.mounts(config, token), "--image--", "plan")
        self.assertEqual(p.returncode, 0, "proxlb plan in the container failed: %s" % p.stderr)
        self.assertRegex(p.stdout, r"Plan: \d+ migrations", "no plan:\n%s" % p.stdout)
        self.assertRegex(p.stdout, r"pve\d", "the plan names no node:\n%s" % p.stdout)

    def test_plan_with_the_config_and_token_from_the_environment(self):
        with Pvesim() as sim:
            config, _ = self.sim_config(sim, secret_line="")
            # PROXLB_CONFIG names the file; `-e NAME` passes the secret's value from podman's
            # environment, so it is on no command line.
            p = IMAGE.run("--network", "host", "-v", "%s:/config/proxlb.yaml:ro" % config,
                          "-e", "PROXLB_CONFIG=/config/proxlb.yaml", "-e", "PROXLB_PROXMOX_API_TOKEN_SECRET",
                          "--image--", "--json", "plan", env={"PROXLB_PROXMOX_API_TOKEN_SECRET": DEFAULT_SECRET})
        self.assertEqual(p.returncode, 0, "proxlb plan with PROXLB_* variables failed: %s" % p.stderr)
        self.assertGreater(len(json.loads(p.stdout)["moves"]), 0, p.stdout)



class Hardened(ContainerCase):
    """The daemon as Kubernetes runs it (packaging/kubernetes/deployment.yaml): read-only root,
    writable volumes only at /run/proxlb and /var/log/proxlb, no capabilities, uid 65532."""

    def daemon_on_read_only_root(self, runtime):
        with Pvesim("--time-scale", "60") as sim:
            config, token = self.sim_config(sim)
            port = free_port()
            with open(config, "a") as f:
                f.write("service:\n  listen: 127.0.0.1:%d\n  schedule:\n    interval: 1\n    format: minutes\n"
                        % port)
            volumes = []
            for path in ("/run/proxlb", "/var/log/proxlb"):
                volumes += ["-v", "%s:%s" % (self.empty_dir(path), path)]
            name = IMAGE.start("daemon-" + ("lxcri" if runtime else "default"), "--network", "host", "--read-only",
                               "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *volumes,
                               *self.mounts(config, token), "--image--", "--log-level", "info", "daemon",
                               runtime=runtime)
            ready = self.wait_ready(port, name)
            self.assertTrue(ready, "/readyz never answered 200; log:\n%s" % podman("logs", name).stderr)
            pid = container_pid(name)
            with open("/proc/%d/status" % pid) as f:
                uids = re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()
            with open("/proc/%d/mountinfo" % pid) as f:
                root = [line.split() for line in f if line.split()[4] == "/"][-1]
            stop = podman("stop", "-t", "20", name, timeout=60)
            code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            logs = podman("logs", name).stderr
        self.assertEqual(uids, [str(UID)] * 4, "real, effective, saved and fs uid of the daemon")
        self.assertIn("ro", root[5].split(","), "the root file system is mounted %s" % root[5])
        self.assertEqual((stop.returncode, code), (0, "0"), "the daemon did not stop cleanly: %s\n%s"
                         % (stop.stderr, logs))
        self.assertIn("round", logs, logs)

    def wait_ready(self, port, name, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if requests.get("http://127.0.0.1:%d/readyz" % port, timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            if podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() != "true":
                return False
            time.sleep(0.3)
        return False

    def test_daemon_runs_as_uid_65532_on_a_read_only_root(self):
        self.daemon_on_read_only_root(None)


class BadConfig(ContainerCase):
    def assert_refused(self, p, *named):
        self.assertNotEqual(p.returncode, 0, "accepted: %s %s" % (p.stdout, p.stderr))
        self.assertIn("error:", p.stderr)
        for text in named:
            self.assertIn(text, p.stderr, "the error does not name %r" % text)

    def test_missing_config_names_the_path(self):
        self.assert_refused(IMAGE.run("--network", "none", "--image--", "plan"), CONFIG_IN_IMAGE)

    def test_unknown_key_and_unreadable_token_are_named(self):
        config = readable_file(self.path("unknown.yaml"), config_text("127.0.0.1", 8006, "AB:CD", "  token_secret: x\n")
                               + "  balancyness: 3\n")
        self.assert_refused(IMAGE.run("--network", "none", *self.mounts(config), "--image--", "plan"),
                            "balancing.balancyness")
        # The token file exists on the host but only root may read it: uid 65532 cannot.
        config = readable_file(self.path("token.yaml"), config_text("127.0.0.1", 8006, "AB:CD",
                                                                    "  token_secret_file: %s\n" % TOKEN_IN_IMAGE))
        token = self.path("token_secret")
        with open(token, "w") as f:
            f.write("a-secret-that-must-never-be-printed\n")
        os.chmod(token, stat.S_IRUSR)
        p = IMAGE.run("--network", "none", *self.mounts(config, token), "--image--", "plan")
        self.assert_refused(p, "token_secret_file")
        self.assertNotIn("a-secret-that-must-never-be-printed", p.stdout + p.stderr)

    def test_hostile_environment_override_is_refused_by_name(self):
        config = readable_file(self.path("ok.yaml"), config_text("127.0.0.1", 8006, "AB:CD", "  token_secret: x\n"))
        p = IMAGE.run("--network", "none", *self.mounts(config), "-e", "PROXLB_BALANCING_NO_SUCH_KEY=1", "--image--",
                      "plan")
        self.assert_refused(p, "PROXLB_BALANCING_NO_SUCH_KEY")


class PvesimImage(ContainerCase):
    def test_pvesim_in_the_container_and_proxlb_on_the_host(self):
        name, address, fingerprint = IMAGE.start_pvesim("--image--", "--time-scale", "60")
        with open("/proc/%d/status" % container_pid(name)) as f:
            self.assertRegex(f.read(), r"(?m)^Uid:\s+%d\s" % UID)
        host, port = address.split(":")
        config = readable_file(self.path("host.yaml"), config_text(host, int(port), fingerprint,
                                                                   "  token_secret: %s\n" % DEFAULT_SECRET)
                               + "service:\n  status_socket: ''\n")
        p = subprocess.run([arg("--proxlb"), "-c", config, "--json", "plan"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, "proxlb on the host against pvesim in the container: %s" % p.stderr)
        self.assertGreater(len(json.loads(p.stdout)["moves"]), 0, p.stdout)


def why_lxcri_cannot_run():
    if not os.path.isdir("/sys/fs/cgroup/memory") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "no usable cgroup hierarchy at /sys/fs/cgroup"
    if not os.access(arg("--lxcri"), os.X_OK):
        return "lxcri %s is not built" % arg("--lxcri")
    return None


class WithLxcri(ContainerCase):
    """The same image with lxcri as podman's OCI runtime (podman --runtime PATH)."""

    def setUp(self):
        super().setUp()
        why = why_lxcri_cannot_run()
        if why:
            self.skipTest(why)

    def test_plan(self):
        with Pvesim() as sim:
            config, token = self.sim_config(sim)
            p = IMAGE.run("--network", "host", "--read-only", *self.mounts(config, token), "--image--", "plan",
                          runtime=arg("--lxcri"))
        self.assertEqual(p.returncode, 0, "proxlb plan under lxcri failed: %s" % p.stderr)
        self.assertRegex(p.stdout, r"Plan: \d+ migrations", p.stdout)

    def test_daemon_runs_as_uid_65532_on_a_read_only_root(self):
        Hardened.daemon_on_read_only_root(self, arg("--lxcri"))

    wait_ready = Hardened.wait_ready


def main():
    global IMAGE
    why = why_podman_cannot_run()
    if why:
        print("SKIP: " + why)
        return SKIP
    IMAGE = Image(arg("--source"), arg("--build-dir"))
    try:
        return run_tests(("--source", "--build-dir", "--pvesim", "--proxlb", "--lxcri"))
    finally:
        IMAGE.remove()

if __name__ == "__main__":
    sys.exit(main())
