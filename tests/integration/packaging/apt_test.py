"""The .deb as a user installs it: `apt install ./pvekit_*.deb` in a minimal
Debian 12 root made by debootstrap, then `apt remove` and `apt purge`.

apt_test.py --source DIR --build-dir DIR

The root (debootstrap --variant=minbase bookworm, from the host's Debian
mirror) is built once and cached in ${PVEKIT_CHROOT_CACHE:-~/.cache/pvekit/
chroot}; each run works on a copy. Checks:
  install  apt pulls every runtime dependency: the programs and lxcri's
           helpers find all their libraries, and run, in the root;
  remove   the programs go, the conffiles stay (dpkg state config-files);
  purge    `apt purge pvekit` and `apt autoremove --purge` leave neither
           pvekit nor a dependency only it needed; apt keeps what something
           else recommends (ca-certificates, which libcurl4 pulled in, is
           recommended by apt itself). Once those are purged too, the root
           is as it was before the install, file for file, apart from apt's
           and dpkg's logs, caches and status.
Skips (77) without root, debootstrap, or a reachable mirror.
"""
import fcntl
import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "vm"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from debian_mirror import host_mirror  # noqa: E402
from pvesim_harness import free_port  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


SOURCE = arg("--source")
BUILD = arg("--build-dir")
SUITE = "bookworm"
CACHE = os.environ.get("PVEKIT_CHROOT_CACHE", os.path.expanduser("~/.cache/pvekit/chroot"))
# A new recipe (suite, variant) is a new cached root.
BASE = os.path.join(CACHE, "%s-minbase-1" % SUITE)
PROGRAMS = ("lxcri", "proxlb", "pvesim")
# apt's and dpkg's records of what they did: they change with every run.
BOOKKEEPING = re.compile(r"^/(var/lib/dpkg/(status|status-old|available)|var/lib/apt/.*|var/cache/.*|var/log/.*|"
                         r"tmp/.*)$")


class Skip(Exception):
    pass


def run(*cmd, check=True, timeout=600):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), p.returncode,
                                                                         p.stdout[-4000:], p.stderr[-4000:]))
    return p


