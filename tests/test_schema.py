"""`hpo schema`: a valid JSON Schema (draft 2020-12) that every example spec satisfies and that
refuses what the validator refuses, generated from the definitions that validate specs."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from orchestrator.cli.main import main
from orchestrator.errors import SpecError
from orchestrator.extensions.searchers import SKOPT_OPTIONS
from orchestrator.spec import load_spec_text
from orchestrator.spec.json_schema import spec_json_schema
from orchestrator.spec.yaml_source import parse_yaml_text, read_yaml_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "search_spaces").glob("*.yaml"))
HEADER = "name: t\ntrainable: sklearn_classifier\nmetric: acc\nmode: max\n"
VALID = HEADER + "space:\n  x: {uniform: [0, 1]}\n"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_spec_satisfies_the_schema(path: Path, validator) -> None:
    raw, _ = read_yaml_file(path)  # numbers as hpo (and YAML 1.2 editors) read them: 1.0e3 is a float
    assert [e.message for e in validator.iter_errors(raw)] == []


@pytest.mark.parametrize("text", [
    VALID,
    HEADER.replace("sklearn_classifier", "trainables.sklearn_models:sklearn_classifier") + "space:\n  m:\n    choice:\n      svc: {C: {loguniform: [1, 10]}}\n"
             "      knn:\n  g: {grid: [1, 2]}\n  n: {a: 1, b: {randint: [1, 3]}}\n  c: [1, 2]\n",
    VALID + "search: {method: bayes, bayes: {acq_func: EI, xi: 0.1, liar: kb}}\n",
    VALID + "early_stopping: {method: median, grace_period: 2, stop: {plateau: {patience: 3}}}\n",
    VALID + "early_stopping: {max_t: 20}\nresources: {cpu: 0.5, gpu: 0.25}\nstorage_options: {endpoint_url: x}\n",
], ids=["minimal", "space-grammar", "bayes", "median", "none"])
def test_specs_the_validator_accepts_satisfy_the_schema(text: str, validator) -> None:
    load_spec_text(text, "t.yaml")
    raw, _ = parse_yaml_text(text, "t.yaml")
    assert [e.message for e in validator.iter_errors(raw)] == []


@pytest.mark.parametrize("text", [
    VALID + "serach: {method: grid}\n",
    VALID + "search: {method: bayess}\n",
    VALID + "search: {method: bayes, bayes: {acq_func: EII}}\n",
    VALID + "search: {method: bayes, bayes: {acq_fun: EI}}\n",
    VALID + "search: {method: random, bayes: {acq_func: EI}}\n",
    VALID + "resources: {cpu: -1}\n",
    HEADER + "space:\n  x: {loguniform: [1, 10, 100]}\n",
    HEADER + "space:\n  x: {uniform: [0, 1], q: 2}\n",
    VALID + "early_stopping: {method: ashaa}\n",
    VALID + "early_stopping: {method: hyperband, grace_period: 2}\n",
    VALID + "early_stopping: {grace_period: 2}\n",
    VALID.replace("name: t", "name: Big Name"),
], ids=["unknown-top-level-key", "bad-search-method", "bad-bayes-value", "unknown-bayes-option",
        "bayes-options-without-bayes", "negative-cpu", "loguniform-3-values", "distribution-plus-key",
        "bad-early-stopping-method", "parameter-of-another-scheduler", "parameter-without-method", "bad-name"])
def test_invalid_specs_fail_the_schema_as_they_fail_validation(text: str, validator) -> None:
    with pytest.raises(SpecError):
        load_spec_text(text, "t.yaml")
    raw, _ = parse_yaml_text(text, "t.yaml")
    assert list(validator.iter_errors(raw))


def test_the_schema_comes_from_the_tables() -> None:
    schema = spec_json_schema()
    search = schema["properties"]["search"]
    assert search["properties"]["method"]["enum"] == ["grid", "random", "bayes"]
    bayes = search["properties"]["bayes"]["properties"]
    assert list(bayes) == [option.name for option in SKOPT_OPTIONS]
    assert bayes["kappa_decay"]["exclusiveMinimum"] == 0.0 and bayes["acq_func"]["default"] == "gp_hedge"
    early = schema["properties"]["early_stopping"]["properties"]
    assert early["reduction_factor"] == {"type": "number", "exclusiveMinimum": 1.0,
                                         "description": early["reduction_factor"]["description"]}
    assert early["reduction_factor"]["description"].endswith("(default: asha 3, hyperband 4)")


def test_hpo_schema_prints_the_schema_as_json(capsys) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert printed == spec_json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
