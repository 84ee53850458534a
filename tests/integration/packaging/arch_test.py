"""scripts/package.sh --arch: unknown, missing or hostile values are refused,
and a build tree is never packaged under another architecture's name (the
programs' ELF machine is checked). Nothing is built; no .deb is written.

arch_test.py --source DIR --build-dir DIR   (DIR: a built tree of this machine's architecture)
"""
import os
import subprocess
import sys
import tempfile
import unittest


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


SOURCE = arg("--source")
BUILD = arg("--build-dir")
HOST = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


class PackageArch(unittest.TestCase):
    def package(self, *args):
        with tempfile.TemporaryDirectory() as out:
            env = dict(os.environ, PVEKIT_BUILD_DIR=BUILD, PVEKIT_DEB_DIR=out)
            p = subprocess.run(["bash", os.path.join(SOURCE, "scripts", "package.sh"), *args], env=env,
                               capture_output=True, text=True, timeout=120, cwd=out)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertEqual(os.listdir(out), [], "nothing may be written")
            return p.stderr

    def test_a_tree_of_another_architecture_is_refused(self):
        other, machine = ("arm64", "183") if HOST != "arm64" else ("amd64", "62")
        err = self.package("--arch", other)
        self.assertIn("is not an %s program" % other, err)
        self.assertIn("want %s" % machine, err)

    def test_unknown_and_missing_architectures_are_refused(self):
        self.assertIn("--arch sparc: only amd64 and arm64 are supported", self.package("--arch", "sparc"))
        self.assertIn("--arch needs an architecture", self.package("--arch"))
        self.assertIn("unknown argument '--archs'", self.package("--archs", "arm64"))

    def test_a_hostile_architecture_runs_nothing(self):
        # package() runs the script in an empty directory and checks it stays empty.
        for hostile in ("arm64; touch pwned", "$(touch pwned)", "arm64\ntouch pwned", "../../arm64"):
            with self.subTest(arch=hostile):
                self.assertIn("only amd64 and arm64 are supported", self.package("--arch", hostile))

if __name__ == "__main__":
    if subprocess.run(["sh", "-c", "command -v dpkg-shlibdeps"], capture_output=True).returncode != 0:
        print("SKIP: dpkg-shlibdeps not found (Debian package dpkg-dev; see scripts/setup.sh)")
        sys.exit(77)
    del sys.argv[1:]
    unittest.main(verbosity=2)
