#!/usr/bin/env python3
"""Holds every #include in src/, cli/ and tools/ to the dependency table of docs/architecture.md.

Run by ctest as `check_deps` (with the build's target list) and by hand:

    python3 tools/check_deps.py                      # include rules only
    python3 tools/check_deps.py --targets build/default/callbridge_targets.json

What it checks (each failure names file, line, the included header and the rule):
  1. Every folder under src/, cli/ and tools/ has a row in the parts table, and every row of the
     table names a folder that exists (the document stays true).
  2. Production code of a part includes only its own headers and those of the parts its row lists
     under "may depend on". Tests (`*_test.cpp`, and headers only tests reach) may include anything.
  3. Third-party headers that have an owner (table "Third-party headers with an owner") are
     included only by the parts or files listed for them (SQLite only in the SQLite backends,
     Boost.Beast only in its few translation units, ...).
  4. With --targets (written by CMake at configure time): a target's sources include only headers
     of the parts it links (its own part, its direct links and what they link PUBLIC), and a
     library or executable links only callbridge libraries of parts its row allows.
  5. The shape of capabilities: a part under `capabilities/` may be allowed (by its row) only the
     shared interface `capabilities` and the inner layers (CAPABILITY_MAY_USE): never another
     capability, `app`, a driver, a backend or `storage`. A row that allows more fails, so the
     rule cannot be loosened by editing the table alone.
Standard library only; runs in well under a second.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CODE_SUFFIXES = (".cpp", ".hpp", ".h", ".cc", ".hh", ".ipp")
CHECKED_TOPS = ("src", "cli", "tools")
PARTS_HEADING = "parts and what each may use"
THIRD_PARTY_HEADING = "third-party headers with an owner"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
BACKTICK_RE = re.compile(r"`([^`]+)`")
# What a capability (src/capabilities/<name>/) may depend on at most: each one stands alone on the
# API's helpers and the core, so it can be copied, added or removed without touching another.
CAPABILITY_GROUP = "capabilities"
CAPABILITY_MAY_USE = {CAPABILITY_GROUP, "api", "core", "ports", "model", "base"}


@dataclass
class Rules:
    # part name ("drivers/ami", "cli", "tools/pbxsim") -> allowed parts ("*" = any part)
    allowed: dict[str, set[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # part -> line in the doc
    folders: dict[str, str] = field(default_factory=dict)  # part -> repo-relative folder
    # third-party header prefix -> allowed parts / repo-relative files
    owned: dict[str, set[str]] = field(default_factory=dict)
    doc: str = "docs/architecture.md"

    def allows(self, part: str, dep: str) -> bool:
        a = self.allowed.get(part, set())
        return dep == part or "*" in a or dep in a

    def describe(self, part: str) -> str:
        a = sorted(self.allowed.get(part, set()))
        return ", ".join(a) if a else "nothing but itself"


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        if msg not in self.items:
            self.items.append(msg)


def part_of_folder(rel_dir: str) -> str:
    """Repo-relative folder -> part name: src/x/y -> x/y, cli -> cli, tools/x -> tools/x."""
    rel_dir = rel_dir.strip("/")
    if rel_dir == "src":
        return "src"
    if rel_dir.startswith("src/"):
        return rel_dir[len("src/"):]
    return rel_dir


def part_of_file(rel_path: str) -> str:
    return part_of_folder(os.path.dirname(rel_path))


def is_checked(rel_path: str) -> bool:
    return rel_path.split("/", 1)[0] in CHECKED_TOPS


def split_row(line: str) -> list[str]:
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells]


def table_after(lines: list[str], heading: str) -> list[tuple[int, list[str]]]:
    """The rows (line number, cells) of the first table after the heading containing `heading`."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("#") and heading in line.lower():
            start = i + 1
            break
    if start is None:
        return []
    rows: list[tuple[int, list[str]]] = []
    in_table = False
    for i in range(start, len(lines)):
        line = lines[i]
        if line.startswith("#"):
            break
        if line.lstrip().startswith("|"):
            in_table = True
            cells = split_row(line)
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                continue
            rows.append((i + 1, cells))
        elif in_table:
            break
    return rows[1:]  # without the header row


