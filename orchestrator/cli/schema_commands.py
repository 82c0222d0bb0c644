"""`hpo schema`: the JSON Schema of the spec, for editors (`# yaml-language-server: $schema=FILE`)."""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    schema = subparsers.add_parser(
        "schema", help="print the JSON Schema of the spec (for editors)",
        description="Print the JSON Schema (draft 2020-12) of a spec, generated from the definitions that "
                    "validate it. Save it (hpo schema > hpo-spec.schema.json) and point your editor at it, "
                    "e.g. '# yaml-language-server: $schema=hpo-spec.schema.json' on a spec's first line.")
    schema.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    from orchestrator.spec.json_schema import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return 0
