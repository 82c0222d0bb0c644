"""Warm start (`search.warm_start`): the finished trials of an earlier sweep, local or on S3, that fit an edited
space (one range narrowed, one branch removed, one parameter added) are told to the Bayesian searcher first; random
search draws again rather than repeat one of them (grid search: `test_extend.py`)."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from orchestrator.cli.main import main
from orchestrator.errors import UserInputError
from orchestrator.runner.warm_start import load_warm_start
from orchestrator.spec import load_spec_text
from s3_fixtures import s3_client

OLD = """\
name: old
trainable: sweep_trainables:branchy
metric: score
mode: max
config: {z: 1}
space:
  x: {uniform: [0, 6]}
  model: {choice: {a: {w: {uniform: [0, 1]}}, b: {v: {randint: [1, 5]}}}}
search: {method: random, num_samples: 12, seed: 5, max_concurrent: 1}  # one trial actor: quicker
"""
# x narrowed to [2, 6], branch b removed, z (a constant before) now searched
NEW = """\
name: new
trainable: sweep_trainables:branchy
metric: score
mode: {mode}
space:
  x: {{uniform: [2, 6]}}
  model: {{choice: {{a: {{w: {{uniform: [0, 1]}}}}}}}}
  z: {{randint: [0, 3]}}
search: {{method: bayes, num_samples: 3, seed: 1, max_concurrent: 1, warm_start: [{uri}],
         bayes: {{n_initial_points: 2}}}}
storage_options: {{endpoint_url: {endpoint}}}
"""


def params_of(sweep: Path) -> list[dict]:
    """The configs of the sweep's trials."""
    return [json.loads(p.read_text()) for p in sweep.glob("*/params.json")]


@pytest.fixture(scope="module")
def old_sweep(ray_local, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The earlier sweep, and how many of its trials the edited space keeps and drops, and why."""
    tmp = tmp_path_factory.mktemp("old")
    (tmp / "old.yaml").write_text(OLD)
    assert main(["run", str(tmp / "old.yaml"), "--storage", str(tmp / "runs"), "--quiet"]) == 0
    params = params_of(tmp / "runs" / "old")
    outside = sum(p["x"] < 2 for p in params)
    removed = sum(p["x"] >= 2 and p["model"]["name"] == "b" for p in params)
    assert outside and removed and len(params) - outside - removed  # the seed gives each case
    return tmp / "runs" / "old", {"reused": len(params) - outside - removed, "outside": outside,
                                  "removed": removed, "finished": len(params)}


def expected_line(counts: dict[str, int]) -> str:
    return (f"warm start: reused {counts['reused']} of {counts['finished']} finished trials (dropped: "
            f"{counts['removed']} in removed branches, {counts['outside']} outside the new ranges)")


def test_warm_start_from_a_local_sweep_tells_the_searcher_what_fits(old_sweep, tmp_path, capsys, s3_server):
    old, counts = old_sweep
    spec = tmp_path / "new.yaml"
    spec.write_text(NEW.format(mode="max", uri=old, endpoint=s3_server))
    assert main(["run", str(spec), "--storage", str(tmp_path / "runs"), "--quiet"]) == 0
    assert expected_line(counts) in capsys.readouterr().out
    sweep = tmp_path / "runs" / "new"
    [state] = sorted(sweep.glob("searcher-state-*.pkl"))[-1:]
    with open(state, "rb") as f:
        saved = pickle.load(f)
    observations = saved["_observations"]
    assert len(observations) == counts["reused"] + 3  # the reused ones, then the sweep's own
    assert saved["_alternate"]  # told through tell_warm_start: its kept initial points take turns with the model
    new_params = [json.loads(p.read_text()) for p in sweep.glob("*/params.json")]
    assert len(new_params) == 3 and all(2 <= p["x"] <= 6 and p["model"]["name"] == "a" for p in new_params)


def test_warm_start_from_an_s3_sweep_and_a_metric_mode_mismatch(old_sweep, make_bucket, s3_server):
    old, counts = old_sweep
    bucket = make_bucket()
    s3 = pafs.S3FileSystem(endpoint_override=s3_server, region="us-east-1")
    pafs.copy_files(str(old), f"{bucket}/sweeps/old", source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=s3)
    assert s3_client(s3_server).list_objects_v2(Bucket=bucket, Prefix="sweeps/old/spec.yaml")["KeyCount"] == 1
    uri = f"s3://{bucket}/sweeps/old"
    warm = load_warm_start(load_spec_text(NEW.format(mode="max", uri=uri, endpoint=s3_server)))
    assert warm is not None and warm.line(load_spec_text(NEW.format(mode="max", uri=uri, endpoint=s3_server))) \
        == expected_line(counts)
    assert all(2 <= c["x"] <= 6 and c["model"]["name"] == "a" and c["z"] == 1 for c, _ in warm.observations)
    with pytest.raises(UserInputError, match="optimised score \\(max\\), this sweep score \\(min\\)"):
        load_warm_start(load_spec_text(NEW.format(mode="min", uri=uri, endpoint=s3_server)))


def test_random_search_draws_again_instead_of_repeating_an_earlier_trial(old_sweep, tmp_path, capsys):
    """The earlier sweep's spec again, with its seed: without the warm start the new sweep's 3 trials would be the
    earlier sweep's first 3."""
    old, counts = old_sweep
    spec = tmp_path / "again.yaml"
    spec.write_text(OLD.replace("name: old", "name: again").replace(
        "num_samples: 12, seed: 5,", f"num_samples: 3, seed: 5, warm_start: [{old}],"))
    assert main(["run", str(spec), "--storage", str(tmp_path / "runs"), "--quiet"]) == 0
    assert (f"reused {counts['finished']} of {counts['finished']} finished trials; random search draws again where "
            "it would repeat one of them") in capsys.readouterr().out
    earlier, later = params_of(old), params_of(tmp_path / "runs" / "again")
    assert len(later) == 3 and not {p["x"] for p in earlier} & {p["x"] for p in later}


def test_a_warm_started_bayes_search_keeps_initial_points_that_take_turns_with_the_model():
    """Told more points than `n_initial_points`, each branch keeps WARM_START_EXPLORE points of its initial design
    (`add_evaluated_point` alone would leave none), suggested every other time, the model first."""
    from ray import tune

    from orchestrator.searchers.skopt_search import WARM_START_EXPLORE, SkOptSearch

    space = {"x": tune.uniform(0, 6), "model": tune.choice([{"name": "a", "w": tune.uniform(0, 1)},
                                                            {"name": "b", "v": tune.randint(1, 5)}])}
    told = [({"x": 3.0 + i / 10, "model": {"name": "a", "w": 0.1 * i}}, -abs(i - 4) / 10) for i in range(6)]
    told += [({"x": 1.0 + i / 4, "model": {"name": "b", "v": 1 + i}}, -1.0) for i in range(4)]
    searcher = SkOptSearch(space=space, metric="score", mode="max", random_state=0, n_initial_points=6)
    searcher.tell_warm_start(told)
    design = [list(points) for points in searcher._initial]
    assert [len(points) for points in design] == [WARM_START_EXPLORE] * 2 and len(searcher._observations) == 10
    suggested = [searcher._next_point() for _ in range(4)]
    kept = [(arm, x) for arm, points in enumerate(design) for x in points]
    assert [point in kept for point in suggested] == [False, True, False, True]
