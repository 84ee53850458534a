"""The arm64 .deb from this cross build (scripts/package.sh --arch arm64): its
control says arm64 and depends on the arm64 libraries the programs link, lxcri
is a static arm64 executable, and the package installs with dpkg into a
scratch root whose programs run under qemu-user.

package_test.py --source DIR --build-dir DIR --emulator QEMU
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


SOURCE = arg("--source")
BUILD = arg("--build-dir")
EMULATOR = [a for a in arg("--emulator").split(";") if a]


def run(*cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    if p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


class Arm64Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        env = dict(os.environ, PVEKIT_BUILD_DIR=BUILD, PVEKIT_DEB_DIR=cls.tmp.name)
        cls.deb = run("bash", os.path.join(SOURCE, "scripts", "package.sh"), "--arch", "arm64", env=env).splitlines()[-1]
        cls.root = os.path.join(cls.tmp.name, "root")
        admin = os.path.join(cls.root, "var", "lib", "dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        open(os.path.join(admin, "status"), "w").close()
        # The scratch root's dpkg database knows no arm64: its packages are foreign here.
        run("dpkg", "--root=" + cls.root, "--force-not-root", "--force-script-chrootless", "--force-depends",
            "--force-architecture", "--log=" + os.path.join(cls.tmp.name, "dpkg.log"), "--install", cls.deb)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_named_and_labelled_arm64(self):
        self.assertRegex(os.path.basename(self.deb), r"^pvekit_[0-9.]+_arm64\.deb$")
        self.assertEqual(run("dpkg-deb", "--field", self.deb, "Architecture").strip(), "arm64")

    def test_depends_on_the_arm64_libraries(self):
        depends = run("dpkg-deb", "--field", self.deb, "Depends").strip()
        for lib in ("libc6", "libstdc++6", "libcurl4", "libssl3", "libsystemd0"):
            self.assertRegex(depends, r"(^|, )%s \(>= [^)]+\)" % re.escape(lib))
        # Arch-qualified names (libc6:amd64) or the host's libraries would be wrong in an arm64 package.
        self.assertNotIn(":", depends)
        self.assertNotIn("libyaml-cpp", depends)
        self.assertNotIn("libboost", depends)

    def test_lxcri_is_a_static_arm64_executable(self):
        lxcri = os.path.join(self.root, "usr", "bin", "lxcri")
        headers = run("aarch64-linux-gnu-objdump", "-p", lxcri)
        self.assertIn("elf64-littleaarch64", headers)
        self.assertEqual(re.findall(r"(?m)^\s+NEEDED\s+(\S+)$", headers), [], headers)
        self.assertNotIn("INTERP", headers)
        helpers = glob.glob(os.path.join(self.root, "usr", "lib", "**", "pvekit", "lxcri-*"), recursive=True)
        self.assertEqual(sorted(os.path.basename(h) for h in helpers), ["lxcri-proxmox", "lxcri-systemd"])

    def test_installed_programs_run_under_qemu(self):
        for name in ("lxcri", "proxlb", "pvesim"):
            with self.subTest(program=name):
                out = run(*EMULATOR, os.path.join(self.root, "usr", "bin", name), "--version")
                self.assertIn(name, out)


if __name__ == "__main__":
    missing = [t for t in ("dpkg-shlibdeps", "aarch64-linux-gnu-objdump")
               if subprocess.run(["sh", "-c", "command -v " + t], capture_output=True).returncode != 0]
    if missing or not EMULATOR:
        print("skip: %s not found (scripts/arm64.sh installs the cross toolchain, qemu-user-static and dpkg-dev)"
              % ", ".join(missing + ([] if EMULATOR else ["qemu-user"])))
        sys.exit(77)
    del sys.argv[1:]
    unittest.main(verbosity=2)
