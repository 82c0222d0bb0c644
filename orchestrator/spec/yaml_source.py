"""Safe YAML reading that remembers the line of every key, and refuses hostile input.

libyaml's parser (PyYAML's pure-Python one where libyaml is missing) feeds PyYAML's
*composer*, which builds a node tree (no Python objects are created) and here stops at
MAX_NODES nodes or MAX_DEPTH levels as it goes. We turn the nodes into plain data ourselves,
so we can record `key path -> line`, reject every non-standard tag, and bound the work an
alias bomb could cause. Numbers are read as people write them (`1e-3`), dates stay strings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from orchestrator.errors import SpecError
from orchestrator.spec.suggest import excerpt

MAX_BYTES = 1_000_000      # a spec is a page of text, not a data file
MAX_NODES = 10_000         # nodes composed, and visits once aliases are expanded: a spec has hundreds
MAX_DEPTH = 64
MAX_SCALAR_CHARS = 10_000

_TAG = "tag:yaml.org,2002:"
_STANDARD_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
# YAML 1.1 wants a dot and a signed exponent (`1.0e-3`); people write `1e-3` and `1.0e3`
# and mean numbers (as YAML 1.2 and JSON do), so those read as floats too.
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class _SpecResolver(Resolver):
    """PyYAML's implicit types, less timestamps (a date stays the string it was written as)
    and the odd `=`/`!` resolvers, with the wider float syntax above."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers
                if tag not in (_TAG + "timestamp", _TAG + "value", _TAG + "yaml", _TAG + "float")]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    }


_SpecResolver.add_implicit_resolver(_TAG + "float", _FLOAT, list("-+0123456789."))
_SpecResolver.yaml_implicit_resolvers = {k: v for k, v in _SpecResolver.yaml_implicit_resolvers.items() if v}

try:
    from yaml.cyaml import CParser

    class _SafeParser(CParser):
        """libyaml's event parser: C speed on large or hostile input, and no recursion."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _SafeParser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        """PyYAML's pure-Python event parser."""

        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)


class _Refused(Exception):
    """Input refused while composing; `parse_yaml_text` turns it into a located SpecError."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _BoundedLoader(Composer, _SafeParser, _SpecResolver):
    """PyYAML's composer over a safe parser, stopping at MAX_NODES nodes or MAX_DEPTH levels
    before the work (or Python's recursion) grows: nothing but nodes is ever built."""

    def __init__(self, text: str) -> None:
        _SafeParser.__init__(self, text)
        Composer.__init__(self)
        _SpecResolver.__init__(self)
        self.nodes_seen = 0
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        line = self.peek_event().start_mark.line + 1
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} YAML nodes (a spec is a page of text)", line)
        if self.depth >= MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", line)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_single(self) -> Node | None:
        """The stream's one document (None when empty); a second document is refused
        before it is composed."""
        self.get_event()  # stream start
        document = None if self.check_event(StreamEndEvent) else self.compose_document()
        if not self.check_event(StreamEndEvent):
            raise _Refused("more than one YAML document", self.peek_event().start_mark.line + 1)
        return document


KeyPath = tuple[Any, ...]


_PLAIN_KEY = re.compile(r"[\w\-/:@+]{1,40}")


def format_path(path: KeyPath) -> str:
    """`("space", "model", 0)` -> `space.model[0]`; a key with spaces, dots or other marks is
    quoted (`config['a b']`), so that a path is always visible and on one line."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            text += ("." if text else "") + str(part)
        else:
            text += f"[{excerpt(str(part))}]"
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

    def error(self, path: KeyPath, message: str, *, at: KeyPath | None = None) -> SpecError:
        """A located, one-line spec error for `path`, on the line of `at` (a part of the value
        at `path`, such as one bound of a range) when given. An error at, inside or just above
        a key a `--set` put there names that `--set` instead of a line."""
        for origin_path, origin in self.origins.items():
            if path and (origin_path[: len(path)] == path or path[: len(origin_path)] == origin_path):
                return SpecError(message, file=origin, path=format_path(path))
        line = self.line_of(path if at is None else at)
        return SpecError(message, file=self.file, line=line, path=format_path(path))


class _Builder:
    """Turns a composed node tree into plain dicts, lists and scalars, recording lines."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.constructor = SafeConstructor()
        self.visits = 0

    def build(self, node: Node, path: KeyPath, depth: int, active: frozenset[int]) -> Any:
        """Plain data for `node` at `path`; `active` holds the collections being built above it."""
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.source.error(path, f"more than {MAX_NODES} YAML nodes once aliases are expanded "
                                    "(alias bomb?)")
        if depth > MAX_DEPTH:
            raise self.source.error(path, f"nested deeper than {MAX_DEPTH} levels")
        if id(node) in active:
            raise self.source.error(path, "self-referencing YAML alias")
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.check_tag(node, path)
        inner = active | {id(node)}
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,), depth + 1, inner) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, path)
                if key in result:
                    raise SpecError("duplicate key", file=self.source.file,
                                    line=key_node.start_mark.line + 1, path=format_path(path + (key,)))
                self.source.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,), depth + 1, inner)
            return result
        raise self.source.error(path, "unsupported YAML node")

    def check_tag(self, node: Node, path: KeyPath) -> None:
        """Only plain data: strings, numbers, booleans, null, mappings and lists."""
        if node.tag not in _STANDARD_TAGS:
            shown = "!!" + node.tag[len(_TAG):] if node.tag.startswith(_TAG) else node.tag  # as written
            raise self.source.error(path, f"YAML tag {excerpt(shown, 80)} is not allowed (plain data only)")

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        """A scalar's value, by its (standard) tag."""
        self.check_tag(node, path)
        if len(node.value) > MAX_SCALAR_CHARS:
            raise self.source.error(path, f"value longer than {MAX_SCALAR_CHARS} characters")
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # e.g. `!!int x`, `!!bool maybe`, an int of 5000 digits
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise self.source.error(path, f"bad YAML value {excerpt(node.value)}: {reason}") from None

    def key(self, node: Node, path: KeyPath) -> str:
        """A mapping key: a plain scalar, as the text it was written as when not a string."""
        self.visits += 1
        if not isinstance(node, ScalarNode) or node.tag == _TAG + "merge":
            raise self.source.error(path, "keys must be plain scalars (no merge keys or complex keys)")
        key = self.scalar(node, path)
        if isinstance(key, str):
            return key
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            return node.value
        raise self.source.error(path, f"key {excerpt(node.value)} must be a string (quote it)")


def parse_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document safely; return plain data and its source map."""
    source = SourceMap(file=file)
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise SpecError(f"file larger than {MAX_BYTES} bytes", file=file, line=None, path="<spec>")
    try:
        loader = _BoundedLoader(text)
        try:
            root = loader.compose_single()
        finally:
            loader.dispose()
    except _Refused as exc:
        raise SpecError(str(exc), file=file, line=exc.line, path="<spec>") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None  # end of stream: last line
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise SpecError(f"invalid YAML: {problem}", file=file, line=line, path="<spec>") from None
    except yaml.YAMLError as exc:  # a reader error (bad character) knows its offset, not its line
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raise SpecError(f"invalid YAML: {str(exc).splitlines()[0]}", file=file, line=line, path="<spec>") from None
    except UnicodeError:
        raise SpecError("not valid UTF-8 text", file=file, path="<spec>") from None
    except RecursionError:
        raise SpecError(f"nested deeper than {MAX_DEPTH} levels", file=file, path="<spec>") from None
    if root is None:
        return None, source
    return _Builder(source).build(root, (), 0, frozenset()), source


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
