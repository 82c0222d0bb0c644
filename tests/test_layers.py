"""One-way imports (issue 12): the extension tables are the base layer, `spec` does not import
`space`, and the library never imports the example package `trainables`."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orchestrator"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py")) if folder else sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules_under("extensions"), ids=lambda p: p.name)
def test_extensions_import_only_the_standard_library_and_errors(path: Path) -> None:
    for module in imports_of(path):
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or top == "__future__" or module == "orchestrator.errors" \
            or module.startswith("orchestrator.extensions"), f"{path.name} imports {module}"


@pytest.mark.parametrize("path", modules_under("spec"), ids=lambda p: p.name)
def test_spec_does_not_import_space(path: Path) -> None:
    assert not {m for m in imports_of(path) if m == "orchestrator.space" or m.startswith("orchestrator.space.")}


def test_the_library_never_imports_the_example_trainables() -> None:
    offenders = [p.relative_to(ROOT) for p in modules_under("")
                 if any(m == "trainables" or m.startswith("trainables.") for m in imports_of(p))]
    assert offenders == []