def load_rules(doc_path: Path, doc_rel: str) -> tuple[Rules, list[str]]:
    errors: list[str] = []
    rules = Rules(doc=doc_rel)
    if not doc_path.is_file():
        return rules, [f"{doc_rel}: missing (the dependency table lives there)"]
    lines = doc_path.read_text(encoding="utf-8").splitlines()
    rows = table_after(lines, PARTS_HEADING)
    if not rows:
        errors.append(f"{doc_rel}: no table under a heading '{PARTS_HEADING}'")
    for lineno, cells in rows:
        if len(cells) < 3:
            errors.append(f"{doc_rel}:{lineno}: a parts row needs folder | owns | may depend on")
            continue
        names = BACKTICK_RE.findall(cells[0])
        if len(names) != 1:
            errors.append(f"{doc_rel}:{lineno}: the first cell must name exactly one `folder/`")
            continue
        part = part_of_folder(names[0])
        if part in rules.allowed:
            errors.append(f"{doc_rel}:{lineno}: folder {names[0]} listed twice")
        deps = {d.strip("/") for d in BACKTICK_RE.findall(cells[-1])}
        if part.startswith(CAPABILITY_GROUP + "/"):
            extra = sorted(deps - CAPABILITY_MAY_USE)
            if extra:
                errors.append(f"{doc_rel}:{lineno}: {part} may not be allowed {', '.join(extra)} (a capability "
                              f"depends only on {', '.join(sorted(CAPABILITY_MAY_USE))}; tools/check_deps.py)")
        rules.allowed[part] = deps
        rules.rows[part] = lineno
        rules.folders[part] = names[0].strip("/")
    for lineno, cells in table_after(lines, THIRD_PARTY_HEADING):
        if len(cells) < 2:
            errors.append(f"{doc_rel}:{lineno}: a header row needs header | only in")
            continue
        headers = BACKTICK_RE.findall(cells[0])
        owners = {o.strip("/") if not o.endswith((CODE_SUFFIXES)) else o for o in BACKTICK_RE.findall(cells[-1])}
        for h in headers:
            rules.owned[h] = owners
    return rules, errors


def list_folders(root: Path) -> list[str]:
    out = []
    for top in CHECKED_TOPS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            if rel != "src":
                out.append(rel)
    return out


def list_code(root: Path) -> list[str]:
    files = []
    for top in CHECKED_TOPS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for f in sorted(filenames):
                if f.endswith(CODE_SUFFIXES):
                    files.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    return files


@dataclass
class Include:
    line: int
    quoted: bool
    spelled: str
    resolved: str | None  # repo-relative path of a project header, or None (third party / missing)


