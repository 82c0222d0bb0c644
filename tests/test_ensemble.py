"""`hpo ensemble`: the top trials of a small quickstart sweep predict the held-out test split together, and the
published ensemble loads through the Python API and predicts."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import orchestrator
from orchestrator.cli.main import main

QUICKSTART = Path(__file__).resolve().parents[1] / "search_spaces" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quickstart(ray_local, tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("ens") / "runs"
    assert main(["run", str(QUICKSTART), "--storage", str(storage), "--quiet", "--set", "search.num_samples=6",
                 "--set", "early_stopping.max_t=3"]) == 0
    return storage / "quickstart"


def test_ensemble_of_the_top_3_is_published_loads_and_predicts(quickstart, capsys):
    assert main(["ensemble", str(quickstart), "--top", "3"]) == 0
    out = capsys.readouterr().out
    single, combined = map(float, re.search(r"single best ([\d.]+), ensemble of 3 \(mean\) ([\d.]+)", out).groups())
    manifest = json.loads((quickstart / "ensemble" / "ensemble.json").read_text())
    assert [m["trial_id"] for m in manifest["members"]] == re.search(r"members: 3 \((.*)\)", out)[1].split(", ")
    scores = manifest["test_scores"]
    assert scores["score"] == "accuracy" and scores["single_best"] == pytest.approx(single, abs=1e-4) \
        and scores["ensemble"] == pytest.approx(combined, abs=1e-4)
    folder = quickstart / "ensemble" / manifest["checkpoint_dir"]
    for rel, entry in manifest["files"].items():  # every member's checkpoint, checksummed
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == entry["sha256"]
    assert {rel.split("/")[0] for rel in manifest["files"]} == {m["folder"] for m in manifest["members"]}

    ensemble = orchestrator.load_ensemble(str(quickstart))
    probabilities = ensemble.predict_proba(ensemble.X_test)
    assert probabilities.shape == (len(ensemble.y_test), 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    labels = ensemble.predict(ensemble.X_test)
    assert abs(float(np.mean(labels == ensemble.y_test)) - combined) < 1e-4
    assert combined > 0.5


def test_vote_and_bad_arguments(quickstart, capsys):
    assert main(["ensemble", str(quickstart), "--top", "3", "--method", "vote"]) == 0
    assert "ensemble of 3 (vote)" in capsys.readouterr().out
    ensemble = orchestrator.load_ensemble(str(quickstart / "ensemble"))
    assert ensemble.method == "vote" and len(ensemble.predictors) == 3
    assert main(["ensemble", str(quickstart), "--top", "0"]) == 2
    assert "--top must be >= 1" in capsys.readouterr().err


def test_regressors_ensemble_by_the_mean_of_their_predictions(tmp_path):
    """Two sklearn_regressor checkpoints (made without Ray) through their load_predictor hook: the ensemble predicts
    the mean of the members' values and is scored by R^2."""
    from orchestrator import trial
    from orchestrator.reuse.ensemble import Ensemble, score
    from orchestrator.storage.sweep_folder import EnsembleManifest
    from trainables.sklearn_models import sklearn_regressor

    predictors = []
    for index, model in enumerate(({"name": "ridge", "alpha": 1.0}, {"name": "knn", "n_neighbors": 7})):
        config = {"dataset": "diabetes", "model": model, "scaler": "standard"}
        run = trial.run_locally(sklearn_regressor, config)
        (tmp_path / str(index)).mkdir()
        trial.save_state(run.states[-1], tmp_path / str(index))
        predictors.append(sklearn_regressor.load_predictor(config, str(tmp_path / str(index))))
    ensemble = Ensemble(predictors, "mean", EnsembleManifest())
    assert ensemble.task == "regression"
    expected = (predictors[0].predict(ensemble.X_test) + predictors[1].predict(ensemble.X_test)) / 2
    assert np.allclose(ensemble.predict(ensemble.X_test), expected)
    assert ensemble.test_score() == pytest.approx(score("regression", ensemble.y_test, expected))
    assert 0.2 < ensemble.test_score() < 1.0
