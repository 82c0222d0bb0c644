"""Ensembles of a sweep's top trials: each member is a trial's best checkpoint, loaded by its trainable's
`load_predictor`; classifiers average probabilities (`mean`) or count votes (`vote`), regressors average values;
`greedy` weights them by greedy ensemble selection on the validation rows (`reuse.greedy`). The candidates are the
sweep's best trial and the next best not stopped early (they ran their full budget). `build_ensemble` scores the
single best and the ensemble on the held-out test split and publishes `<sweep>/ensemble/` with its checksummed
manifest; `load_ensemble` reads it back."""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow.fs as pafs

from orchestrator.errors import UserInputError
from orchestrator.extensions.trainables import resolve_predictor_loader
from orchestrator.report.folder import SweepFolder
from orchestrator.report.outcomes import DONE
from orchestrator.report.sweep_data import SweepData, load_sweep
from orchestrator.reuse.greedy import greedy_weights
from orchestrator.storage import publish_tree, resolve_storage
from orchestrator.storage.best import cache_dir
from orchestrator.storage.fetch import fetch_published
from orchestrator.storage.sweep_folder import (
    ENSEMBLE_FOLDER, PARAMS_FILE, EnsembleManifest, ensemble_folder,
)

METHODS = ("mean", "vote", "greedy")
CHECKPOINT_COLUMN = "checkpoint_dir_name"   # Ray's name, in each result row, of the checkpoint it saved


class Ensemble:
    """Members' predictors combined, by their `weights` (default equal): `predict` gives labels (classifiers) or
    values (regressors)."""

    def __init__(self, predictors: Sequence[Any], method: str, manifest: EnsembleManifest,
                 weights: Sequence[float] | None = None) -> None:
        self.predictors, self.method, self.manifest = list(predictors), method, manifest
        self.weights = np.asarray(weights if weights is not None else [1.0 / len(predictors)] * len(predictors))
        self.task = predictors[0].task

    @property
    def X_test(self) -> np.ndarray:
        return self.predictors[0].X_test

    @property
    def y_test(self) -> np.ndarray:
        return self.predictors[0].y_test

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities: the members' weighted mean, or the weighted share of their votes."""
        outputs = [p.predict(X) for p in self.predictors]
        mean = np.tensordot(self.weights, np.asarray(outputs), axes=1)
        if self.method == "vote":
            votes = np.zeros_like(outputs[0])
            for weight, probabilities in zip(self.weights, outputs):
                votes[np.arange(len(X)), probabilities.argmax(axis=1)] += weight
            return votes + 1e-9 * mean  # ties go to the higher mean probability
        return mean

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            return np.tensordot(self.weights, np.asarray([p.predict(X) for p in self.predictors]), axes=1)
        return self.predict_proba(X).argmax(axis=1)

    def test_score(self) -> float:
        """Accuracy (classifiers) or R^2 (regressors) on the held-out test split."""
        return score(self.task, self.y_test, self.predict(self.X_test))


