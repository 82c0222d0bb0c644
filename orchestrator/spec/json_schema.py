"""The JSON Schema (draft 2020-12) of a spec, for editors: `hpo schema`.

Generated from the definitions that validate a spec: the key declarations of `fields.py`, the
searcher and scheduler tables and the distribution grammar of `space_model.py`; it adds what
one key says about another (a searcher's options need its method, a scheduler parameter a method
that takes it). Our own descriptors, not pydantic: validation must keep its located one-line
errors and did-you-mean hints, the extension tables must stay stdlib-only, and the space grammar
(conditional branches) is ours to describe. Bounds between values (low < high), quoted numbers
and `key: null` read as absent are the validator's alone: `hpo validate` is the check that counts.
"""
from __future__ import annotations

from typing import Any

from orchestrator.extensions.options import JsonSchema
from orchestrator.extensions.schedulers import SCHEDULERS, all_parameters
from orchestrator.extensions.searchers import SEARCHERS
from orchestrator.extensions.trainables import names as registered_trainables
from orchestrator.spec.fields import EARLY_STOPPING, TOP_LEVEL, TRAINABLE_REF, storage_option_names
from orchestrator.spec.space_model import BRANCH_KEY, DISTRIBUTIONS, INTEGER_RANGES, RANGE_ARGUMENTS, VALUE_LISTS

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def spec_json_schema() -> JsonSchema:
    """The schema of a whole spec file."""
    schema: JsonSchema = {"$schema": DIALECT, "title": "hpo sweep spec",
                          "description": "One hyperparameter sweep on Ray Tune (hpo run SPEC).",
                          **TOP_LEVEL.json_schema(), "$defs": _space_grammar()}
    keys = schema["properties"]
    keys["trainable"] = {**keys["trainable"], "anyOf": [{"enum": registered_trainables()},
                                                        {"pattern": f"^{TRAINABLE_REF}$"}]}
    keys["search"]["allOf"] = _options_need_their_method()
    keys["early_stopping"]["allOf"] = _parameters_need_a_method_taking_them()
    storage_options = storage_option_names()
    if storage_options is not None:
        keys["storage_options"]["propertyNames"] = {"enum": list(storage_options)}
    return schema


def _options_need_their_method() -> list[JsonSchema]:
    """Options in `search.<options_key>` only with `search.method` of that searcher."""
    return [{"if": {"required": [entry.options_key], "properties": {entry.options_key: {"minProperties": 1}}},
             "then": {"required": ["method"], "properties": {"method": {"const": entry.name}}}}
            for entry in SEARCHERS.values() if entry.options_key]


def _parameters_need_a_method_taking_them() -> list[JsonSchema]:
    """A scheduler parameter only with a method that takes it (no method: the default one)."""
    default = EARLY_STOPPING.option("method").default
    rules = []
    for option in all_parameters():
        methods = [name for name, entry in SCHEDULERS.items() if option.name in {p.name for p in entry.parameters}]
        if len(methods) == len(SCHEDULERS):
            continue
        then: JsonSchema = {"properties": {"method": {"enum": methods}}}
        if default not in methods:
            then["required"] = ["method"]
        rules.append({"if": {"required": [option.name]}, "then": then})
    return rules


def _space_grammar() -> dict[str, JsonSchema]:
    """`$defs` for the space: parameter name -> distribution, constant or nested mapping."""
    parameter_names = {"additionalProperties": {"$ref": "#/$defs/parameter"}}
    return {
        "space": {"type": "object", "minProperties": 1, **parameter_names},
        "parameter": {"anyOf": [
            *(_distribution(kind, _range(kind)) for kind in RANGE_ARGUMENTS),
            *(_distribution(kind, {"type": "array", "minItems": 1}) for kind in VALUE_LISTS),
            _distribution("choice", {"type": "object", "minProperties": 1,
                                     "additionalProperties": {"anyOf": [{"type": "null"},
                                                                        {"$ref": "#/$defs/branch"}]}},
                          "a conditional choice: one branch per name, each with its own parameters"),
            {"type": "object", "propertyNames": {"not": {"enum": list(DISTRIBUTIONS)}}, **parameter_names,
             "description": "nested parameters"},
            {"not": {"type": "object"}, "description": "a constant"},
        ]},
        "branch": {"type": "object", "propertyNames": {"not": {"const": BRANCH_KEY}}, **parameter_names},
    }


def _range(kind: str) -> JsonSchema:
    arguments = RANGE_ARGUMENTS[kind]
    return {"type": "array", "items": {"type": "integer" if kind in INTEGER_RANGES else "number"},
            "minItems": len(arguments), "maxItems": len(arguments), "description": f"[{', '.join(arguments)}]"}


def _distribution(kind: str, arguments: JsonSchema, description: str = "") -> JsonSchema:
    """A mapping whose only key is the distribution `kind`."""
    schema: dict[str, Any] = {"type": "object", "properties": {kind: arguments}, "required": [kind],
                              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema
