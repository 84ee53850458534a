"""Builds the .deb with scripts/package.sh from an existing build tree, installs
it with dpkg into a scratch root and runs the installed programs.

install_test.py --source DIR --build-dir DIR

pvesim starts from the scratch root on a free port and answers /version;
proxlb (with the shipped default config, pointed at that pvesim) prints the
cluster; lxcri writes a spec and lists containers. Then the package is removed
and purged again. Nothing is installed on the machine itself.
"""
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from pvesim_harness import DEFAULT_SECRET, DEFAULT_TOKEN, Pvesim  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


SOURCE = arg("--source")
BUILD = arg("--build-dir")
PROGRAMS = ("lxcri", "proxlb", "pvesim")
SHIPPED = [
    "/usr/bin/lxcri", "/usr/bin/proxlb", "/usr/bin/pvesim",
    "/usr/share/man/man1/lxcri.1.gz", "/usr/share/man/man1/proxlb.1.gz", "/usr/share/man/man1/pvesim.1.gz",
    "/usr/share/bash-completion/completions/lxcri", "/usr/share/bash-completion/completions/proxlb",
    "/usr/share/bash-completion/completions/pvesim",
    "/lib/systemd/system/pvesim.service", "/lib/systemd/system/proxlb.service",
]
CONFFILES = ["/etc/default/pvesim", "/etc/proxlb/proxlb.yaml", "/etc/pvekit/lxcri.json"]
DOCS = ["/usr/share/doc/pvekit/changelog.gz", "/usr/share/doc/pvekit/copyright", "/usr/share/lintian/overrides/pvekit"]
UNITS = ("pvesim.service", "proxlb.service")
ENABLED = ["/etc/systemd/system/multi-user.target.wants/" + unit for unit in UNITS]
# lintian's informational tags the package keeps, each justified in
# docs/packaging.md ("lintian"). Errors and warnings: none, except the two
# overridden in packaging/debian/lintian-overrides.
ACCEPTED_INFO_TAGS = {
    "package-supports-alternative-init-but-no-init.d-script",
    "spelling-error-in-binary",
}


