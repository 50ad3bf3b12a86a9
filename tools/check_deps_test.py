#!/usr/bin/env python3
"""Tests of tools/check_deps.py on small made-up trees (ctest check_deps_selftest): it must pass a
tree that follows its table and fail, naming file, line, header and rule, on each kind of breach."""
from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_deps  # noqa: E402

DOC = """# Architecture

## Parts and what each may use

| folder | owns | may depend on |
|---|---|---|
| `src/base/` | basics | — (std) |
| `src/ports/` | interfaces | `base` |
| `src/api/` | HTTP | `ports`, `base` |
| `src/drivers/` | grouping | — |
| `src/drivers/x/` | a driver | `ports`, `base` |
| `src/app/` | wiring | `*` |
| `cli/` | command | `base` |
| `tools/` | grouping | — |

## Third-party headers with an owner

| header | only in |
|---|---|
| `sqlite3.h` | `drivers/x` |
| `boost/beast` | `src/api/server.cpp` |
"""

FILES = {
    "src/base/error.hpp": "#pragma once\n",
    "src/ports/store.hpp": '#pragma once\n#include "base/error.hpp"\n',
    "src/api/routes.hpp": '#pragma once\n#include "ports/store.hpp"\n',
    "src/api/routes.cpp": '#include "api/routes.hpp"\n#include <string>\n',
    "src/api/server.cpp": '#include <boost/beast/http.hpp>\n#include "api/routes.hpp"\n',
    "src/drivers/x/driver.hpp": '#pragma once\n#include "ports/store.hpp"\n',
    "src/drivers/x/driver.cpp": '#include "drivers/x/driver.hpp"\n#include <sqlite3.h>\n',
    "src/app/main.cpp": '#include "api/routes.hpp"\n#include "drivers/x/driver.hpp"\n',
    "cli/main.cpp": '#include "base/error.hpp"\n#include "cli/local.hpp"\n',
    "cli/local.hpp": "#pragma once\n",
    "tools/check.py": "",
    # a test may include anything
    "src/api/routes_test.cpp": '#include "drivers/x/driver.hpp"\n#include <sqlite3.h>\n',
}