def score(task: str, y_true: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy, or R^2 for a regression."""
    if task == "regression":
        residual = float(np.sum((y_true - predicted) ** 2))
        return 1.0 - residual / float(np.sum((y_true - np.mean(y_true)) ** 2))
    return float(np.mean(np.asarray(y_true) == predicted))


@dataclass(frozen=True)
class EnsembleResult:
    """What `build_ensemble` did: the test scores of the single best and of the ensemble, where it went."""

    single_best: float
    ensemble: float
    score_name: str          # accuracy | r2
    members: list[str]       # trial ids, best first
    published_uri: str
    weights: list[float]     # of the members, summing to 1
    candidates: list[str]    # trial ids the members were chosen from: the best, then those not stopped early


def build_ensemble(sweep_uri: str, *, top: int = 5, method: str = "mean",
                   storage_options: Mapping[str, Any] | None = None) -> EnsembleResult:
    """Ensemble a finished sweep's best trial and the next best not stopped early, `top` in all (`greedy`:
    those greedy selection picks from them), score it against the single best on the test split, and publish
    `<sweep>/ensemble/` (the members' best checkpoints and `ensemble.json`)."""
    if method not in METHODS:
        raise UserInputError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    if top < 1:
        raise UserInputError(f"--top must be >= 1, got {top}")
    data = load_sweep(sweep_uri, storage_options)
    trainable = str(data.spec.get("trainable") or "")
    loader = resolve_predictor_loader(trainable) if trainable else None
    if loader is None:
        raise UserInputError(f"trainable {trainable!r} has no load_predictor (see trainables/predictors.py); "
                             f"cannot ensemble {data.location.display}")
    ranked = data.trials.dropna(subset=["best_value"]).sort_values("best_value", ascending=data.mode == "min")
    if ranked.empty:
        raise UserInputError(f"{data.location.display}: no trial reported {data.metric}")
    candidates = _candidates(ranked, top)
    folder = SweepFolder(data.location)
    with tempfile.TemporaryDirectory(prefix="hpo-ensemble-") as work:
        members = [_download_member(folder, data, trial_id, Path(work)) for trial_id in candidates]
        predictors = [loader(m["config"], str(Path(work) / m["folder"])) for m in members]
        weights = _weights(method, predictors)
        for member, weight in zip(members, weights):
            if weight == 0:   # not chosen: not published
                shutil.rmtree(Path(work) / member["folder"])
        chosen = [i for i, weight in enumerate(weights) if weight > 0]
        members = [{**members[i], "weight": weights[i]} for i in chosen]
        manifest = EnsembleManifest(method=method, task=predictors[0].task, trainable=trainable, metric=data.metric,
                                    mode=data.mode, sweep_uri=data.uri, members=members)
        ensemble = Ensemble([predictors[i] for i in chosen], method, manifest, [weights[i] for i in chosen])
        single = score(ensemble.task, ensemble.y_test, Ensemble(predictors[:1], method, manifest).predict(
            ensemble.X_test))
        combined = ensemble.test_score()
        score_name = "r2" if ensemble.task == "regression" else "accuracy"
        manifest = EnsembleManifest(**{**manifest.__dict__, "test_scores": {
            "score": score_name, "single_best": single, "ensemble": combined}})
        published = publish_tree(ensemble_folder(data.location), (pafs.LocalFileSystem(), work), manifest)
    return EnsembleResult(single_best=single, ensemble=combined, score_name=score_name,
                          members=[m["trial_id"] for m in members], published_uri=published,
                          weights=[m["weight"] for m in members], candidates=candidates)


def _candidates(ranked: Any, top: int) -> list[str]:
    """The sweep's best trial and the next best that ran their full budget (not stopped early by the scheduler or a
    stopper), `top` in all: a trial stopped early is a weaker model than its early validation score says."""
    best = str(ranked["trial_id"].iloc[0])
    full = [str(t) for t, outcome in zip(ranked["trial_id"], ranked["outcome"]) if outcome == DONE and t != best]
    return [best, *full][:top]


def _weights(method: str, predictors: Sequence[Any]) -> list[float]:
    """Equal weights, or greedy selection's on the validation rows every member was scored on."""
    if method != "greedy":
        return [1.0 / len(predictors)] * len(predictors)
    first = predictors[0]
    rows = [getattr(p, "X_val", None) for p in predictors]   # a predictor of another kind may not have them
    if any(r is None or not np.array_equal(r, rows[0]) for r in rows):
        raise UserInputError("--method greedy needs validation rows that every member was scored on and none "
                             "trained on (not with cross-validation or different splits); use mean or vote")
    return greedy_weights([p.predict(first.X_val) for p in predictors], first.y_val, first.task)


def _download_member(folder: SweepFolder, data: SweepData, trial_id: str, work: Path) -> dict[str, Any]:
    """Copy a trial's best kept checkpoint into `work/<trial id>/`; its manifest entry."""
    trial_dir = f"{data.name}_{trial_id}"
    kept = {e.name for e in folder.entries(trial_dir) if e.is_dir}
    rows = data.results[(data.results["trial_id"] == trial_id) & data.results[data.metric].notna()]
    if CHECKPOINT_COLUMN in rows:
        rows = rows[rows[CHECKPOINT_COLUMN].isin(kept)]
    if rows.empty:
        raise UserInputError(f"trial {trial_id} of {data.location.display} kept no checkpoint to ensemble")
    best = rows.sort_values(data.metric, ascending=data.mode == "min").iloc[0]
    source = data.location.join(trial_dir, str(best[CHECKPOINT_COLUMN]))
    (work / trial_id).mkdir(parents=True)
    pafs.copy_files(source.path, str(work / trial_id), source_filesystem=data.location.filesystem,
                    destination_filesystem=pafs.LocalFileSystem())
    return {"trial_id": trial_id, "folder": trial_id, "config": folder.read_json(trial_dir, PARAMS_FILE),
            "metric_value": float(best[data.metric]), "iteration": int(best["training_iteration"])}


def load_ensemble(uri: str, *, to_dir: str | os.PathLike[str] | None = None,
                  storage_options: Mapping[str, Any] | None = None) -> Ensemble:
    """The ensemble published at `<sweep>/ensemble` (`uri`: the sweep or that folder), its checkpoints fetched
    (checksums verified) to `to_dir` (default a per-version cache folder) and loaded."""
    location = resolve_storage(uri, storage_options, create=False)
    if location.path.rstrip("/").rsplit("/", 1)[-1] != ENSEMBLE_FOLDER:
        location = ensemble_folder(location)
    manifest = EnsembleManifest.read(location)
    target = Path(to_dir) if to_dir is not None else cache_dir(location, manifest, kind="ensemble")
    root = fetch_published(location, manifest, target)
    loader = resolve_predictor_loader(str(manifest.trainable))
    if loader is None:
        raise UserInputError(f"trainable {manifest.trainable!r} has no load_predictor; cannot load the ensemble")
    predictors = [loader(m["config"], str(root / m["folder"])) for m in manifest.members]
    weights = [m.get("weight", 1.0 / len(predictors)) for m in manifest.members]  # no weights before greedy
    return Ensemble(predictors, str(manifest.method), manifest, weights)

