"""Every route pvesim serves exists in the PVE 9.1 API schema with the same
method, its parameter names are a subset of the schema's, and each parameter
has the schema's type and, for integers and numbers, its minimum and maximum
(pvesim refuses out-of-range values with them, as PVE does).

usage: schema_test.py --pvesim BIN --schema apischema.json
Exits 77 (skip) when the schema file is missing.
"""
import json
import re
import subprocess
import sys

SKIP = 77
# PVE's limits for indexed parameters ("net[n]" -> net0..net31).
# Limits pvesim adds where the schema has none: it keeps memory and swap in
# bytes as int64 (docs/pvesim.md).
MODEL_LIMITS = {("POST", "/nodes/{node}/lxc", "memory", "maximum"): 8796093022207,
                ("POST", "/nodes/{node}/lxc", "swap", "maximum"): 8796093022207}
INDEX_LIMITS = {"net": 32, "mp": 256, "unused": 256, "dev": 256, "scsi": 31, "sata": 6, "ide": 4, "virtio": 16,
                "hostpci": 16, "usb": 14, "serial": 4, "parallel": 3, "ipconfig": 32, "numa": 8, "virtiofs": 10}


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


def expand(name):
    m = re.fullmatch(r"([a-z_-]+)\[n\]", name)
    if not m:
        return {name}
    return {"%s%d" % (m.group(1), i) for i in range(INDEX_LIMITS.get(m.group(1), 32))}


def schema_index(path):
    with open(path) as f:
        tree = json.load(f)
    index = {}
    props_of = {}

    def walk(node):
        for method, info in (node.get("info") or {}).items():
            props = ((info.get("parameters") or {}).get("properties") or {})
            names = set()
            for p in props:
                names |= expand(p)
            index[(method, node["path"])] = names
            props_of[(method, node["path"])] = props
        for child in node.get("children") or []:
            walk(child)

    for n in tree:
        walk(n)
    return index, props_of


def spec_problems(method, path, name, ours, theirs):
    """How pvesim's spec of a parameter differs from the schema's."""
    problems = []
    if theirs.get("type") and ours["type"] != theirs["type"]:
        problems.append("type %s, schema %s" % (ours["type"], theirs["type"]))
    if ours["type"] in ("integer", "number"):
        for bound in ("minimum", "maximum"):
            want = theirs.get(bound)
            want = MODEL_LIMITS.get((method, path, name, bound), None if want is None else float(want))
            got = ours.get(bound)
            if (None if got is None else float(got)) != (None if want is None else float(want)):
                problems.append("%s %s, schema %s" % (bound, got, theirs.get(bound)))
    return problems


def main():
    schema_path = arg("--schema")
    try:
        index, props_of = schema_index(schema_path)
    except FileNotFoundError:
        print("SKIP: PVE API schema not found at %s" % schema_path)
        return SKIP
    routes = json.loads(subprocess.run([arg("--pvesim"), "--list-routes"], check=True, capture_output=True,
                                       text=True).stdout)
    failures = []
    for r in routes:
        key = (r["method"], r["path"])
        if key not in index:
            failures.append("%s %s: not in the schema" % key)
            continue
        ours = set()
        for p in r["parameters"]:
            ours |= expand(p)
        extra = sorted(ours - index[key])
        if extra:
            failures.append("%s %s: parameters not in the schema: %s" % (key[0], key[1], ", ".join(extra[:10])))
        for name, spec in sorted(r["specs"].items()):
            theirs = props_of[key].get(name)
            for problem in spec_problems(key[0], key[1], name, spec, theirs) if theirs else []:
                failures.append("%s %s: %s: %s" % (key[0], key[1], name, problem))
    print("checked %d routes against %s" % (len(routes), schema_path))
    for f in failures:
        print("FAIL: " + f)
    if len(routes) < 40:
        print("FAIL: only %d routes listed" % len(routes))
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
