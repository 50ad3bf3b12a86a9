#!/usr/bin/env python3
"""Tests of tools/openapi_assemble.py on small made-up inputs (ctest openapi_assemble_selftest): it
must assemble a base and fragments in order, and refuse each broken input once, naming the file."""
from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import openapi_assemble as oa  # noqa: E402

BASE = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {"/api/v1/me": {"get": {"responses": {"200": {"$ref": "#/components/responses/Problem"}}}}},
    "components": {"responses": {"Problem": {"description": "p"}}, "schemas": {"Me": {"type": "object"}}},
}
JOURNAL = {
    "paths": {"/api/v1/journal": {"get": {"responses": {"200": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/JournalEntry"}}}}}}}},
    "components": {"schemas": {"JournalEntry": {"type": "object"}}},
}
LINES = {"paths": {"/api/v1/lines": {"get": {"responses": {"200": {"description": "lines"}}}}}}


class AssembleTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def write(self, name: str, value) -> Path:
        p = self.dir / name
        p.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
        return p

    def fails(self, fragments: list, *needles: str, base=BASE) -> None:
        paths = [self.write(f"f{i}.json", f) for i, f in enumerate(fragments)]
        with self.assertRaises(oa.AssemblyError) as cm:
            oa.assemble(self.write("base.json", base), paths)
        for n in needles:
            self.assertIn(n, str(cm.exception))

    def test_assembles_in_order(self) -> None:
        doc = oa.assemble(self.write("base.json", BASE), [self.write("j.json", JOURNAL), self.write("l.json", LINES)])
        self.assertEqual(list(doc["paths"]), ["/api/v1/me", "/api/v1/journal", "/api/v1/lines"])
        self.assertEqual(set(doc["components"]["schemas"]), {"Me", "JournalEntry"})
        self.assertEqual(doc["info"], BASE["info"])

    def test_main_writes_the_document_and_the_embedding(self) -> None:
        out, embed = self.dir / "out.json", self.dir / "embed.cpp"
        rc = oa.main(["--base", str(self.write("base.json", BASE)), "--fragment", str(self.write("j.json", JOURNAL)),
                      "--out", str(out), "--embed", str(embed)])
        self.assertEqual(rc, 0)
        self.assertIn("/api/v1/journal", json.loads(out.read_text(encoding="utf-8"))["paths"])
        self.assertIn("std::string_view openapi_json()", embed.read_text(encoding="utf-8"))
        rc = oa.main(["--base", str(self.write("base.json", BASE)), "--fragment", str(self.write("bad.json", "{"))])
        self.assertEqual(rc, 1)

    def test_a_path_twice(self) -> None:
        self.fails([JOURNAL, {"paths": {"/api/v1/journal": {"get": {}}}}], "f1.json", "path /api/v1/journal",
                   "f0.json")

    def test_a_path_of_the_base_again(self) -> None:
        self.fails([{"paths": {"/api/v1/me": {"get": {}}}}], "path /api/v1/me", "base.json")

    def test_a_schema_twice(self) -> None:
        self.fails([JOURNAL, {"paths": {"/x": {}}, "components": {"schemas": {"JournalEntry": {}}}}],
                   "components.schemas.JournalEntry")
        self.fails([{"paths": {"/x": {}}, "components": {"schemas": {"Me": {}}}}], "components.schemas.Me",
                   "base.json")

    def test_invalid_json(self) -> None:
        self.fails(['{"paths": {'], "f0.json", "not valid JSON")
        self.fails([], "base.json", "not valid JSON", base="[1,")

    def test_a_fragment_with_other_keys(self) -> None:
        self.fails([{"paths": {"/x": {}}, "info": {}}], "f0.json", "info")
        self.fails([{"paths": {"/x": {}}, "components": {"securitySchemes": {}}}], "securitySchemes")
        self.fails([{"components": {"schemas": {"A": {}}}}], "paths")

    def test_a_dangling_ref(self) -> None:
        self.fails([{"paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Nope"}}}}}}],
                   "#/components/schemas/Nope")

    def test_a_path_without_slash(self) -> None:
        self.fails([{"paths": {"api/v1/x": {}}}], "must start with '/'")

    def test_the_repository_inputs_assemble(self) -> None:
        root = Path(__file__).resolve().parent.parent
        fragments = sorted((root / "src" / "capabilities").glob("*/openapi.json"))
        self.assertTrue(fragments)
        doc = oa.assemble(root / "src" / "api" / "openapi.json", fragments)
        self.assertEqual(doc["openapi"], "3.0.3")


if __name__ == "__main__":
    unittest.main()
