"""The import graph of `orchestrator/` follows the layers the README's Architecture section names.

A module may import its own layer and the layers below it, never one above: the data flows
spec -> space -> searchers/schedulers -> runner -> storage -> report -> cli, and the example
package `trainables/` is found through the `hpo.trainables` entry point, never imported.
Imports inside functions count too: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "orchestrator"

# Lowest first. A module's layer is that of the longest prefix listed here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("orchestrator.errors", "orchestrator.redaction", "orchestrator.compat",
     "orchestrator.extensions", "orchestrator.processes", "orchestrator.trial"),
    ("orchestrator.spec",),
    ("orchestrator.space",),
    ("orchestrator.searchers", "orchestrator.schedulers"),
    ("orchestrator.storage",),
    ("orchestrator.runner",),
    ("orchestrator.report",),
    ("orchestrator.dashboard",),
    ("orchestrator.jobs",),
    ("orchestrator.api", "orchestrator.reuse"),
    ("orchestrator",),            # the package root re-exports the public API
    ("orchestrator.cli",),
)


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    if rank < 0:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and the README")
    return rank


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of an `orchestrator` or `trainables` module in `path`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from orchestrator import trial` imports a submodule
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() \
                    or (PACKAGE.parent / Path(*candidate.split("."))).is_dir()
                found.append((node.lineno, candidate if is_module else node.module))
    return [(line, m) for line, m in found if m.split(".")[0] in ("orchestrator", "trainables")]


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_point_down_the_layers(path: Path) -> None:
    importer = module_name(path)
    own = layer_of(importer)
    upward = []
    for line, module in imported_modules(path):
        assert not module.startswith("trainables"), (
            f"{path.name}:{line} imports the example package {module}; use the hpo.trainables entry point")
        if layer_of(module) > own:
            upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} {importer} -> {module}")
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_every_module_has_a_layer() -> None:
    for path in SOURCES:
        layer_of(module_name(path))


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The test above would fail on a spec module that imports the runner."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from orchestrator.runner import sweep\n", encoding="utf-8")
    [(line, module)] = imported_modules(bad)
    assert (line, module) == (2, "orchestrator.runner.sweep")
    assert layer_of(module) > layer_of("orchestrator.spec.schema")


@pytest.mark.parametrize("path", sorted((PACKAGE / "extensions").rglob("*.py")), ids=lambda p: p.name)
def test_extension_tables_import_only_the_standard_library(path: Path) -> None:
    """The tables are read to validate a spec: they must load without Ray, skopt or torch."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        for module in names:
            assert module.split(".")[0] in sys.stdlib_module_names or module == "__future__" \
                or module == "orchestrator.errors" or module.startswith("orchestrator.extensions"), \
                f"{path.name} imports {module}"
