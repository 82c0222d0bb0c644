"""SkOptSearch: conversion, conditional branches, results handling, parallel suggestions, persistence, Tuner runs."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from ray import tune
from ray.tune.search import ConcurrencyLimiter
from skopt.space import Real, Space

from orchestrator.searchers.skopt_search import BAYES_OPTIONS, SkOptSearch, build_skopt_searcher
from orchestrator.searchers.acquisition import LocalPenalty
from orchestrator.searchers.skopt_gp import make_gp

CASH_SPACE = {
    "model": tune.choice([
        {"name": "svc", "C": tune.loguniform(1e-3, 1e3), "kernel": tune.choice(["rbf", "linear"])},
        {"name": "knn", "n_neighbors": tune.randint(1, 31)},
        {"name": "dummy"},
    ]),
    "scaler": tune.choice(["none", "standard"]),
    "dataset": "digits",
}


def quadratic(config: dict) -> float:
    return (config["x"] - 0.3) ** 2 + (config["y"] + 1.0) ** 2


QUAD_SPACE = {"x": tune.uniform(-2.0, 2.0), "y": tune.uniform(-3.0, 3.0)}


def drive(searcher: SkOptSearch, func, n: int, prefix: str = "t") -> list[dict]:
    configs = []
    for i in range(n):
        config = searcher.suggest(f"{prefix}{i}")
        searcher.on_trial_complete(f"{prefix}{i}", {"score": func(config)})
        configs.append(config)
    return configs


# ---- conversion ------------------------------------------------------------------------


def test_configs_follow_ray_domains_and_are_plain_python():
    space = {
        "lr": tune.loguniform(1e-4, 1e-1),
        "q": tune.quniform(0.1, 1.0, 0.1),
        "k": tune.randint(2, 5),  # 2..4
        "w": tune.lograndint(1, 100),
        "nested": {"opt": tune.choice(["adam", "sgd"]), "const": [1, 2]},
    }
    searcher = SkOptSearch(space=space, metric="score", mode="min", random_state=0, n_initial_points=3)
    configs = drive(searcher, lambda c: c["lr"] + c["q"], 6)
    for c in configs:
        json.dumps(c)  # no numpy scalars
        assert type(c["k"]) is int and 2 <= c["k"] <= 4
        assert 1e-4 <= c["lr"] <= 1e-1 and 1 <= c["w"] <= 99
        assert math.isclose(c["q"] / 0.1, round(c["q"] / 0.1)) and 0.1 <= c["q"] <= 1.0
        assert c["nested"]["const"] == [1, 2] and c["nested"]["opt"] in ("adam", "sgd")


def test_conditional_choice_gives_only_the_chosen_branch():
    searcher = SkOptSearch(space=CASH_SPACE, metric="score", mode="max", random_state=1, n_initial_points=6)
    assert len(searcher._space.arms) == 3  # one surrogate per branch
    configs = drive(searcher, lambda c: 1.0 if c["model"]["name"] == "knn" else 0.5, 12)
    keys = {"svc": {"name", "C", "kernel"}, "knn": {"name", "n_neighbors"}, "dummy": {"name"}}
    for c in configs:
        assert set(c["model"]) == keys[c["model"]["name"]]
        assert c["dataset"] == "digits" and c["scaler"] in ("none", "standard")
    assert {c["model"]["name"] for c in configs} == {"svc", "knn", "dummy"}


def test_branches_nested_in_dicts_and_flat_mode():
    space = {"outer": {"model": CASH_SPACE["model"], "depth": tune.randint(1, 4)}}
    branch = SkOptSearch(space=space, metric="score", mode="min", random_state=0)
    flat = SkOptSearch(space=space, metric="score", mode="min", random_state=0, conditional="flat")
    assert len(branch._space.arms) == 3 and len(flat._space.arms) == 1
    for searcher in (branch, flat):
        for c in drive(searcher, lambda c: c["outer"]["depth"], 4):
            assert "name" in c["outer"]["model"] and 1 <= c["outer"]["depth"] <= 3


@pytest.mark.parametrize("space, path", [
    ({"a": {"b": tune.sample_from(lambda _: 1)}}, "a/b"),
    ({"g": tune.grid_search([1, 2])}, "g"),
    ({"n": tune.randn(0, 1)}, "n"),
    ({"m": tune.choice([{"name": "x", "f": tune.sample_from(lambda _: 1)}])}, "m/x/f"),
])
def test_unconvertible_domains_name_the_parameter(space, path):
    with pytest.raises(ValueError, match=path):
        SkOptSearch(space=space, metric="score", mode="min")


def test_skopt_style_space_and_optimizer_drop_in():
    from skopt import Optimizer

    searcher = SkOptSearch(space={"x": (0.0, 1.0), "c": ["a", "b"]}, metric="score", mode="min", random_state=0)
    config = searcher.suggest("1")
    assert 0.0 <= config["x"] <= 1.0 and config["c"] in ("a", "b")
    opt = Optimizer([(0.0, 1.0)], n_initial_points=2, random_state=0)
    opt.tell([0.5], 1.0)
    searcher = SkOptSearch(optimizer=opt, space=["x"], metric="score", mode="min")
    assert searcher.observations == [({"x": 0.5}, 1.0)]
    drive(searcher, lambda c: (c["x"] - 0.2) ** 2, 4)
    with pytest.raises(ValueError, match="names"):
        SkOptSearch(optimizer=opt, space={"x": (0.0, 1.0)})


# ---- metric / mode ---------------------------------------------------------------------


def test_missing_or_wrong_metric_and_mode():
    with pytest.raises(ValueError, match="mode"):
        SkOptSearch(space=QUAD_SPACE, metric="score", mode="maximum")
    searcher = SkOptSearch(space=QUAD_SPACE)
    with pytest.raises(RuntimeError, match="metric"):
        searcher.suggest("1")
    with pytest.raises(RuntimeError, match="search space"):
        SkOptSearch(metric="score", mode="min").suggest("1")
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min")
    searcher.suggest("1")
    with pytest.raises(ValueError, match="'score' is not in"):
        searcher.on_trial_complete("1", {"loss": 1.0})


# ---- results ---------------------------------------------------------------------------


def test_errored_trials_are_not_told():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0)
    searcher.suggest("ok")
    searcher.on_trial_complete("ok", {"score": 1.0})
    searcher.suggest("bad")
    searcher.on_trial_result("bad", {"score": 0.1})
    searcher.on_trial_complete("bad", None, error=True)
    assert [v for _, v in searcher.observations] == [1.0]
    assert not searcher._pending


def test_non_finite_values_never_reach_the_model():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0, n_initial_points=4)
    values = iter([2.0, float("nan"), 1.0, float("inf"), -float("inf"), "n/a"] + [0.5] * 10)
    drive(searcher, lambda c: next(values), 10)
    ys = [y for _, _, y in searcher._observations]
    assert all(math.isfinite(y) for y in ys) and max(ys) == 2.0  # bad values count as the worst seen
    model = searcher._models[0].model
    assert len(model.y_train_) >= 9 and all(math.isfinite(y) for y in model.y_train_)


def test_early_stopped_trial_is_told_its_last_reported_value():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="max", random_state=0)
    searcher.suggest("1")
    for value in (0.2, 0.4, 0.5):
        searcher.on_trial_result("1", {"score": value, "training_iteration": 3})
    searcher.on_trial_complete("1", {"score": 0.5, "training_iteration": 3})  # stopped by the scheduler
    searcher.suggest("2")
    searcher.on_trial_result("2", {"score": 0.3})
    searcher.on_trial_complete("2", {"loss": 9.0})  # last result lacks the metric: last reported one
    assert [v for _, v in searcher.observations] == [0.5, 0.3]


# ---- search behaviour ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["min", "max"])
def test_converges_on_a_quadratic(mode):
    sign = 1.0 if mode == "min" else -1.0
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode=mode, random_state=3, n_initial_points=6,
                           acq_func="EI")
    configs = drive(searcher, lambda c: sign * quadratic(c), 22)
    best = min(configs, key=quadratic)
    assert quadratic(best) < 0.02, best
    random_best = min(quadratic(c) for c in configs[:6])
    assert quadratic(best) < random_best


@pytest.mark.parametrize("liar", ["lp", "kb", "cl_max"])
def test_pending_trials_get_different_suggestions(liar):
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0, n_initial_points=5,
                           liar=liar)
    drive(searcher, quadratic, 5)
    pending = [searcher.suggest(f"p{i}") for i in range(4)]
    points = np.array([[c["x"] / 4, c["y"] / 6] for c in pending])
    gaps = [np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2)]
    assert min(gaps) > 1e-3, pending
    assert len(searcher._pending) == 4


def test_local_penalty_excludes_more_around_a_poor_pending_point():
    space = Space([Real(0.0, 1.0)])
    X = np.linspace(0, 1, 9)[:, None]
    y = (X[:, 0] - 0.2) ** 2 * 10  # best near 0.2, poor near 1
    model = make_gp(space.dimensions, 0, 2).fit(X, y)
    penalty = LocalPenalty(model, np.array([[0.2], [0.9]]), float(y.min()), space, np.random.RandomState(0))
    near_good, near_poor = penalty(np.array([[0.25], [0.95]]))
    assert near_poor < 0.05 < near_good  # 0.05 away from each: only the poor one's ball reaches
    far = penalty(np.array([[0.55]]))[0]
    assert far > 0.5


def test_small_integer_spaces_are_not_reproposed():
    space = {"k": tune.randint(0, 3), "c": tune.choice(["a", "b"])}  # 6 points in all
    searcher = SkOptSearch(space=space, metric="score", mode="min", random_state=0, n_initial_points=2)
    configs = drive(searcher, lambda c: c["k"] + (c["c"] == "b"), 6)
    assert len({(c["k"], c["c"]) for c in configs}) == 6


def test_lcb_kappa_decays_with_observations():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0, n_initial_points=3,
                           acq_func="LCB", kappa=3.0, kappa_decay=0.5)
    drive(searcher, quadratic, 5)
    assert searcher._models[0].acq_kwargs["kappa"] == pytest.approx(3.0 * 0.5**4)


def test_points_to_evaluate_and_evaluated_rewards():
    first = {"x": 0.3, "y": -1.0}
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", points_to_evaluate=[first])
    assert searcher.suggest("1") == first
    told = SkOptSearch(space=CASH_SPACE, metric="score", mode="max",
                       points_to_evaluate=[{"model": {"name": "knn", "n_neighbors": 3}, "scaler": "none"}],
                       evaluated_rewards=[0.9])
    assert told.observations[0][1] == 0.9 and told.observations[0][0]["model"] == {"name": "knn", "n_neighbors": 3}


# ---- persistence ----------------------------------------------------------------------


def test_save_restore_keeps_every_observation(tmp_path):
    searcher = SkOptSearch(space=CASH_SPACE, metric="score", mode="max", random_state=0, n_initial_points=4)
    drive(searcher, lambda c: len(c["model"]), 7)
    searcher.suggest("pending")
    path = str(tmp_path / "state.pkl")
    searcher.save(path)
    restored = SkOptSearch()
    restored.restore(path)
    assert restored.observations == searcher.observations and len(restored.observations) == 7
    assert restored.metric == "score" and "pending" in restored._pending
    for each in (restored, searcher):
        each.on_trial_complete("pending", {"score": 1.0})
    assert len(restored.observations) == 8
    assert restored.suggest("next") == searcher.suggest("next")  # same state, same next point


# ---- factory ---------------------------------------------------------------------------


def test_factory_checks_options_and_limits_concurrency():
    assert {"base_estimator", "acq_func", "n_initial_points", "kappa", "kappa_decay", "liar"} <= set(BAYES_OPTIONS)
    searcher = build_skopt_searcher(CASH_SPACE, "score", "max", {"acq_func": "LCB", "kappa_decay": 0.9}, 0, 4)
    assert isinstance(searcher, ConcurrencyLimiter) and searcher.max_concurrent == 4
    plain = build_skopt_searcher(CASH_SPACE, "score", "max", {}, None, 0)
    assert isinstance(plain, SkOptSearch)
    assert plain.set_search_properties("score", "max", CASH_SPACE)  # the Tuner may pass the same space again
    assert not plain.set_search_properties("score", "max", QUAD_SPACE)  # but not another one
    with pytest.raises(ValueError, match="unknown option.*acq"):
        build_skopt_searcher(CASH_SPACE, "score", "max", {"acq": "EI"}, 0, 1)
    with pytest.raises(ValueError, match="acq_func must be one of"):
        build_skopt_searcher(CASH_SPACE, "score", "max", {"acq_func": "UCB"}, 0, 1)
    with pytest.raises(ValueError, match="n_initial_points"):
        build_skopt_searcher(CASH_SPACE, "score", "max", {"n_initial_points": 0}, 0, 1)


# ---- through Ray Tune -------------------------------------------------------------------


def test_tuner_with_param_space_and_asha(ray_local, tmp_path):
    """A plain Tuner run: conditional param_space, 2 concurrent trials, ASHA stopping some early.

    With learning curves that improve with training, a trial's value where ASHA stops it
    understates its final value, and it was stopped because others at that rung were better:
    telling it that value never lets it displace a trial that trained to max_t.
    """
    from ray.tune.schedulers import ASHAScheduler

    def trainable(config: dict) -> None:
        quality = {"svc": 0.9, "knn": 0.8, "dummy": 0.5}[config["model"]["name"]]
        if config["model"]["name"] == "svc":
            quality -= 0.02 * abs(math.log10(config["model"]["C"]))
        for epoch in range(1, 10):
            tune.report({"acc": quality * (1 - 0.5**epoch)})

    searcher = SkOptSearch(random_state=0, n_initial_points=4)
    tuner = tune.Tuner(
        trainable,
        param_space=CASH_SPACE,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2), metric="acc", mode="max", num_samples=10,
            scheduler=ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert not results.errors and len(results) == 10
    told = searcher.observations
    assert len(told) == 10
    last = sorted((r.metrics["acc"], r.metrics["training_iteration"]) for r in results)
    assert sorted(v for _, v in told) == pytest.approx([v for v, _ in last])
    assert any(it < 9 for _, it in last), "ASHA stopped nothing early"
    assert last[-1][1] == 9  # the incumbent trained to max_t
    for r in results:
        assert set(r.config["model"]) <= {"name", "C", "kernel", "n_neighbors"}
