#!/usr/bin/env python3
"""packaging/kubernetes/ tested without a Kubernetes cluster:

- Schemas: every manifest validates against the Kubernetes API schemas
  (npm kubernetes-models, pinned by package-lock.json, installed with npm ci
  into --cache), and the pod's security settings are the hardened ones.
- Probes: `proxlb daemon` on the host with the ConfigMap's config (the PVE
  hosts, the token file and the etcd endpoint substituted, the listen port
  kept) answers the Deployment's liveness and readiness paths and the metrics
  Service's path on the ports the manifests name.
- Replicas: the Deployment's two replicas as podman containers of the image
  (scripts/image.sh) as the pod spec runs them (read-only root, emptyDir
  mounts, the Secret's file, uid 65532, no capabilities), with etcd and pvesim
  in containers beside them: exactly one leads and migrates; when its
  container is stopped the other takes over and acts.

usage: kubernetes_test.py --source DIR --build-dir DIR --cache DIR --pvesim BIN --proxlb BIN --scenario FILE

Skips (77) a part with the reason when node/npm, the npm registry, etcd or
podman are missing."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

import requests
import urllib3
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("sim", "proxlb", "container"):
    sys.path.insert(0, os.path.join(HERE, "..", d))
from pvesim_harness import DEFAULT_SECRET, Pvesim, free_port  # noqa: E402
import daemon_test  # noqa: E402  (its TestCases by module, so unittest does not run them here)
from podman_image import (UID, Image, arg, container_ip, container_pid, podman, run_tests,  # noqa: E402
                          why_podman_cannot_run)

MANIFESTS = os.path.join(arg("--source"), "packaging", "kubernetes")
ETCD = "/usr/bin/etcd"


def manifests():
    """{kind: object} of packaging/kubernetes/ (one object of each kind)."""
    objects = {}
    for name in sorted(os.listdir(MANIFESTS)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            with open(os.path.join(MANIFESTS, name)) as f:
                for doc in yaml.safe_load_all(f):
                    objects[doc["kind"]] = doc
    return objects


K8S = manifests()
POD = K8S["Deployment"]["spec"]["template"]["spec"]
CONTAINER = POD["containers"][0]


def container_port(port):
    """A probe's or Service's port (a number, or a name of the container's ports) as a number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in CONTAINER["ports"] if p["name"] == port]
    if not named:
        raise AssertionError("no container port named %r in the Deployment" % port)
    return named[0]


def mount_path(volume):
    return [m["mountPath"] for m in CONTAINER["volumeMounts"] if m["name"] == volume][0]


def configmap_config():
    return yaml.safe_load(K8S["ConfigMap"]["data"]["proxlb.yaml"])


def token_path():
    """Where the pod reads the token: the Secret's volume and its key."""
    volume = [v for v in POD["volumes"] if v.get("secret", {}).get("secretName") == K8S["Secret"]["metadata"]["name"]]
    key = list(K8S["Secret"]["stringData"])[0]
    return os.path.join(mount_path(volume[0]["name"]), key)


def config_for(config, pve_host, fingerprint, etcd_endpoints):
    """The ConfigMap's config pointed at a test cluster and etcd; everything else as shipped."""
    api = config["proxmox_api"]
    api["hosts"] = [pve_host]
    del api["ssl_verification"]
    api["ssl_fingerprint"] = [fingerprint]
    api["user"], api["token_id"] = "root@pam", "pvekit"
    config["service"]["leader_election"]["etcd"]["endpoints"] = etcd_endpoints
    return config


class Schemas(unittest.TestCase):
    def test_every_manifest_validates_against_the_kubernetes_schemas(self):
        for tool in ("node", "npm"):
            if not shutil.which(tool):
                self.skipTest("%s is not installed (scripts/setup.sh installs nodejs and npm)" % tool)
        cache = arg("--cache")
        os.makedirs(cache, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(HERE, name), cache)
        # npm ci takes the locked versions and checks their integrity; ~/.npm caches them.
        p = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=cache,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            self.skipTest("npm ci failed (registry unreachable?): %s" % p.stderr.strip()[-300:])
        p = subprocess.run(["node", os.path.join(HERE, "validate_manifests.mjs"), cache, MANIFESTS],
                           capture_output=True, text=True, timeout=120)
        print(p.stdout, end="")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("valid: "), len(K8S), p.stdout)

    def test_pod_security_and_resources(self):
        # kubernetes-models does not reject unknown fields: a misspelt key would pass it silently.
        pod, sc = POD["securityContext"], CONTAINER["securityContext"]
        self.assertEqual((pod["runAsNonRoot"], pod["runAsUser"], pod["seccompProfile"]["type"]),
                         (True, UID, "RuntimeDefault"))
        self.assertEqual((sc["runAsNonRoot"], sc["readOnlyRootFilesystem"], sc["allowPrivilegeEscalation"],
                          sc["capabilities"]["drop"]), (True, True, False, ["ALL"]))
        self.assertFalse(POD["automountServiceAccountToken"])
        for kind in ("requests", "limits"):
            self.assertEqual(set(CONTAINER["resources"][kind]), {"cpu", "memory"})
        self.assertGreaterEqual(K8S["Deployment"]["spec"]["replicas"], 2)
        self.assertEqual(configmap_config()["service"]["leader_election"]["mode"], "etcd")
        self.assertEqual(configmap_config()["proxmox_api"]["token_secret_file"], token_path())
        annotations = K8S["Service"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        # The image's tag is this tree's version (scripts/image.sh's default).
        with open(os.path.join(arg("--build-dir"), "CMakeCache.txt")) as f:
            version = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.*)$", f.read(), re.M).group(1)
        self.assertEqual(CONTAINER["image"], "localhost/pvekit:" + version)
        with open(os.path.join(MANIFESTS, "kustomization.yaml")) as f:
            self.assertEqual(yaml.safe_load(f)["images"], [{"name": "localhost/pvekit", "newTag": version}])


