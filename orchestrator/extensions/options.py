"""Declared options: an `Option` (name, rule, default, one line of doc) is written once and
serves three readers: validation, documentation and the JSON Schema of `hpo schema`.

`OneOf`, `Integer` and `Number` check one value; `Text`, `TextList`, `Mapping`, `Section`
and `Ref` describe spec keys, which the spec reader checks. `Option.check` raises a
ValueError that names the option (`acq_func must be one of EI, PI; got 'EII'`): the message a
searcher's Python API and a spec's `search.<options>` share.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

JsonSchema = dict[str, Any]


class Rule(Protocol):
    """What a value must be; every rule can describe itself as JSON Schema."""

    def json_schema(self) -> JsonSchema: ...


@dataclass(frozen=True)
class OneOf:
    """One of a few fixed values."""

    values: tuple[Any, ...]

    def check(self, name: str, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"{name} must be one of {', '.join(map(str, self.values))}; got {value!r}")
        return value

    def json_schema(self) -> JsonSchema:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Integer:
    """An integer (not a bool) within optional inclusive bounds."""

    minimum: int | None = None
    maximum: int | None = None

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer; got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{name} must be >= {self.minimum}; got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{name} must be <= {self.maximum}; got {value!r}")
        return int(value)

    def json_schema(self) -> JsonSchema:
        return {"type": "integer", **_bounds(minimum=self.minimum, maximum=self.maximum)}


@dataclass(frozen=True)
class Number:
    """A number, checked as a float: at least `minimum`, or strictly above `above`."""

    minimum: float | None = None
    above: float | None = None

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number; got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{name} must be >= {self.minimum}; got {value!r}")
        if self.above is not None and value <= self.above:
            raise ValueError(f"{name} must be > {self.above}; got {value!r}")
        return float(value)  # an int too large for a float raises OverflowError, saying so

    def json_schema(self) -> JsonSchema:
        return {"type": "number", **_bounds(minimum=self.minimum, exclusiveMinimum=self.above)}


@dataclass(frozen=True)
class Text:
    """A non-empty string, matching `pattern` (whole) when given; `hint` says why it must."""

    pattern: str | None = None
    hint: str = ""

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "string", "minLength": 1}
        if self.pattern:
            schema["pattern"] = f"^{self.pattern}$"
        return schema


@dataclass(frozen=True)
class TextList:
    """A list of non-empty strings (one string stands for a list of one)."""

    def json_schema(self) -> JsonSchema:
        text = {"type": "string", "minLength": 1}
        return {"anyOf": [text, {"type": "array", "items": text}]}


@dataclass(frozen=True)
class Mapping:
    """A mapping with free keys; `value_types` (JSON type names) limits its values."""

    value_types: tuple[str, ...] = ()

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "object"}
        if self.value_types:
            schema["additionalProperties"] = {"type": list(self.value_types)}
        return schema


@dataclass(frozen=True)
class Ref:
    """A value whose grammar the JSON Schema defines once under `$defs/<name>` (the space)."""

    name: str

    def json_schema(self) -> JsonSchema:
        return {"$ref": f"#/$defs/{self.name}"}


@dataclass(frozen=True)
class Option:
    """One key of an extension's options or of the spec: its rule, default and doc line."""

    name: str
    rule: Rule
    default: Any = None
    doc: str = ""
    required: bool = False  # when the mapping holding it is given

    def check(self, value: Any) -> Any:
        """The checked value (a rule may convert, e.g. an int to a float); ValueError if refused."""
        return self.rule.check(self.name, value)  # type: ignore[attr-defined]

    def json_schema(self) -> JsonSchema:
        schema = dict(self.rule.json_schema())
        if self.doc:
            schema["description"] = self.doc
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class Section:
    """A mapping of declared keys, each an Option; any other key is refused."""

    options: tuple[Option, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(option.name for option in self.options)

    def option(self, name: str) -> Option:
        return next(option for option in self.options if option.name == name)

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {
            "type": "object",
            "properties": {option.name: option.json_schema() for option in self.options},
            "additionalProperties": False,
        }
        required = [option.name for option in self.options if option.required]
        if required:
            schema["required"] = required
        return schema


def _bounds(**bounds: float | None) -> JsonSchema:
    """The JSON Schema keywords of the bounds that are set."""
    return {keyword: value for keyword, value in bounds.items() if value is not None}
