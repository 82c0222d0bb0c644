"""Safe YAML reading that remembers the line of every key, and refuses hostile input.

PyYAML's safe *composer* builds a node tree (no Python objects are created); we turn it
into plain data ourselves, so we can record `key path -> line`, reject unknown tags, and
bound the work an alias bomb or deep nesting could cause.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchestrator.errors import SpecError

MAX_BYTES = 1_000_000      # a spec is a page of text, not a data file
MAX_NODES = 100_000        # counts every visit, so aliases cannot multiply work unseen
MAX_DEPTH = 64
MAX_SCALAR_CHARS = 10_000

_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary")
}

KeyPath = tuple[Any, ...]


def format_path(path: KeyPath) -> str:
    """`("space", "model", 0)` -> `space.model[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "<spec>"


@dataclass
class SourceMap:
    """Where each key path came from: a file and its 1-based lines."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)
    origins: dict[KeyPath, str] = field(default_factory=dict)  # e.g. "--set" for overrides

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def error(self, path: KeyPath, message: str) -> SpecError:
        """A located, one-line spec error for `path`."""
        for origin_path, origin in self.origins.items():  # set by, or above, an override
            if origin_path[: len(path)] == path or path[: len(origin_path)] == origin_path:
                return SpecError(message, file=origin, path=format_path(path))
        return SpecError(message, file=self.file, line=self.line_of(path), path=format_path(path))


class _Builder:
    """Turns a composed node tree into plain dicts, lists and scalars, recording lines."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.constructor = SafeConstructor()
        self.visits = 0

    def build(self, node: Node, path: KeyPath, depth: int, active: frozenset[int]) -> Any:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.source.error(path, f"too many YAML nodes (more than {MAX_NODES}; alias bomb?)")
        if depth > MAX_DEPTH:
            raise self.source.error(path, f"nested deeper than {MAX_DEPTH} levels")
        if id(node) in active:
            raise self.source.error(path, "self-referencing YAML alias")
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _STANDARD_TAGS:
            raise self.source.error(path, f"YAML tag {node.tag!r} is not allowed (plain data only)")
        if isinstance(node, ScalarNode):
            if len(node.value) > MAX_SCALAR_CHARS:
                raise self.source.error(path, f"value longer than {MAX_SCALAR_CHARS} characters")
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise self.source.error(path, f"bad YAML value {node.value!r}: {exc}") from None
            return value
        inner = active | {id(node)}
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,), depth + 1, inner) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.source.error(path, "keys must be plain scalars (no merge keys or complex keys)")
                key = self.build(key_node, path + ("<key>",), depth + 1, inner)
                if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                    raise self.source.error(path, f"key {key!r} must be a string")
                key = str(key)
                if key in result:
                    raise SpecError("duplicate key", file=self.source.file,
                                    line=key_node.start_mark.line + 1, path=format_path(path + (key,)))
                self.source.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,), depth + 1, inner)
            self.source.lines.pop(path + ("<key>",), None)
            return result
        raise self.source.error(path, "unsupported YAML node")


def parse_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document safely; return plain data and its source map."""
    source = SourceMap(file=file)
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise SpecError(f"file larger than {MAX_BYTES} bytes", file=file, line=None, path="<spec>")
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise SpecError(f"invalid YAML: {problem}", file=file, line=line, path="<spec>") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {str(exc).splitlines()[0]}", file=file, path="<spec>") from None
    except RecursionError:
        raise SpecError(f"nested deeper than {MAX_DEPTH} levels", file=file, path="<spec>") from None
    if len(nodes) > 1:
        raise SpecError("more than one YAML document", file=file, line=nodes[1].start_mark.line + 1,
                        path="<spec>")
    if not nodes or nodes[0] is None:
        return None, source
    return _Builder(source).build(nodes[0], (), 0, frozenset()), source


def read_yaml_file(path: str | Path) -> tuple[Any, SourceMap]:
    """Read and parse a spec file; unreadable files are one-line errors too."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise SpecError(f"file larger than {MAX_BYTES} bytes", file=p.name, path="<spec>")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", file=str(path), path="<spec>") from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a YAML file", file=str(path), path="<spec>") from None
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", file=str(path), path="<spec>") from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=str(path), path="<spec>") from None
    return parse_yaml_text(text, file=p.name)
