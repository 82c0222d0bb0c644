"""`--set key.path=value` overrides, applied to the raw spec before validation."""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

from orchestrator.errors import SpecError
from orchestrator.redaction import REDACTED, has_secret, is_secret_key, redact_text
from orchestrator.spec.suggest import excerpt
from orchestrator.spec.yaml_source import KeyPath, SourceMap, format_path, parse_yaml_text


def apply_overrides(raw: Any, source: SourceMap, overrides: Sequence[str]) -> Any:
    """Set each `a.b.c=value` (value read as YAML) in `raw`, creating mappings on the way.
    Errors later found in an overridden key name the `--set` that put it there."""
    for item in overrides:
        key, sep, text = item.partition("=")
        path = tuple(key.strip().split("."))
        secret = any(is_secret_key(part) for part in path)
        origin = "--set " + (f"{_one_line(key.strip())}={REDACTED}" if secret and sep else redact_text(_one_line(item)))
        if not sep or not all(path):
            raise SpecError(f"expected key.path=value, got {excerpt(item, 80)}", file="--set",
                            path=_one_line(key.strip()) or "<spec>")
        value = _parse_value(text, origin, path, secret)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise SpecError("the spec is not a mapping", file=origin, path="<spec>")
        node = raw
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(f"cannot set inside a {type(child).__name__}", file=origin,
                                path=format_path(path[: i + 1]))
            node = child
        node[path[-1]] = value
        source.origins[path] = origin
        for k in [p for p in source.lines if p[: len(path)] == path]:
            del source.lines[k]
    return raw


SECRET_OVERRIDES_ENV = "HPO_SECRET_OVERRIDES"   # a JSON list of `--set` items `hpo submit` ships out of sight


def split_secret_overrides(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """(public, secret) `--set` items: secret when a key in the path names a secret or the value holds one (a URL
    with user-info, `?token=`); `hpo submit` keeps the secret ones off the job's command line."""
    public: list[str] = []
    secret: list[str] = []
    for item in overrides:
        key, _, value = item.partition("=")
        hidden = any(is_secret_key(part) for part in key.strip().split(".")) or has_secret(value)
        (secret if hidden else public).append(item)
    return public, secret


def overrides_from_env() -> list[str]:
    """The secret `--set` items a submitted job's driver finds in SECRET_OVERRIDES_ENV (none when unset)."""
    raw = os.environ.get(SECRET_OVERRIDES_ENV)
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        raise SpecError(f"{SECRET_OVERRIDES_ENV} is not a JSON list of key=value items", path="<spec>") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise SpecError(f"{SECRET_OVERRIDES_ENV} is not a JSON list of key=value items", path="<spec>")
    return items


def _parse_value(text: str, origin: str, path: KeyPath, secret: bool) -> Any:
    """The YAML value of one override; its errors name the `--set` and the key path (never a secret's text)."""
    try:
        value, _ = parse_yaml_text(text, file=origin)
    except SpecError as exc:
        if secret:
            raise SpecError("is not valid YAML (value not shown: the key names a secret)", file=origin,
                            path=format_path(path)) from None
        inner = "" if exc.path in (None, "<spec>") else exc.path
        where = format_path(path) + ("" if not inner or inner.startswith("[") else ".") + inner
        raise SpecError(exc.reason, file=origin, path=where) from None
    return value


def _one_line(text: str) -> str:
    """`text` as typed when it is short and printable, else quoted and cut: messages stay one line."""
    return text if text.isprintable() and len(text) <= 80 else excerpt(text, 80)
