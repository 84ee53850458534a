"""Prints the first `deb` source of the host's apt configuration that serves
SUITE/main (deb822 .sources or one-line .list files), for debootstrap.

debian_mirror.py SUITE      exit 1 (and no output) when there is none

The VM image (build-image.sh) and the apt install test (tests/integration/
packaging/apt_test.py) bootstrap their Debian roots from it.
"""
import glob
import sys


def host_mirror(suite):
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in open(path).read().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.split()
            if ("deb" in fields.get("types", []) and suite in fields.get("suites", [])
                    and "main" in fields.get("components", []) and fields.get("uris")):
                return fields["uris"][0]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = [w for w in line.split() if not w.startswith("[")] if not line.startswith("#") else []
            if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
                return words[1]
    return None


if __name__ == "__main__":
    mirror = host_mirror(sys.argv[1])
    if mirror is None:
        sys.exit(1)
    print(mirror)
