"""`--set key.path=value` overrides, applied to the raw spec before validation."""
from __future__ import annotations

from typing import Any, Sequence

from orchestrator.errors import SpecError
from orchestrator.spec.yaml_source import SourceMap, parse_yaml_text


def apply_overrides(raw: Any, source: SourceMap, overrides: Sequence[str]) -> Any:
    """Set each `a.b.c=value` (value read as YAML) in `raw`, creating mappings on the way.
    Errors later found in an overridden key name the `--set` that put it there."""
    if raw is None:
        raw = {}
    for item in overrides:
        origin = f"--set {item}"
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise SpecError("expected key.path=value", file="--set", path=key.strip() or "<spec>")
        value, _ = parse_yaml_text(text, file=origin)
        if not isinstance(raw, dict):
            raise SpecError("the spec is not a mapping", file=origin, path="<spec>")
        node = raw
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(f"cannot set inside a {type(child).__name__}", file=origin,
                                path=".".join(parts[: i + 1]))
            node = child
        node[parts[-1]] = value
        path = tuple(parts)
        source.origins[path] = origin
        for k in [p for p in source.lines if p[: len(path)] == path]:
            del source.lines[k]
    return raw