class Tree:
    def __init__(self, files=None, doc=DOC):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "docs").mkdir()
        (self.root / "docs/architecture.md").write_text(doc, encoding="utf-8")
        for rel, text in (files if files is not None else FILES).items():
            self.write(rel, text)

    def write(self, rel: str, text: str) -> None:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")

    def run(self, *extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            rc = check_deps.main(["--root", str(self.root), *extra])
        return rc, out.getvalue()

    def close(self) -> None:
        self.tmp.cleanup()


class CheckDepsTest(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.close()

    def test_a_tree_that_follows_the_table_passes(self):
        rc, out = self.t.run()
        self.assertEqual(rc, 0, out)
        self.assertIn("every include follows", out)

    def test_forbidden_part_names_file_line_header_and_rule(self):
        self.t.write("src/api/routes.cpp", '#include "api/routes.hpp"\n\n#include "drivers/x/driver.hpp"\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn('src/api/routes.cpp:3: #include "drivers/x/driver.hpp": api may not depend on drivers/x', out)
        self.assertIn("api may depend on base, ports", out)

    def test_a_header_breaks_the_rule_too(self):
        self.t.write("src/ports/store.hpp", '#pragma once\n#include "api/routes.hpp"\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn('src/ports/store.hpp:2: #include "api/routes.hpp": ports may not depend on api', out)

    def test_relative_spelling_does_not_get_around_it(self):
        self.t.write("src/api/routes.cpp", '#include "../drivers/x/driver.hpp"\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn("api may not depend on drivers/x", out)

    def test_a_folder_missing_from_the_table_fails(self):
        self.t.write("src/identity/sqlite/store.cpp", '#include "ports/store.hpp"\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn("src/identity/: folder exists but docs/architecture.md does not list it", out)
        self.assertIn("src/identity/sqlite/: folder exists but docs/architecture.md does not list it", out)

    def test_a_row_for_a_folder_that_does_not_exist_fails(self):
        doc = DOC.replace("| `cli/` | command | `base` |\n", "| `cli/` | command | `base` |\n| `src/gone/` | x | `base` |\n")
        self.t.close()
        self.t = Tree(doc=doc)
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn("lists src/gone/, which does not exist", out)

    def test_owned_third_party_header_outside_its_owner_fails(self):
        self.t.write("src/api/routes.cpp", '#include "api/routes.hpp"\n#include <sqlite3.h>\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn("src/api/routes.cpp:2: #include <sqlite3.h>: <sqlite3.h> belongs to drivers/x", out)

    def test_owned_by_file_is_strict_even_in_the_same_part(self):
        self.t.write("src/api/routes.hpp", '#pragma once\n#include <boost/beast/core.hpp>\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn("src/api/routes.hpp:2: #include <boost/beast/core.hpp>: <boost/beast> belongs to src/api/server.cpp", out)

    def test_missing_header_fails(self):
        self.t.write("src/api/routes.cpp", '#include "api/nope.hpp"\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 1)
        self.assertIn('src/api/routes.cpp:1: #include "api/nope.hpp": no such header', out)

    def test_commented_out_include_is_ignored(self):
        self.t.write("src/api/routes.cpp", '#include "api/routes.hpp"\n// #include "drivers/x/driver.hpp"\n'
                                           '/*\n#include "drivers/x/driver.hpp"\n*/\n')
        rc, out = self.t.run()
        self.assertEqual(rc, 0, out)

    def targets(self, **overrides):
        r = str(self.t.root)
        t = {
            "lib_base": {"type": "STATIC_LIBRARY", "source_dir": f"{r}/src/base", "test": False,
                         "sources": [], "link_libraries": [], "interface_link_libraries": []},
            "lib_ports": {"type": "INTERFACE_LIBRARY", "source_dir": f"{r}/src/ports", "test": False,
                          "sources": [], "link_libraries": [], "interface_link_libraries": ["lib_base"]},
            "lib_api": {"type": "STATIC_LIBRARY", "source_dir": f"{r}/src/api", "test": False,
                        "sources": ["routes.cpp", "server.cpp"], "link_libraries": ["lib_ports", "lib_base"],
                        "interface_link_libraries": ["lib_ports", "lib_base"]},
            "lib_x": {"type": "STATIC_LIBRARY", "source_dir": f"{r}/src/drivers/x", "test": False,
                      "sources": ["driver.cpp"], "link_libraries": ["lib_ports", "lib_base", "SQLite::SQLite3"],
                      "interface_link_libraries": ["lib_ports", "$<LINK_ONLY:SQLite::SQLite3>"]},
            "app": {"type": "EXECUTABLE", "source_dir": f"{r}/src/app", "test": False,
                    "sources": ["main.cpp"], "link_libraries": ["lib_api", "lib_x"], "interface_link_libraries": []},
            "cli": {"type": "EXECUTABLE", "source_dir": f"{r}/cli", "test": False,
                    "sources": ["main.cpp"], "link_libraries": ["lib_base"], "interface_link_libraries": []},
            "api_test": {"type": "EXECUTABLE", "source_dir": f"{r}/src/api", "test": True,
                         "sources": ["routes_test.cpp"], "link_libraries": ["lib_api", "lib_x"],
                         "interface_link_libraries": []},
        }
        t.update(overrides)
        path = self.t.root / "targets.json"
        path.write_text(json.dumps(t), encoding="utf-8")
        return str(path)

    def test_targets_that_link_what_they_include_pass(self):
        rc, out = self.t.run("--targets", self.targets())
        self.assertEqual(rc, 0, out)

    def test_a_target_sees_only_headers_of_what_it_links(self):
        r = str(self.t.root)
        # the app stops linking the driver but still includes its header
        path = self.targets(app={"type": "EXECUTABLE", "source_dir": f"{r}/src/app", "test": False,
                                 "sources": ["main.cpp"], "link_libraries": ["lib_api"],
                                 "interface_link_libraries": []})
        rc, out = self.t.run("--targets", path)
        self.assertEqual(rc, 1)
        self.assertIn('src/app/main.cpp:2: #include "drivers/x/driver.hpp": target app does not link a library of '
                      'drivers/x', out)

    def test_private_links_are_not_passed_on(self):
        r = str(self.t.root)
        # lib_api links ports PRIVATE only; app (linking only lib_api) includes api/routes.hpp, which
        # includes ports/store.hpp
        self.t.write("src/app/main.cpp", '#include "api/routes.hpp"\n')
        path = self.targets(lib_api={"type": "STATIC_LIBRARY", "source_dir": f"{r}/src/api", "test": False,
                                     "sources": ["routes.cpp"], "link_libraries": ["lib_ports", "lib_base"],
                                     "interface_link_libraries": ["$<LINK_ONLY:lib_ports>", "lib_base"]},
                            app={"type": "EXECUTABLE", "source_dir": f"{r}/src/app", "test": False,
                                 "sources": ["main.cpp"], "link_libraries": ["lib_api"],
                                 "interface_link_libraries": []})
        rc, out = self.t.run("--targets", path)
        self.assertEqual(rc, 1)
        self.assertIn('src/api/routes.hpp:2: #include "ports/store.hpp": target app does not link a library of ports',
                      out)

    def test_a_link_line_against_the_table_fails(self):
        r = str(self.t.root)
        path = self.targets(cli={"type": "EXECUTABLE", "source_dir": f"{r}/cli", "test": False,
                                 "sources": ["main.cpp"], "link_libraries": ["lib_base", "lib_x"],
                                 "interface_link_libraries": []})
        rc, out = self.t.run("--targets", path)
        self.assertEqual(rc, 1)
        self.assertIn("cli/CMakeLists.txt: cli links lib_x (drivers/x): cli may not depend on drivers/x", out)


class CapabilityShapeTest(unittest.TestCase):
    """A capability (src/capabilities/<name>/) may rest on the inner layers only, whatever its row says."""

    DOC = DOC.replace("| `cli/` | command | `base` |\n",
                      "| `cli/` | command | `base` |\n"
                      "| `src/capabilities/` | shared interface | `api`, `ports`, `base` |\n"
                      "| `src/capabilities/a/` | one capability | `capabilities`, `api`, `ports`, `base` |\n"
                      "| `src/capabilities/b/` | another | `capabilities`, `api`, `base` |\n")
    FILES = {**FILES,
             "src/capabilities/capability.hpp": '#pragma once\n#include "api/routes.hpp"\n',
             "src/capabilities/a/a_routes.cpp": '#include "capabilities/capability.hpp"\n#include "ports/store.hpp"\n',
             "src/capabilities/b/b_routes.cpp": '#include "capabilities/capability.hpp"\n'}

    def run_tree(self, doc: str, files: dict) -> tuple[int, str]:
        t = Tree(files=files, doc=doc)
        try:
            return t.run()
        finally:
            t.close()

    def test_capabilities_on_the_inner_layers_pass(self):
        rc, out = self.run_tree(self.DOC, self.FILES)
        self.assertEqual(rc, 0, out)

    def test_one_capability_including_another_fails(self):
        files = {**self.FILES, "src/capabilities/b/b_routes.cpp": '#include "capabilities/a/a_routes.hpp"\n',
                 "src/capabilities/a/a_routes.hpp": "#pragma once\n"}
        rc, out = self.run_tree(self.DOC, files)
        self.assertEqual(rc, 1)
        self.assertIn('src/capabilities/b/b_routes.cpp:1: #include "capabilities/a/a_routes.hpp": capabilities/b may '
                      'not depend on capabilities/a', out)

    def test_a_row_allowing_another_capability_or_a_backend_fails(self):
        doc = self.DOC.replace("| `src/capabilities/b/` | another | `capabilities`, `api`, `base` |",
                               "| `src/capabilities/b/` | another | `capabilities/a`, `drivers/x`, `app`, `base` |")
        rc, out = self.run_tree(doc, self.FILES)
        self.assertEqual(rc, 1)
        self.assertIn("capabilities/b may not be allowed app, capabilities/a, drivers/x", out)


class RealTreeTest(unittest.TestCase):
    """The repository itself, without the build's target list (ctest check_deps runs it with)."""

    def test_repository_follows_its_table(self):
        root = Path(__file__).resolve().parent.parent
        out = io.StringIO()
        with redirect_stdout(out):
            rc = check_deps.main(["--root", str(root)])
        self.assertEqual(rc, 0, out.getvalue())


if __name__ == "__main__":
    unittest.main()