def run(*cmd, env=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        env = dict(os.environ, PVEKIT_BUILD_DIR=BUILD, PVEKIT_DEB_DIR=cls.tmp.name)
        out = run("bash", os.path.join(SOURCE, "scripts", "package.sh"), env=env).stdout
        cls.deb = out.strip().splitlines()[-1]
        cls.version = re.search(r"_([^_]+)_[^_]+\.deb$", cls.deb).group(1)
        cls.root = os.path.join(cls.tmp.name, "root")
        admin = os.path.join(cls.root, "var", "lib", "dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        open(os.path.join(admin, "status"), "w").close()
        # Maintainer scripts run outside the chroot with DPKG_ROOT set, so
        # they must (and are checked to) leave the running system alone.
        cls.dpkg = ["dpkg", "--root=" + cls.root, "--force-not-root", "--force-script-chrootless",
                    "--force-depends", "--log=" + os.path.join(cls.tmp.name, "dpkg.log")]
        run(*cls.dpkg, "--install", cls.deb)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, installed):
        return self.root + installed

    def helper(self, name):
        # lib/pvekit, or lib/<multiarch>/pvekit when configured with --prefix /usr.
        found = glob.glob(self.path("/usr/lib/**/pvekit/" + name), recursive=True)
        self.assertEqual(len(found), 1, found)
        return found[0]

    def test_control_names_the_package_and_its_libraries(self):
        info = run("dpkg-deb", "--field", self.deb).stdout
        self.assertRegex(info, r"(?m)^Package: pvekit$")
        self.assertRegex(info, r"(?m)^Architecture: %s$" % run("dpkg", "--print-architecture").stdout.strip())
        depends = re.search(r"(?m)^Depends: (.*)$", info).group(1)
        for lib in ("libc6", "libstdc++6", "libcurl4", "libssl3", "libsystemd0"):
            self.assertIn(lib, depends)
        # yaml-cpp is linked in everywhere, lxcri's helpers included (executables, not shared objects).
        self.assertNotIn("libyaml-cpp", depends)
        # The HTTP server (Boost.Beast/Asio) is header-only: no Boost library at run time.
        self.assertNotIn("libboost", depends)

    def test_lxcri_is_static_and_its_helpers_are_executable(self):
        # lxcri runs once per podman or containerd call: it loads no shared
        # library at all (README, bench/lxcri); its helpers link what it does not.
        lxcri = self.path("/usr/bin/lxcri")
        dynamic = run("objdump", "-p", lxcri).stdout
        self.assertEqual(re.findall(r"(?m)^\s+NEEDED\s+(\S+)$", dynamic), [], dynamic)
        self.assertNotIn("INTERP", dynamic)
        self.assertEqual(run(lxcri, "--version").returncode, 0)
        for name, lib in (("lxcri-proxmox", "libcurl"), ("lxcri-systemd", "libsystemd")):
            helper = self.helper(name)
            self.assertTrue(os.access(helper, os.X_OK), helper)
            needed = re.findall(r"(?m)^\s+NEEDED\s+(\S+)$", run("objdump", "-p", helper).stdout)
            self.assertTrue(any(n.startswith(lib) for n in needed), (name, needed))

    def test_contents_and_conffiles(self):
        listed = {re.sub(r"^\.", "", line.split()[-1]) for line in run("dpkg-deb", "--contents", self.deb).stdout.splitlines()}
        for f in SHIPPED + CONFFILES + DOCS:
            self.assertIn(f, listed)
        for helper in ("lxcri-proxmox", "lxcri-systemd"):
            self.assertTrue(any(re.fullmatch(r"/usr/lib/(.+/)?pvekit/%s" % helper, f) for f in listed), listed)
        conffiles = run("dpkg-deb", "--info", self.deb, "conffiles").stdout.split()
        self.assertEqual(sorted(conffiles), sorted(CONFFILES))

    def test_installed_by_dpkg(self):
        status = run(*self.dpkg, "--status", "pvekit").stdout
        self.assertIn("Status: install ok installed", status)
        for f in SHIPPED + CONFFILES + DOCS:
            self.assertTrue(os.path.isfile(self.path(f)), f)
        # Every shipped file as the md5sums control file says.
        self.assertEqual(run(*self.dpkg, "--verify", "pvekit").stdout, "")
        # proxlb.yaml may hold the API password: not world-readable.
        self.assertEqual(os.stat(self.path("/etc/proxlb/proxlb.yaml")).st_mode & 0o777, 0o640)
        for binary in [self.path("/usr/bin/" + program) for program in PROGRAMS] + [
                self.helper("lxcri-proxmox"), self.helper("lxcri-systemd")]:
            sections = run("readelf", "--section-headers", binary).stdout
            self.assertNotIn(".debug_info", sections, binary + " is not stripped")

    def test_version(self):
        for program in PROGRAMS:
            out = run(self.path("/usr/bin/" + program), "--version").stdout
            self.assertRegex(out, r"^%s (version:? )?%s\b" % (program, re.escape(self.version)))

    def test_man_pages_render(self):
        if not shutil.which("man"):
            self.skipTest("man not found (Debian package man-db)")
        for program in PROGRAMS:
            page = run("man", "-l", self.path("/usr/share/man/man1/%s.1.gz" % program),
                       env=dict(os.environ, MANPAGER="cat", MANWIDTH="80")).stdout
            self.assertIn(program, page)
            self.assertIn("SYNOPSIS", page)

    def test_units_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not found")
        units = [self.path("/lib/systemd/system/" + u) for u in ("pvesim.service", "proxlb.service")]
        # verify checks ExecStart= on this machine, where pvekit need not be
        # installed; that complaint is the only one allowed.
        p = run("systemd-analyze", "verify", "--man=no", *units, check=False)
        absent = re.compile(r"^(pvesim|proxlb)\.service: Command /usr/bin/\1 is not executable: No such file")
        problems = [line for line in p.stderr.splitlines()
                    if not (absent.match(line) and not os.path.exists("/usr/bin/" + absent.match(line).group(1)))]
        self.assertEqual(problems, [], p.stderr)

    def test_lintian_finds_no_error_or_warning(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian not found (Debian package lintian; see scripts/setup.sh)")
        p = run("lintian", "--display-info", "--show-overrides", "--no-tag-display-limit", self.deb, check=False)
        tags = [line for line in p.stdout.splitlines() if re.match(r"^[EWIXO]: ", line)]
        unexpected = [line for line in tags if line[0] in "EWX" or (
            line.startswith("I: ") and line.split()[2] not in ACCEPTED_INFO_TAGS)]
        self.assertEqual(unexpected, [], "\n".join(tags))
        self.assertIn(p.returncode, (0, 2), p.stderr)
        # The overrides are the two known ones, and both still match.
        overridden = sorted(line.split()[2] for line in tags if line.startswith("O: "))
        self.assertEqual(overridden, ["non-standard-file-perm", "shared-library-lacks-prerequisites"], "\n".join(tags))

    def test_changelog_and_copyright(self):
        with gzip.open(self.path("/usr/share/doc/pvekit/changelog.gz"), "rt") as f:
            first = f.readline()
        self.assertTrue(first.startswith("pvekit (%s) " % self.version), first)
        info = run("dpkg-deb", "--field", self.deb, "Maintainer", "Built-Using").stdout
        self.assertNotIn("localhost", info)
        # lxcri links glibc statically, every program libseccomp, libcap and yaml-cpp.
        for source in ("glibc", "libseccomp", "libcap2", "yaml-cpp", "gcc-12"):
            self.assertRegex(info, r"Built-Using:.*\b%s \(= [^)]+\)" % re.escape(source))
        with open(self.path("/usr/share/doc/pvekit/copyright")) as f:
            copyright_file = f.read()
        self.assertTrue(copyright_file.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"))
        # The dashboard's embedded uPlot keeps its licence notice.
        self.assertIn("Leon Sorokin", copyright_file)

    def test_units_enable(self):
        # What `systemctl enable` does on a host, done on the scratch root;
        # the purge below must take the links away again.
        if not shutil.which("systemctl"):
            self.skipTest("systemctl not found")
        run("systemctl", "--root=" + self.root, "enable", *UNITS)
        for link in ENABLED:
            self.assertTrue(os.path.islink(self.path(link)), link)

    def test_pvesim_proxlb_and_lxcri_smoke(self):
        os.environ["PVESIM"] = self.path("/usr/bin/pvesim")
        with Pvesim() as sim:
            r = sim.token_session().get(sim.base + "/version", timeout=10)
            r.raise_for_status()
            self.assertIn("version", r.json()["data"])
            # The shipped config, pointed at the simulator: its every key loads.
            secret = os.path.join(self.tmp.name, "token_secret")
            with open(secret, "w") as f:
                f.write(DEFAULT_SECRET + "\n")
            status = run(self.path("/usr/bin/proxlb"), "-c", self.path("/etc/proxlb/proxlb.yaml"), "--json",
                         "--set", "proxmox_api.hosts=127.0.0.1:%d" % sim.port, "proxmox_api.token_id=pvekit",
                         "proxmox_api.token_secret_file=" + secret, "proxmox_api.ssl_fingerprint=" + sim.fingerprint,
                         "status").stdout
            self.assertEqual(len(json.loads(status)["nodes"]), 5)

        lxcri = self.path("/usr/bin/lxcri")
        bundle, state = os.path.join(self.tmp.name, "bundle"), os.path.join(self.tmp.name, "state")
        os.makedirs(bundle)
        run(lxcri, "spec", "--bundle", bundle)
        with open(os.path.join(bundle, "config.json")) as f:
            self.assertIn("ociVersion", json.load(f))
        self.assertRegex(run(lxcri, "--root", state, "list").stdout, r"^ID +PID +STATUS")
        self.assertEqual(run(lxcri, "--root", state, "list", "--quiet").stdout, "")
        # The shipped config loads, and is where its values come from.
        shipped = self.path("/etc/pvekit/lxcri.json")
        report = json.loads(run(lxcri, "--config", shipped, "--root", state, "config").stdout)
        self.assertEqual(report["default_backend"]["source"], shipped)

    def test_lxcri_hands_over_to_its_installed_proxmox_helper(self):
        # A proxmox command (recovering a container lost from --root asks the
        # cluster) goes through the helper; the cluster here is a closed port.
        state = os.path.join(self.tmp.name, "pve-state")
        config = os.path.join(self.tmp.name, "lxcri-pve.json")
        with open(config, "w") as f:
            json.dump({"proxmox_api": {"hosts": ["127.0.0.1:1"], "token_id": DEFAULT_TOKEN,
                                       "token_secret": DEFAULT_SECRET, "retries": 1}}, f)
        lxcri = [self.path("/usr/bin/lxcri"), "--config", config, "--root", state, "state", "lost"]
        p = run(*lxcri, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("looking for container lost in the Proxmox cluster", p.stderr)
        self.assertNotIn("could not be run", p.stderr)
        # Without the installed helper it is that one (not the build tree's) that is missing.
        helper = self.helper("lxcri-proxmox")
        os.rename(helper, helper + ".away")
        try:
            p = run(*lxcri, check=False)
        finally:
            os.rename(helper + ".away", helper)
        self.assertIn("the proxmox backend helper %s could not be run" % helper, p.stderr)

    def test_zz_remove_keeps_conffiles_and_purge_drops_them(self):
        # Runs last (unittest sorts by name): the other tests use the install.
        run(*self.dpkg, "--remove", "pvekit")
        for f in SHIPPED:
            self.assertFalse(os.path.exists(self.path(f)), f)
        self.assertEqual(glob.glob(self.path("/usr/lib/**/lxcri-proxmox"), recursive=True), [])
        for f in CONFFILES:
            self.assertTrue(os.path.exists(self.path(f)), f)
        run(*self.dpkg, "--purge", "pvekit")
        for f in CONFFILES + DOCS + ENABLED:
            self.assertFalse(os.path.lexists(self.path(f)), f)


def main():
    for tool in ("dpkg", "dpkg-deb", "dpkg-shlibdeps", "readelf"):
        if not shutil.which(tool):
            print("SKIP: %s not found (Debian packages dpkg-dev, binutils; see scripts/setup.sh)" % tool)
            return 77
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
