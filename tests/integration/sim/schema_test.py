"""Every route pvesim serves exists in the PVE 9.1 API schema with the same
method, its parameter names are a subset of the schema's, and each parameter
has the schema's type and, for integers and numbers, its minimum and maximum
(pvesim refuses out-of-range values with them, as PVE does).

usage: schema_test.py --pvesim BIN --schema apischema.json[.xz]
The schema is kept in the repository (tests/data/pve-api/, xz-compressed).
"""
import json
import lzma
import os
import re
import subprocess
import sys
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


def load_schema(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def schema_index(tree):
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


def returns_of(tree):
    """(method, path) -> the schema's `returns` block."""
    out = {}

    def walk(node):
        for method, info in (node.get("info") or {}).items():
            out[(method, node["path"])] = info.get("returns") or {}
        for child in node.get("children") or []:
            walk(child)

    for n in tree:
        walk(n)
    return out


def type_problem(value, schema):
    """Why `value` is not of the schema's type (None when it is). PVE renders
    booleans as 0/1."""
    want = schema.get("type")
    if isinstance(want, list) or want in (None, "any"):
        return None
    ok = {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "string": lambda v: isinstance(v, str),
          "boolean": lambda v: v in (0, 1),
          "object": lambda v: isinstance(v, dict),
          "array": lambda v: isinstance(v, list),
          "null": lambda v: v is None}.get(want, lambda v: True)
    if not ok(value):
        return "%r is not of type %s" % (value, want)
    if "enum" in schema and value not in schema["enum"]:
        return "%r is not one of %s" % (value, schema["enum"])
    return None


def answer_problems(value, schema, where):
    """Where `value` breaks the schema's `returns`: types, enums and the
    properties that are not optional."""
    problem = type_problem(value, schema)
    if problem:
        return ["%s: %s" % (where, problem)]
    out = []
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += answer_problems(item, schema["items"], "%s[%d]" % (where, i))
    if isinstance(value, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name in value:
                out += answer_problems(value[name], prop, "%s.%s" % (where, name))
            elif not prop.get("optional"):
                out.append("%s: %s is missing" % (where, name))
    return out


# GET routes whose answers are checked against the schema's `returns`, for a
# running VM (100), a running CT and their node in the default scenario.
ANSWERS = [
    ("/version", "/version"),
    ("/cluster/resources", "/cluster/resources"),
    ("/cluster/status", "/cluster/status"),
    ("/cluster/options", "/cluster/options"),
    ("/cluster/ha/groups", "/cluster/ha/groups"),
    ("/cluster/ha/status/current", "/cluster/ha/status/current"),
    ("/access/domains", "/access/domains"),
    ("/nodes", "/nodes"),
    ("/nodes/{node}/status", "/nodes/{qemu_node}/status"),
    ("/nodes/{node}/network", "/nodes/{qemu_node}/network"),
    ("/nodes/{node}/qemu/{vmid}/status/current", "/nodes/{qemu_node}/qemu/{qemu}/status/current"),
    ("/nodes/{node}/qemu/{vmid}/config", "/nodes/{qemu_node}/qemu/{qemu}/config"),
    ("/nodes/{node}/lxc/{vmid}/status/current", "/nodes/{lxc_node}/lxc/{lxc}/status/current"),
    ("/nodes/{node}/lxc/{vmid}/config", "/nodes/{lxc_node}/lxc/{lxc}/config"),
    ("/nodes/{node}/qemu/{vmid}/rrddata", "/nodes/{qemu_node}/qemu/{lxc}/rrddata?timeframe=hour"),
    ("/nodes/{node}/tasks", "/nodes/{qemu_node}/tasks"),
]


def check_answers(returns):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pvesim_harness import Pvesim  # noqa: E402
    failures = []
    with Pvesim() as sim:
        s = sim.token_session()
        guests = s.get(sim.base + "/cluster/resources", params={"type": "vm"}, timeout=10).json()["data"]
        running = {}
        for g in guests:
            if g["status"] == "running":
                running.setdefault(g["type"], g)
        names = {"qemu": running["qemu"]["vmid"], "qemu_node": running["qemu"]["node"],
                 "lxc": running["lxc"]["vmid"], "lxc_node": running["lxc"]["node"]}
        for template, path in ANSWERS:
            r = s.get(sim.base + path.format(**names), timeout=30)
            if r.status_code != 200:
                failures.append("GET %s: HTTP %d %s" % (path, r.status_code, r.reason))
                continue
            failures += answer_problems(r.json()["data"], returns[("GET", template)], "GET " + template)
    print("checked the answers of %d routes against the schema's returns" % len(ANSWERS))
    return failures


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
    tree = load_schema(schema_path)
    index, props_of = schema_index(tree)
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
    answer_failures = check_answers(returns_of(tree))
    for f in answer_failures:
        print("FAIL: " + f)
    return 1 if failures or answer_failures else 0


if __name__ == "__main__":
    sys.exit(main())
