"""Extension points: a trainable registered by another installed package's `hpo.trainables`
entry point is listed, validated and swept like a built-in; the searcher and scheduler tables
agree with the code their entries name."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import shutil
import sys
from pathlib import Path

import pytest

from installed import write_dist_info
from orchestrator.cli.main import main
from orchestrator.extensions import trainables
from orchestrator.extensions.references import load_reference
from orchestrator.extensions.schedulers import SCHEDULERS
from orchestrator.extensions.searchers import SKOPT_OPTIONS, SEARCHERS
from orchestrator.spec import EarlyStopping

MYPKG = '''\
"""A third-party package that registers a trainable through an entry point."""
from orchestrator import trial


def tiny_quadratic(config: dict) -> None:
    for epoch in range(1, 3):
        trial.report({"score": -(config["x"] - 0.3) ** 2 - 1.0 / epoch}, state={"epoch": epoch})


def _final_fit(config: dict, out_dir: str) -> dict:
    return {"test_score": -(config["x"] - 0.3) ** 2}


tiny_quadratic.final_fit = _final_fit
'''

SPEC = """\
name: tiny
trainable: {trainable}
metric: score
mode: max
space:
  x: {{uniform: [0, 1]}}
search: {{method: random, num_samples: 2, seed: 0}}
"""


@pytest.fixture
def mypkg(site_dir: Path):
    """`mypkg` installed (module and dist-info) in a folder on the path here and of Ray workers."""
    (site_dir / "mypkg").mkdir()
    (site_dir / "mypkg" / "__init__.py").write_text(MYPKG)
    info = write_dist_info(site_dir, "mypkg", "0.1", {"hpo.trainables": {"tiny_quadratic": "mypkg:tiny_quadratic"}})
    yield "tiny_quadratic"
    shutil.rmtree(site_dir / "mypkg")
    shutil.rmtree(info)
    sys.modules.pop("mypkg", None)
    importlib.invalidate_caches()


def spec_file(tmp_path: Path, trainable: str) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC.format(trainable=trainable))
    return path


# --- trainables from entry points ----------------------------------------------------------

def test_an_installed_package_registers_a_trainable_without_being_imported(mypkg: str) -> None:
    assert mypkg in trainables.names() and "sklearn_classifier" in trainables.names()
    assert "mypkg" not in sys.modules  # listing reads metadata only
    train = trainables.resolve(mypkg)
    assert train.__module__ == "mypkg" and trainables.resolve_final_fit(mypkg) is train.final_fit


def test_hpo_validate_accepts_the_registered_name(mypkg: str, tmp_path: Path, capsys) -> None:
    assert main(["validate", str(spec_file(tmp_path, mypkg))]) == 0
    assert "trainable: tiny_quadratic   metric: score (max)" in capsys.readouterr().out


def test_an_unknown_name_still_gets_did_you_mean(mypkg: str, tmp_path: Path, capsys) -> None:
    assert main(["validate", str(spec_file(tmp_path, "tiny_quadratik"))]) == 2
    err = capsys.readouterr().err
    assert "trainable: unknown trainable 'tiny_quadratik' (did you mean 'tiny_quadratic'?); registered: " in err
    assert "tiny_quadratic" in err.split("registered: ")[1] and err.count("\n") == 1


def test_a_sweep_runs_the_entry_point_trainable(mypkg: str, ray_local, tmp_path: Path, storage_dir: Path) -> None:
    from orchestrator import run_sweep

    result = run_sweep(spec_file(tmp_path, mypkg), storage=str(storage_dir), quiet=True)
    assert result.num_trials == 2 and not result.failures
    assert result.best_iteration == 2 and result.best_metric is not None
    assert (storage_dir / "tiny" / "best" / "best.json").exists()


def test_no_registered_trainable_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setattr(trainables, "entry_points", lambda group: [])
    with pytest.raises(trainables.TrainableNotFound, match=r"is hpo installed \(pip install -e \.\)\?"):
        trainables.resolve("sklearn_classifier")
    assert trainables.resolve("sweep_trainables:quadratic")  # a module:function needs no registry


# --- the searcher and scheduler tables --------------------------------------------------------

@pytest.mark.parametrize("builder", sorted({e.builder for e in (*SEARCHERS.values(), *SCHEDULERS.values())}))
def test_every_builder_the_tables_name_exists(builder: str) -> None:
    assert callable(load_reference(builder))


def test_skopt_search_takes_the_declared_bayes_options_and_defaults() -> None:
    from orchestrator.searchers import skopt_search, skopt_surrogate

    declared = {option.name: option for option in SKOPT_OPTIONS}
    parameters = inspect.signature(skopt_search.SkOptSearch).parameters
    assert {name: parameters[name].default for name in declared} == {n: o.default for n, o in declared.items()}
    assert declared["base_estimator"].rule.values == skopt_surrogate.BASE_ESTIMATORS
    assert declared["acq_func"].rule.values == skopt_surrogate.ACQ_FUNCS
    assert declared["initial_point_generator"].rule.values == ("random", *skopt_search.INITIAL_GENERATORS)


def test_scheduler_parameter_defaults_are_the_spec_defaults() -> None:
    typed = {f.name: f.default for f in dataclasses.fields(EarlyStopping)}
    for entry in SCHEDULERS.values():
        for option in entry.parameters:
            if option.name not in ("max_t", "reduction_factor"):  # their defaults depend on the method
                assert option.default == typed[option.name], (entry.name, option.name)


def test_listing_the_tables_imports_no_heavy_library() -> None:
    import subprocess

    code = ("import sys, orchestrator.extensions.searchers, orchestrator.extensions.schedulers, "
            "orchestrator.extensions.trainables as t; t.names(); "
            "print(sorted(m for m in ('ray', 'skopt', 'torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "[]"


def test_the_spec_validates_scheduler_parameters_from_the_table() -> None:
    from orchestrator.spec import load_spec_text

    text = SPEC.format(trainable="sweep_trainables:quadratic") + "early_stopping: {method: asha, max_t: 12}\n"
    es = load_spec_text(text, "t.yaml").early_stopping
    assert es.parameters == {"max_t": 12, "grace_period": 1, "reduction_factor": 3.0, "brackets": 1}