class Tree:
    """Parsed includes of every file reached, resolved the way the compiler finds them: next to
    the including file, then from src/ (every library's include directory), then from the repo
    root (cli/ spells its own headers "cli/x.hpp"), then from tests/ (the test support library's
    include directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, list[Include]] = {}

    def resolve(self, including: str, spelled: str) -> str | None:
        for base in (os.path.dirname(including), "src", "", "tests"):
            cand = os.path.normpath(os.path.join(base, spelled)).replace(os.sep, "/")
            if cand.startswith("../"):
                continue
            if (self.root / cand).is_file():
                return cand
        return None

    def includes(self, rel: str) -> list[Include]:
        if rel in self.cache:
            return self.cache[rel]
        out: list[Include] = []
        try:
            text = (self.root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        in_block_comment = False
        for n, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if in_block_comment:
                if "*/" in stripped:
                    in_block_comment = False
                continue
            if stripped.startswith("/*") and "*/" not in stripped:
                in_block_comment = True
                continue
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            quoted = m.group(1) == '"'
            spelled = m.group(2).strip()
            resolved = self.resolve(rel, spelled) if quoted else None
            out.append(Include(n, quoted, spelled, resolved))
        self.cache[rel] = out
        return out


def is_test_name(rel: str) -> bool:
    name = os.path.basename(rel)
    stem = name.rsplit(".", 1)[0]
    return stem.endswith("_test") or stem.startswith("test_") or "_test_" in stem


def production_files(tree: Tree, files: list[str], test_sources: set[str], prod_sources: set[str]) -> set[str]:
    """Files that production code compiles: every non-test .cpp (by name, or because a non-test
    target builds it) and every header they reach; a header no file includes counts too (strict)."""
    roots = []
    for f in files:
        if f.endswith((".cpp", ".cc")):
            if f in prod_sources or (f not in test_sources and not is_test_name(f)):
                roots.append(f)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        for inc in tree.includes(f):
            if inc.resolved and inc.resolved not in seen:
                stack.append(inc.resolved)
    included = {inc.resolved for f in files for inc in tree.includes(f) if inc.resolved}
    for f in files:
        if not f.endswith((".cpp", ".cc")) and f not in included and not is_test_name(f):
            seen.add(f)
    return seen


def owner_entry_matches(entry: str, rel: str) -> bool:
    if entry.endswith(CODE_SUFFIXES):
        return rel == entry
    return part_of_file(rel) == entry


def check_sources(root: Path, rules: Rules, problems: Problems, tree: Tree,
                  test_sources: set[str], prod_sources: set[str]) -> list[str]:
    folders = list_folders(root)
    for folder in folders:
        part = part_of_folder(folder)
        if part not in rules.allowed:
            problems.add(f"{folder}/: folder exists but {rules.doc} does not list it "
                         f"(add a row `{folder}/` to the parts table)")
    for part, lineno in sorted(rules.rows.items()):
        folder = rules.folders[part]
        if not (root / folder).is_dir():
            problems.add(f"{rules.doc}:{lineno}: lists {folder}/, which does not exist")

    files = list_code(root)
    prod = production_files(tree, files, test_sources, prod_sources)
    for rel in files:
        part = part_of_file(rel)
        production = rel in prod
        for inc in tree.includes(rel):
            where = f'{rel}:{inc.line}: #include {"<" if not inc.quoted else chr(34)}{inc.spelled}{">" if not inc.quoted else chr(34)}'
            if inc.quoted and inc.resolved is None:
                problems.add(f"{where}: no such header next to the file, under src/, the repo root or tests/")
                continue
            if inc.quoted and inc.resolved:
                dep = part_of_file(inc.resolved)
                if not is_checked(inc.resolved):
                    dep = inc.resolved.split("/", 1)[0]
                if production and not rules.allows(part, dep):
                    problems.add(f"{where}: {part} may not depend on {dep} "
                                 f"({rules.doc}: {part} may depend on {rules.describe(part)})")
                continue
            # third-party header with an owner
            for prefix, owners in rules.owned.items():
                if inc.spelled == prefix or inc.spelled.startswith(prefix.rstrip("/") + "/"):
                    if not any(owner_entry_matches(o, rel) for o in owners):
                        if production or any(o.endswith(CODE_SUFFIXES) for o in owners):
                            problems.add(f"{where}: <{prefix}> belongs to {', '.join(sorted(owners))} "
                                         f"({rules.doc}, third-party headers with an owner)")
    return files


def strip_genex(item: str) -> tuple[str | None, bool]:
    """A link item -> (target name, visible to dependents' compile). $<LINK_ONLY:x> is link-only."""
    m = re.fullmatch(r"\$<LINK_ONLY:([^>]+)>", item)
    if m:
        return m.group(1), False
    if item.startswith("$<") or item.startswith("-"):
        return None, False
    return item, True


def check_targets(root: Path, rules: Rules, problems: Problems, tree: Tree, targets: dict) -> None:
    root_s = str(root.resolve())

    def rel_dir(d: str) -> str | None:
        d = str(Path(d).resolve())
        if d == root_s:
            return ""
        if d.startswith(root_s + os.sep):
            return os.path.relpath(d, root_s).replace(os.sep, "/")
        return None

    def target_part(name: str) -> str | None:
        t = targets.get(name)
        if not t:
            return None
        d = rel_dir(t["source_dir"])
        if d is None:
            return None
        return part_of_folder(d) if is_checked(d + "/") else d.split("/", 1)[0]

    visible_cache: dict[str, set[str]] = {}

    def interface_closure(name: str, seen: set[str]) -> set[str]:
        if name in visible_cache:
            return visible_cache[name]
        if name in seen or name not in targets:
            return set()
        seen.add(name)
        out = set()
        p = target_part(name)
        if p:
            out.add(p)
        for item in targets[name].get("interface_link_libraries", []):
            dep, visible = strip_genex(item)
            if dep and visible:
                out |= interface_closure(dep, seen)
        visible_cache[name] = out
        return out

    for name, t in sorted(targets.items()):
        d = rel_dir(t["source_dir"])
        if d is None or not is_checked(d + "/"):
            continue
        part = part_of_folder(d)
        cmake_file = f"{d}/CMakeLists.txt"
        visible = {part}
        for item in t.get("link_libraries", []):
            dep, _ = strip_genex(item)
            if not dep or dep not in targets:
                continue
            visible |= interface_closure(dep, set())
            if not t.get("test") and t.get("type") != "INTERFACE_LIBRARY":
                dp = target_part(dep)
                if dp and not rules.allows(part, dp):
                    problems.add(f"{cmake_file}: {name} links {dep} ({dp}): {part} may not depend on {dp} "
                                 f"({rules.doc}: {part} may depend on {rules.describe(part)})")
        if t.get("type") == "INTERFACE_LIBRARY":
            for item in t.get("interface_link_libraries", []):
                dep, _ = strip_genex(item)
                dp = target_part(dep) if dep else None
                if dp and not rules.allows(part, dp):
                    problems.add(f"{cmake_file}: {name} links {dep} ({dp}): {part} may not depend on {dp} "
                                 f"({rules.doc}: {part} may depend on {rules.describe(part)})")
            continue
        # Every file this target compiles (its sources and the project headers they reach) may
        # include only headers of visible parts.
        stack = []
        for s in t.get("sources", []):
            p = Path(s) if os.path.isabs(s) else Path(t["source_dir"]) / s
            r = rel_dir(str(p.parent))
            if r is None:
                continue  # generated in the build tree
            stack.append(f"{r}/{p.name}" if r else p.name)
        seen: set[str] = set()
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            for inc in tree.includes(f):
                if not inc.resolved:
                    continue
                dep = part_of_file(inc.resolved) if is_checked(inc.resolved) else inc.resolved.split("/", 1)[0]
                if dep not in visible:
                    problems.add(f'{f}:{inc.line}: #include "{inc.spelled}": target {name} does not link a '
                                 f"library of {dep} (it sees {', '.join(sorted(visible))}; {cmake_file})")
                    continue  # one message per breach, not one per header behind it
                stack.append(inc.resolved)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent), help="repository root")
    ap.add_argument("--doc", default="docs/architecture.md", help="architecture document (repo-relative)")
    ap.add_argument("--targets", help="callbridge_targets.json from the CMake build directory")
    args = ap.parse_args(argv)
    root = Path(args.root)
    rules, errors = load_rules(root / args.doc, args.doc)
    problems = Problems()
    for e in errors:
        problems.add(e)
    tree = Tree(root)
    test_sources: set[str] = set()
    prod_sources: set[str] = set()
    targets = None
    if args.targets:
        try:
            targets = json.loads(Path(args.targets).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.add(f"{args.targets}: cannot read the target list: {e}")
        if targets:
            root_s = str(root.resolve())
            for t in targets.values():
                for s in t.get("sources", []):
                    p = Path(s) if os.path.isabs(s) else Path(t["source_dir"]) / s
                    p = str(p.resolve())
                    if not p.startswith(root_s + os.sep):
                        continue
                    rel = os.path.relpath(p, root_s).replace(os.sep, "/")
                    (test_sources if t.get("test") else prod_sources).add(rel)
    files = check_sources(root, rules, problems, tree, test_sources, prod_sources)
    if targets:
        check_targets(root, rules, problems, tree, targets)
    if problems.items:
        for p in problems.items:
            print(p)
        print(f"check_deps: {len(problems.items)} problem(s) in {len(files)} files; the rules are the tables "
              f"of {args.doc}")
        return 1
    print(f"check_deps: {len(files)} files, {len(rules.allowed)} folders: every include follows {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
