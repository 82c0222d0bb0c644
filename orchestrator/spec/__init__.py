"""The YAML spec: safe reading with line numbers, `--set` overrides, validation."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from orchestrator.spec.overrides import apply_overrides
from orchestrator.spec.schema import (
    EarlyStopping, Resources, RuntimeEnvSettings, SearchSettings, Spec, StopConditions, build_spec,
)
from orchestrator.spec.yaml_source import parse_yaml_text, read_yaml_file


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> Spec:
    """Read, override and validate a spec file; raises SpecError (one line) on bad input."""
    raw, source = read_yaml_file(path)
    raw = apply_overrides(raw, source, overrides)
    spec = build_spec(raw, source)
    return _with_source(spec, str(path))


def load_spec_text(text: str, file: str = "<spec>", overrides: Sequence[str] = ()) -> Spec:
    """Like `load_spec`, from a YAML string (used for specs shipped inside jobs and manifests)."""
    raw, source = parse_yaml_text(text, file=file)
    raw = apply_overrides(raw, source, overrides)
    return build_spec(raw, source)


def _with_source(spec: Spec, path: str) -> Spec:
    from dataclasses import replace

    return replace(spec, source_file=path)


__all__ = [
    "EarlyStopping", "Resources", "RuntimeEnvSettings", "SearchSettings", "Spec", "StopConditions",
    "load_spec", "load_spec_text",
]
