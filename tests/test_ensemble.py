"""`hpo ensemble`: the top trials of a small quickstart sweep (the best and the next best that ran the full budget)
predict the held-out test split together, and the published ensemble loads through the Python API and predicts;
greedy ensemble selection weights them on the validation rows."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import orchestrator
from orchestrator.cli.main import main
from orchestrator.reuse.greedy import greedy_weights

QUICKSTART = Path(__file__).resolve().parents[1] / "search_spaces" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quickstart(ray_local, tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("ens") / "runs"
    assert main(["run", str(QUICKSTART), "--storage", str(storage), "--quiet", "--set", "search.num_samples=6",
                 "--set", "early_stopping.max_t=3", "--set", "search.max_concurrent=1"]) == 0
    return storage / "quickstart"


def candidates_of(sweep: Path, top: int) -> list[str]:
    """The best trial and the next best not stopped early by ASHA (which marks the result it stopped a trial on
    `done` before max_t, 3), read from the result files."""
    rows = {p.parent.name.split("_", 1)[-1]: [json.loads(line) for line in p.read_text().splitlines()]
            for p in sweep.glob("*/result.json")}
    ranked = sorted(rows, key=lambda t: -max(row["val_accuracy"] for row in rows[t]))
    full = [t for t in ranked[1:] if not (rows[t][-1]["done"] and rows[t][-1]["training_iteration"] < 3)]
    return [ranked[0], *full][:top]


def test_ensemble_of_the_top_3_is_published_loads_and_predicts(quickstart, capsys):
    assert main(["ensemble", str(quickstart), "--top", "3"]) == 0
    out = capsys.readouterr().out
    candidates = candidates_of(quickstart, 3)
    assert len(candidates) >= 2 and f"({', '.join(candidates)})" in out
    n = len(candidates)
    single, combined = map(float, re.search(rf"single best ([\d.]+), ensemble of {n} \(mean\) ([\d.]+)",
                                            out).groups())
    manifest = json.loads((quickstart / "ensemble" / "ensemble.json").read_text())
    assert [m["trial_id"] for m in manifest["members"]] == candidates
    assert f"members: {n} ({', '.join(candidates)}), weights " + ", ".join([f"{1 / n:.2f}"] * n) in out
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


def test_greedy_selection_weights_members_on_the_validation_rows(quickstart, capsys):
    assert main(["ensemble", str(quickstart), "--top", "4", "--method", "greedy"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((quickstart / "ensemble" / "ensemble.json").read_text())
    members, weights = [m["trial_id"] for m in manifest["members"]], [m["weight"] for m in manifest["members"]]
    assert set(members) <= set(candidates_of(quickstart, 4)) and sum(weights) == pytest.approx(1.0)
    assert all(w > 0 for w in weights) and {rel.split("/")[0] for rel in manifest["files"]} == set(members)
    assert f"members: {len(members)} ({', '.join(members)}), weights " + ", ".join(f"{w:.2f}" for w in weights) in out
    ensemble = orchestrator.load_ensemble(str(quickstart))
    expected = sum(w * p.predict(ensemble.X_test) for w, p in zip(weights, ensemble.predictors))
    assert ensemble.method == "greedy" and np.allclose(ensemble.predict_proba(ensemble.X_test), expected)
    assert ensemble.test_score() == pytest.approx(manifest["test_scores"]["ensemble"])


def test_greedy_selection_with_replacement_finds_complementary_members():
    """A is right on the first half of the rows, B on the second, C guesses; each alone scores 0.5, A and B together
    1.0: greedy selection takes A, then B, and never C."""
    y = np.array([0] * 50 + [1] * 50)
    right, wrong = np.array([0.6, 0.4]), np.array([0.55, 0.45])
    a = np.array([right] * 50 + [wrong] * 50)
    b = np.array([wrong[::-1]] * 50 + [right[::-1]] * 50)
    c = np.full((100, 2), 0.5)
    assert greedy_weights([c, a, b], y, "classification") == [0.0, 0.5, 0.5]
    assert greedy_weights([a, c], y, "classification") == [1.0, 0.0]   # nothing helps the best: it stays alone
    values = np.linspace(0, 1, 20)   # regressors: one part +0.3 and three parts -0.1 average to no error at all
    assert greedy_weights([values + 0.3, values - 0.1, values - 0.3], values, "regression") == [0.25, 0.75, 0.0]


def test_greedy_refuses_members_without_held_out_validation_rows():
    """With cross-validation (`cv`) every model trained on the validation rows: no Predictor.X_val, no greedy."""
    from orchestrator.errors import UserInputError
    from orchestrator.reuse.ensemble import _weights
    from trainables.predictors import Predictor

    member = Predictor("classification", 2, lambda X: np.full((len(X), 2), 0.5), np.zeros((3, 1)), np.zeros(3))
    assert _weights("mean", [member, member]) == [0.5, 0.5]
    with pytest.raises(UserInputError, match="--method greedy needs validation rows that every member was scored on"):
        _weights("greedy", [member, member])


def test_vote_and_bad_arguments(quickstart, capsys):
    assert main(["ensemble", str(quickstart), "--top", "3", "--method", "vote"]) == 0
    assert "(vote)" in capsys.readouterr().out
    ensemble = orchestrator.load_ensemble(str(quickstart / "ensemble"))
    assert ensemble.method == "vote" and len(ensemble.predictors) == len(candidates_of(quickstart, 3))
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
