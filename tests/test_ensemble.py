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
