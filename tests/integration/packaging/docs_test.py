"""The man pages and bash completion say what the programs accept today.

Runs each program's --help and each (sub)command's --help, and fails naming
every subcommand or long option that a man page or a completion script lacks,
or that they still list after the program dropped it.

docs_test.py --packaging DIR --lxcri BIN --proxlb BIN --pvesim BIN
"""
import os
import re
import shutil
import subprocess
import sys


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


PACKAGING = arg("--packaging")
PROGRAMS = {name: arg("--" + name) for name in ("lxcri", "proxlb", "pvesim")}
HEADING = re.compile(r"^(\S[^:]*):$")  # CLI11: "Options:", "Subcommands:", custom option groups


class Command:
    """One node of a program's command tree, as its --help shows it."""

    def __init__(self, binary, path):
        self.path = path  # ["lxcri", "create"]
        self.options, self.subcommands = parse_help(run_help(binary, path[1:]))
        self.children = [Command(binary, path + [s]) for s in self.subcommands]

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    @property
    def name(self):
        return " ".join(self.path)


def run_help(binary, words):
    p = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise SystemExit("%s %s --help exited %d: %s" % (binary, " ".join(words), p.returncode, p.stderr))
    return p.stdout


def parse_help(text):
    options, subcommands, section = [], [], None
    for line in text.splitlines():
        m = HEADING.match(line)
        if m:
            section = m.group(1)
            continue
        if line and not line.startswith(" "):
            section = None
        elif section == "Subcommands":
            m = re.match(r"^  (\S+)", line)
            if m:
                subcommands.append(m.group(1))
        elif section not in (None, "Positionals"):
            m = re.match(r"^  (-\S+)", line)
            if m:
                options += [n for n in m.group(1).split(",") if n.startswith("--")]
    return options, subcommands


# --- man pages -----------------------------------------------------------------

def roff_text(line):
    line = re.sub(r"\\f(\[[A-Z]*\]|[BIRP])", "", line)
    return line.replace("\\-", "-").replace('"', "")


def long_options(text):
    return set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", text))


def man_sections(path):
    """Top-level options section text, {subsection title: text}, and .TP tags by section."""
    sections, current, tags, after_tp = {}, None, {}, False
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith((".SH ", ".SS ")):
                current = (line[1:3], roff_text(line[4:]).strip())
                sections[current] = ""
                after_tp = False
                continue
            if current is None:
                continue
            if line.startswith(".TP"):
                after_tp = True
                continue
            text = roff_text(re.sub(r"^\.[A-Z]+ ?", "", line)) if line.startswith(".") else roff_text(line)
            sections[current] += text + "\n"
            if after_tp:
                tags.setdefault(current, []).append(text)
                after_tp = False
    return sections, tags


def check_man(program, tree):
    problems = []
    path = os.path.join(PACKAGING, "man", program + ".1")
    sections, tags = man_sections(path)
    option_sections = [k for k in sections if k[0] == "SH" and "OPTIONS" in k[1]]
    subsections = {k[1]: k for k in sections if k[0] == "SS"}

    def documented(cmd):
        if len(cmd.path) == 1:
            return option_sections
        # ".SS "lxcri create [options] container-id"" documents `lxcri create`.
        return [k for title, k in subsections.items() if title == cmd.name or title.startswith(cmd.name + " ")]

    for cmd in tree.walk():
        keys = documented(cmd)
        if not keys:
            what = "OPTIONS section" if len(cmd.path) == 1 else "subsection .SS \"%s ...\"" % cmd.name
            problems.append("%s.1: %s has no %s" % (program, cmd.name, what))
            continue
        text = "".join(sections[k] for k in keys)
        for option in cmd.options:
            if option == "--help" and len(cmd.path) > 1:
                continue  # every command takes --help; the man page says so once
            if option not in long_options(text):
                problems.append("%s.1: %s: option %s is not documented" % (program, cmd.name, option))
        listed = set().union(*(long_options(t) for k in keys for t in tags.get(k, [])))
        for option in sorted(listed - set(cmd.options)):
            problems.append("%s.1: %s: documents %s, which the program does not accept" % (program, cmd.name, option))

    names = {c.name for c in tree.walk()}
    for title in subsections:
        if title.startswith(program + " ") and not any(title == n or title.startswith(n + " ") for n in names - {program}):
            problems.append("%s.1: documents \"%s\", which is not a command of the program" % (program, title))
    return problems


def check_man_renders(program):
    path = os.path.join(PACKAGING, "man", program + ".1")
    p = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or p.stderr.strip():
        return ["%s.1: groff warns: %s" % (program, p.stderr.strip())]
    return []


# --- bash completion ---------------------------------------------------------------

def complete(program, words):
    """COMPREPLY of the program's completion function for the command line `words`."""
    script = os.path.join(PACKAGING, "completion", program)
    driver = (
        'source "$1"; shift\n'
        'fn=$(complete -p "$1" | sed -n "s/.*-F \\([^ ]*\\).*/\\1/p")\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()\n'
        '"$fn"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n')
    p = subprocess.run(["bash", "-c", driver, "bash", script, *words],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise SystemExit("completion of %r failed: %s" % (words, p.stderr))
    return {w for w in p.stdout.split("\n") if w}


def check_completion(program, tree):
    problems = []

    def compare(what, words, expected):
        got = complete(program, words)
        for w in sorted(set(expected) - got):
            problems.append("completion/%s: %s: %s is not offered" % (program, what, w))
        for w in sorted(got - set(expected)):
            problems.append("completion/%s: %s: offers %s, which the program does not accept" % (program, what, w))

    for cmd in tree.walk():
        words = cmd.path[1:]
        compare(cmd.name + " options", [program, *words, "--"], cmd.options)
        if cmd.subcommands:
            compare(cmd.name + " commands", [program, *words, ""], cmd.subcommands)
    return problems


def main():
    if not shutil.which("groff"):
        print("SKIP: groff not found (Debian package groff-base, pulled in by man-db; see scripts/setup.sh)")
        return 77
    problems, counts = [], []
    for program, binary in PROGRAMS.items():
        tree = Command(binary, [program])
        commands = list(tree.walk())
        counts.append("%s: %d commands, %d long options" %
                      (program, len(commands) - 1, sum(len(c.options) for c in commands)))
        problems += check_man(program, tree) + check_man_renders(program) + check_completion(program, tree)
    for p in problems:
        print(p)
    if problems:
        print("FAIL: %d problems; update packaging/man and packaging/completion" % len(problems))
        return 1
    print("OK: man pages and completion match --help (%s)" % "; ".join(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
