"""The arm64 programs under qemu-user: each is an aarch64 ELF and answers
--version, and arm64 `proxlb plan` plans against arm64 `pvesim`.

Run by CTest in the arm64 cross build (label arm64):
smoke_test.py --emulator QEMU --lxcri BIN --proxlb BIN --pvesim BIN --lxcri-proxmox BIN --lxcri-systemd BIN
Exits 77 when there is no emulator (qemu-user not installed at configure time).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "sim"))
from pvesim_harness import DEFAULT_SECRET, SKIP, Pvesim  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


EMULATOR = [a for a in arg("--emulator").split(";") if a]
PROGRAMS = {name: arg("--" + name) for name in ("lxcri", "proxlb", "pvesim", "lxcri-proxmox", "lxcri-systemd")}
EM_AARCH64 = 183  # ELF e_machine of AArch64


def elf_machine(path):
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        raise AssertionError("%s is not an ELF file" % path)
    return int.from_bytes(header[18:20], "little")


def run(name, *args, timeout=60):
    return subprocess.run([*EMULATOR, PROGRAMS[name], *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


class Arm64Smoke(unittest.TestCase):
    def test_every_program_is_aarch64(self):
        for name, path in PROGRAMS.items():
            with self.subTest(program=name):
                self.assertEqual(elf_machine(path), EM_AARCH64, "%s (%s) is not an arm64 program" % (name, path))

    def test_version(self):
        # lxcri-proxmox is lxcri with the proxmox backend linked in: same command line.
        for name, says in (("lxcri", "lxcri"), ("proxlb", "proxlb"), ("pvesim", "pvesim"), ("lxcri-proxmox", "lxcri")):
            with self.subTest(program=name):
                p = run(name, "--version")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(says, p.stdout)
                self.assertRegex(p.stdout, r"\d+\.\d+\.\d+")

    def test_systemd_helper_starts(self):
        # lxcri-systemd has no --version: without a call it prints its usage
        # and exits 1, which shows it loads its libraries and runs.
        p = run("lxcri-systemd")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("usage: lxcri-systemd", p.stderr)

    def test_proxlb_plans_against_pvesim(self):
        sim = Pvesim("--time-scale", "120", timeout=120)
        sim.args = [*EMULATOR, PROGRAMS["pvesim"], *sim.args[1:]]
        with sim, tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "proxlb.yaml")
            with open(config, "w") as f:
                f.write("proxmox_api:\n  hosts: ['127.0.0.1:%d']\n  user: root@pam\n  token_id: pvekit\n"
                        "  token_secret: %s\n  ssl_fingerprint: ['%s']\n"
                        "service:\n  status_socket: ''\n" % (sim.port, DEFAULT_SECRET, sim.fingerprint))
            p = run("proxlb", "-c", config, "--json", "plan", timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr)
            plan = json.loads(p.stdout)
            self.assertGreater(len(plan["moves"]), 0, p.stdout)
            self.assertLess(plan["imbalance_after"], plan["imbalance_before"])


if __name__ == "__main__":
    if not EMULATOR:
        print("skip: no qemu-user emulator (qemu-aarch64-static or qemu-aarch64) was found when the arm64 build "
              "was configured; scripts/arm64.sh installs qemu-user-static")
        sys.exit(SKIP)
    del sys.argv[1:]
    unittest.main(verbosity=2)