def probe_targets():
    """(what, path, port) of every HTTP endpoint the manifests point at."""
    service = K8S["Service"]
    annotations = service["metadata"]["annotations"]
    targets = [("livenessProbe", CONTAINER["livenessProbe"]["httpGet"]["path"],
                container_port(CONTAINER["livenessProbe"]["httpGet"]["port"])),
               ("readinessProbe", CONTAINER["readinessProbe"]["httpGet"]["path"],
                container_port(CONTAINER["readinessProbe"]["httpGet"]["port"])),
               ("metrics Service", annotations["prometheus.io/path"],
                container_port(service["spec"]["ports"][0]["targetPort"]))]
    if int(annotations["prometheus.io/port"]) != targets[-1][2]:
        raise AssertionError("prometheus.io/port %s is not the Service's target port %d"
                             % (annotations["prometheus.io/port"], targets[-1][2]))
    return targets


class Probes(daemon_test.DaemonCase):
    ETCD = ETCD
    start_etcd = daemon_test.LeaderElection.start_etcd

    def test_probes_and_metrics_answer_where_the_manifests_point(self):
        if not os.access(ETCD, os.X_OK):
            self.skipTest("etcd is not installed (apt-get install etcd-server)")
        endpoints = self.start_etcd()
        config = config_for(configmap_config(), "127.0.0.1:%d" % self.sim.port, self.sim.fingerprint, endpoints)
        service = config["service"]
        host, port = service["listen"].rsplit(":", 1)
        self.assertEqual(host, "0.0.0.0", "the pod serves on all its addresses")
        # The manifests point every probe and the Service at the ConfigMap's port.
        for what, path, target in probe_targets():
            self.assertEqual(str(target), port, "%s: the probes' port is the one the daemon listens on" % what)
        # On this host on loopback, at a free port (another daemon may hold the ConfigMap's).
        local_port = free_port()
        service["listen"] = "127.0.0.1:%d" % local_port
        service["status_socket"] = os.path.join(self.tmp.name, "status.sock")
        service["audit_log"] = os.path.join(self.tmp.name, "audit.jsonl")
        token = os.path.join(self.tmp.name, "token_secret")
        with open(token, "w") as f:
            f.write(DEFAULT_SECRET + "\n")
        config["proxmox_api"]["token_secret_file"] = token
        with open(self.config, "w") as f:
            yaml.safe_dump(config, f)
        daemon = self.daemon()
        daemon.expect("round:", timeout=60)
        for what, path, target in probe_targets():
            r = None
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    r = requests.get("http://127.0.0.1:%d%s" % (local_port, path), timeout=5)
                    if r.status_code == 200:
                        break
                except requests.RequestException as e:
                    r = e
                time.sleep(0.3)
            self.assertEqual(getattr(r, "status_code", r), 200, "%s %s on port %d: %s" % (what, path, target, r))
            if what == "metrics Service":
                self.assertIn("proxlb_leader", r.text)
        self.assertEqual(str(target), port, "the probes' port is the one the daemon listens on")


