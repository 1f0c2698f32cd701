"""The layering of the packages, checked on their import statements (run by `.ci/run`):

    flows  (Prefect wiring, the batch, the CLI)  ->  table, parsers, storage, schemas
    table  (commit protocol pieces, ledger, snapshot, dataset writer, compaction)
                                                 ->  storage, schemas, parsers.fingerprint
    parsers                                      ->  schemas
    storage                                      ->  schemas
    schemas                                      ->  nothing of ours

and only flows imports Prefect (the table layer and the parsers run without it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("flows", "table", "parsers", "storage", "schemas", "bench", "tests")
ALLOWED: dict[str, tuple[str, ...]] = {
    "flows": ("flows", "table", "parsers", "storage", "schemas"),
    "table": ("table", "storage", "schemas", "parsers.fingerprint"),
    "parsers": ("parsers", "schemas"),
    "storage": ("storage", "schemas"),
    "schemas": ("schemas",),
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = []
    for path in sorted((REPO / package).rglob("*.py")):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top == "prefect" and package != "flows":
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
            if top in OURS and not any(name == a or name.startswith(a + ".") for a in ALLOWED[package]):
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == [], "\n".join(wrong)
