"""Throwaway "installed" distributions for tests: a `<name>-<version>.dist-info` folder (METADATA
and entry_points.txt) in a folder on `sys.path` is what `importlib.metadata` finds."""
from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_dist_info(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """Declare distribution `name` installed in `site`, with `{group: {entry name: "module:attr"}}`."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items()) + "\n"
        for group, entries in entry_points.items()))
    importlib.invalidate_caches()
    return info


def declared_entry_points() -> dict[str, dict[str, str]]:
    """The entry points this checkout's pyproject.toml declares (besides console scripts)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"].get("entry-points", {})