class Replicas(unittest.TestCase):
    """The Deployment's replicas, etcd and pvesim as podman containers of one bridge network."""

    def setUp(self):
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        why = why_podman_cannot_run()
        if why:
            self.skipTest(why)
        if not os.access(ETCD, os.X_OK):
            self.skipTest("etcd is not installed (apt-get install etcd-server)")
        self.image = Image(arg("--source"), arg("--build-dir"))
        self.addCleanup(self.image.remove)
        self.tmp = tempfile.mkdtemp(prefix="pvekit-k8s-it.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def start_peers(self):
        """etcd (the host's binary in the image) and pvesim on the podman network: their addresses."""
        etcd = self.image.start("etcd", "--user", "0:0", "--tmpfs", "/data", "-v", "%s:/usr/local/bin/etcd:ro" % ETCD,
                                "--entrypoint", "/usr/local/bin/etcd", "--image--", "--data-dir", "/data",
                                "--listen-client-urls", "http://0.0.0.0:2379",
                                "--advertise-client-urls", "http://127.0.0.1:2379")
        with open(arg("--scenario")) as f:
            scenario = self.file("scenario.yaml", f.read())
        _, pve, fingerprint = self.image.start_pvesim("-v", "%s:/scenario.yaml:ro" % scenario, "--image--",
                                                       "--time-scale", "60", "--scenario", "/scenario.yaml")
        etcd_url = "http://%s:2379" % container_ip(etcd)
        deadline = time.time() + 30
        while not self.healthy(etcd_url):
            if time.time() > deadline:
                self.fail("etcd in its container did not become healthy: %s" % podman("logs", etcd).stderr[-1000:])
            time.sleep(0.2)
        self.sim_root = "https://" + pve
        self.sim_session = Pvesim.session()  # pvesim's self-signed certificate is not checked
        self.addCleanup(self.sim_session.close)
        return pve, fingerprint, etcd_url

    @staticmethod
    def healthy(etcd_url):
        try:
            return requests.get(etcd_url + "/health", timeout=1).json().get("health") == "true"
        except (requests.RequestException, ValueError):
            return False

    def replica_args(self, config, token):
        """podman's options for one pod of the Deployment, from its pod spec."""
        sc = CONTAINER["securityContext"]
        args = ["--user", "%d:%d" % (sc["runAsUser"], sc["runAsGroup"]), "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges"]
        if sc["readOnlyRootFilesystem"]:
            args.append("--read-only")
        for m in CONTAINER["volumeMounts"]:
            volume = [v for v in POD["volumes"] if v["name"] == m["name"]][0]
            if "configMap" in volume:
                args += ["-v", "%s:%s/proxlb.yaml:ro" % (config, m["mountPath"])]
            elif "secret" in volume:
                args += ["-v", "%s:%s:ro" % (token, token_path())]
            else:  # an emptyDir: a host directory, empty, mode 0777, as the kubelet makes it
                empty = tempfile.mkdtemp(dir=self.tmp)
                os.chmod(empty, 0o777)
                args += ["-v", "%s:%s" % (empty, m["mountPath"])]
        # Rounds every second instead of every 10 minutes: the test's only change to the command.
        return args + ["--image--", *CONTAINER["args"], "--interval", "1"]

    def status(self, name):
        port = container_port(CONTAINER["readinessProbe"]["httpGet"]["port"])
        try:
            return requests.get("http://%s:%d/status" % (container_ip(name), port), timeout=2).json()
        except (requests.RequestException, ValueError):
            return {}

    def migrations_started(self, name):
        port = container_port(K8S["Service"]["spec"]["ports"][0]["targetPort"])
        text = requests.get("http://%s:%d/metrics" % (container_ip(name), port), timeout=5).text
        return sum(float(v) for v in re.findall(r"^proxlb_migrations_started_total\{[^}]*\} (\S+)$", text, re.M))

    def leaders(self, names, seconds):
        """The replicas that report leading, once every one has run a round (within `seconds`)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            states = {n: self.status(n) for n in names}
            if all(s.get("rounds") for s in states.values()):
                return [n for n, s in states.items() if s.get("leader")]
            time.sleep(0.5)
        self.fail("not every replica ran a round: %s" % {n: podman("logs", n).stderr[-500:] for n in names})

    def shift_load(self, mem):
        for vmid in (101, 102, 103, 104):
            r = self.sim_session.post(self.sim_root + "/_sim/guest/%d/load" % vmid, data={"mem": mem}, timeout=10)
            r.raise_for_status()

    def test_exactly_one_replica_acts_and_the_other_takes_over(self):
        started = time.time()
        pve, fingerprint, etcd_url = self.start_peers()
        config = config_for(configmap_config(), pve, fingerprint, [etcd_url])
        # A short lease bounds the test's waits should a stopped leader not resign.
        config["service"]["leader_election"]["etcd"]["lease_ttl"] = 3
        config_file = self.file("proxlb.yaml", yaml.safe_dump(config))
        token = self.file("token_secret", DEFAULT_SECRET + "\n")
        replicas = [self.image.start("replica-%d" % i, *self.replica_args(config_file, token))
                    for i in range(K8S["Deployment"]["spec"]["replicas"])]
        leaders = self.leaders(replicas, 60)
        self.assertEqual(len(leaders), 1, "exactly one replica leads: %s" % leaders)
        leader = leaders[0]
        # The standby is ready too: the Service keeps scraping it and a rollout goes on.
        ready_path = CONTAINER["readinessProbe"]["httpGet"]["path"]
        port = container_port(CONTAINER["readinessProbe"]["httpGet"]["port"])
        for name in replicas:
            r = requests.get("http://%s:%d%s" % (container_ip(name), port, ready_path), timeout=5)
            self.assertEqual(r.status_code, 200, "%s %s: %s" % (name, ready_path, r.text))
        for name in replicas:
            with open("/proc/%d/status" % container_pid(name)) as f:
                self.assertRegex(f.read(), r"(?m)^Uid:\s+%d\s" % UID)

        self.shift_load(1.0)
        deadline = time.time() + 60
        while time.time() < deadline and not self.migrations_started(leader):
            time.sleep(0.5)
        acted = {n: self.migrations_started(n) for n in replicas}
        self.assertGreater(acted[leader], 0, "the leader did not balance: %s" % podman("logs", leader).stderr[-2000:])
        self.assertEqual([n for n in replicas if acted[n] and n != leader], [], "only the leader migrates: %s" % acted)

        stop = podman("stop", "-t", "60", leader, timeout=90)
        self.assertEqual(stop.returncode, 0, stop.stderr)
        stopped = time.time()
        rest = [n for n in replicas if n != leader]
        deadline = time.time() + 30
        while time.time() < deadline and not any(self.status(n).get("leader") for n in rest):
            time.sleep(0.3)
        took_over = [n for n in rest if self.status(n).get("leader")]
        self.assertEqual(len(took_over), 1, "one replica took over: %s" % {n: self.status(n) for n in rest})
        print("\nleader stopped: replica %s led after %.1f s" % (took_over[0], time.time() - stopped))
        self.shift_load(0.1)
        deadline = time.time() + 60
        while time.time() < deadline and not self.migrations_started(took_over[0]):
            time.sleep(0.5)
        self.assertGreater(self.migrations_started(took_over[0]), 0, "the new leader did not act: %s"
                           % podman("logs", took_over[0]).stderr[-2000:])
        print("replicas test: %.1f s (image built in %.1f s)" % (time.time() - started, self.image.build_seconds))


if __name__ == "__main__":
    sys.exit(run_tests(("--source", "--build-dir", "--cache", "--pvesim", "--proxlb", "--scenario")))
