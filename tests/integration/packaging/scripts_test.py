"""The newcomer's scripts (scripts/demo.sh, scripts/test.sh) report their
phases plainly under CI=true: the build counter from scripts/lib/progress.sh
is tested with a stand-in cmake that prints what ninja prints, and a second
run of scripts/setup.sh (--check) must find everything it installs.

scripts_test.py --source DIR
"""
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = sys.argv[sys.argv.index("--source") + 1]
PROGRESS = os.path.join(SOURCE, "scripts", "lib", "progress.sh")

FAKE_CMAKE = """#!/bin/sh
# A stand-in for `cmake --build`: ninja's status lines, a warning, an exit status.
i=1
while [ $i -le 40 ]; do
  echo "[$i/40] Building CXX object src/x$i.cpp.o"
  [ $i = 17 ] && echo "src/x17.cpp:3:1: warning: something the user must see"
  i=$((i + 1))
done
exit ${FAKE_STATUS:-0}
"""


def run_progress(script, env_extra):
    with tempfile.TemporaryDirectory() as tmp:
        fake = os.path.join(tmp, "cmake")
        with open(fake, "w") as f:
            f.write(FAKE_CMAKE)
        os.chmod(fake, 0o755)
        env = dict(os.environ, PATH=tmp + ":" + os.environ["PATH"], **env_extra)
        return subprocess.run(["bash", "-c", "source %s; %s" % (PROGRESS, script)],
                              env=env, capture_output=True, text=True, timeout=60)


class BuildProgress(unittest.TestCase):
    def test_ci_log_is_plain_with_a_line_per_tenth(self):
        r = run_progress("build_with_progress --preset default", {"CI": "true"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("\r", r.stdout)
        self.assertNotIn("\033", r.stdout)
        counters = [l for l in r.stdout.splitlines() if l.strip().startswith("building:")]
        self.assertEqual(counters[0].strip(), "building: 1/40 (2%)")
        self.assertEqual(counters[-1].strip(), "building: 40/40 (100%)")
        self.assertLessEqual(len(counters), 12, r.stdout)
        self.assertNotIn("Building CXX object", r.stdout)
        self.assertIn("src/x17.cpp:3:1: warning: something the user must see", r.stdout.splitlines())

    def test_the_build_status_is_returned(self):
        r = run_progress("build_with_progress --preset default; echo status=$?", {"CI": "true", "FAKE_STATUS": "3"})
        self.assertIn("status=3", r.stdout)

    def test_a_failed_build_stops_a_script_under_errexit(self):
        # scripts/test.sh runs with `set -euo pipefail`: a failed build must end it there, not go on to ctest.
        r = run_progress("set -euo pipefail; build_with_progress --preset default; echo went on",
                         {"CI": "true", "FAKE_STATUS": "3"})
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertNotIn("went on", r.stdout)

    def test_phases_are_timed_in_the_summary(self):
        r = run_progress('phase "one" "a hint"; phase "two"; phase_summary "all done"', {"CI": "true"})
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "==> one (a hint)")
        self.assertEqual(lines[1], "==> two")
        self.assertEqual(lines[2], "==> all done")
        self.assertRegex(lines[3], r"^  one +\d+ s$")
        self.assertRegex(lines[4], r"^  two +\d+ s$")
        self.assertRegex(lines[5], r"^  total +\d+ s$")


class SecondRun(unittest.TestCase):
    def test_setup_finds_everything_it_installed(self):
        # scripts/test.sh ran setup.sh before the tests: a second run has nothing to install.
        r = subprocess.run(["bash", os.path.join(SOURCE, "scripts", "setup.sh"), "--check"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"^setup: all \d+ build and \d+ test packages present$")

    def test_demo_refuses_unknown_arguments_by_name(self):
        r = subprocess.run(["bash", os.path.join(SOURCE, "scripts", "demo.sh"), "--bogus"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("'--bogus'", r.stderr)


if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    unittest.main(verbosity=2)