def base_root():
    """The cached minimal root, bootstrapped now when missing (one at a time)."""
    os.makedirs(CACHE, exist_ok=True)
    with open(BASE + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(BASE):
            return BASE
        mirror = os.environ.get("PVEKIT_VM_MIRROR") or host_mirror(SUITE)
        if not mirror:
            raise Skip("no Debian %s mirror in the host's apt sources (set PVEKIT_VM_MIRROR)" % SUITE)
        try:
            urllib.request.urlopen("%s/dists/%s/Release" % (mirror, SUITE), timeout=30).close()
        except OSError as e:
            raise Skip("the Debian mirror %s cannot be reached: %s" % (mirror, e))
        work = tempfile.mkdtemp(prefix=".build-", dir=CACHE)
        try:
            keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
            run("debootstrap", "--variant=minbase", *(["--keyring=" + keyring] if os.path.exists(keyring) else []),
                SUITE, os.path.join(work, "root"), mirror, timeout=1200)
            os.rename(os.path.join(work, "root"), BASE)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return BASE


def snapshot(root):
    """Every path under root: its type, mode, owner, and content or link target."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(directory, name)
            st = os.lstat(full)
            entry = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    entry += (hashlib.sha256(f.read()).hexdigest(),)
            elif stat.S_ISLNK(st.st_mode):
                entry += (os.readlink(full),)
            found[full[len(root):]] = entry
    return found



class AptInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pvekit-apt-")
        env = dict(os.environ, PVEKIT_BUILD_DIR=BUILD, PVEKIT_DEB_DIR=cls.tmp)
        deb = subprocess.run(["bash", os.path.join(SOURCE, "scripts", "package.sh")], env=env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        cls.root = os.path.join(cls.tmp, "root")
        run("cp", "-a", base_root(), cls.root)
        shutil.copy("/etc/resolv.conf", cls.root + "/etc/resolv.conf")
        cls.apt("apt-get", "update")
        cls.packages_before = cls.installed()
        cls.before = snapshot(cls.root)
        cls.deb = "/tmp/" + os.path.basename(deb)
        shutil.copy(deb, cls.root + cls.deb)

    @classmethod
    def tearDownClass(cls):
        run("rm", "-rf", "--one-file-system", cls.tmp)

    @classmethod
    def chroot(cls, *cmd, check=True):
        return run("chroot", cls.root, *cmd, check=check)

    @classmethod
    def apt(cls, *cmd):
        env = "DEBIAN_FRONTEND=noninteractive"
        return cls.chroot("env", env, *cmd, "-y", "-q")

    @classmethod
    def installed(cls):
        out = cls.chroot("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n").stdout
        return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}

    def status(self):
        return self.chroot("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "pvekit", check=False).stdout.strip()

    def test_install_remove_purge(self):
        # `apt install ./file.deb`, as docs/packaging.md tells users.
        self.chroot("env", "DEBIAN_FRONTEND=noninteractive", "sh", "-c", "cd /tmp && apt install -y -q ./" +
                    os.path.basename(self.deb))
        self.assertEqual(self.status(), "ii")
        pulled = self.installed() - self.packages_before - {"pvekit"}
        for package in ("libcurl4", "libssl3"):
            self.assertTrue(package in pulled or package in self.packages_before, (package, sorted(pulled)))
        files = self.chroot("dpkg", "-L", "pvekit").stdout.split()
        binaries = ["/usr/bin/" + p for p in PROGRAMS] + [f for f in files if re.search(r"/pvekit/lxcri-[a-z]+$", f)]
        self.assertEqual(len(binaries), 5, files)
        for binary in binaries:
            ldd = self.chroot("ldd", binary, check=False)
            self.assertNotIn("not found", ldd.stdout + ldd.stderr, binary)
        for program in PROGRAMS:
            self.assertRegex(self.chroot("/usr/bin/" + program, "--version").stdout, r"^%s " % program)

        # pvesim serves from the root, with the libraries apt installed there.
        port = free_port()
        sim = subprocess.Popen(["chroot", self.root, "/usr/bin/pvesim", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if sim.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError("pvesim in the root did not listen: %s" % sim.stderr.read())
                    time.sleep(0.2)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
            sim.stderr.close()

        self.apt("apt", "remove", "pvekit")
        self.assertEqual(self.status(), "rc")
        for program in PROGRAMS:
            self.assertFalse(os.path.exists(self.root + "/usr/bin/" + program), program)
        conffiles = ["/etc/default/pvesim", "/etc/proxlb/proxlb.yaml", "/etc/pvekit/lxcri.json"]
        for conffile in conffiles:
            self.assertTrue(os.path.exists(self.root + conffile), conffile)

        self.apt("apt", "purge", "pvekit")
        self.apt("apt", "autoremove", "--purge")
        self.assertEqual(self.status(), "")
        kept = self.installed() - self.packages_before
        self.assertNotIn("pvekit", kept)
        # Only what something else still recommends stays.
        recommended = set()
        for package in self.installed():
            fields = self.chroot("dpkg-query", "-W", "-f", "${Depends}, ${Recommends}", package).stdout
            recommended.update(re.findall(r"(?:^|[,|]\s*)([a-z0-9][a-z0-9+.-]+)", fields))
        self.assertEqual(sorted(kept - recommended), [], "kept although nothing needs them")
        if kept:
            self.apt("apt", "purge", *sorted(kept))
            self.apt("apt", "autoremove", "--purge")
        after = snapshot(self.root)
        left = sorted(path for path in set(after) | set(self.before)
                      if after.get(path) != self.before.get(path) and not BOOKKEEPING.match(path))
        self.assertEqual(left, [], "left behind or changed by install, remove and purge (then purged: %s)" %
                         sorted(kept))


def main():
    if os.geteuid() != 0:
        print("SKIP: the apt test needs root (debootstrap, chroot)")
        return 77
    for tool in ("debootstrap", "chroot", "dpkg-shlibdeps"):
        if not shutil.which(tool):
            print("SKIP: %s not found (see scripts/setup.sh)" % tool)
            return 77
    try:
        base_root()
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
