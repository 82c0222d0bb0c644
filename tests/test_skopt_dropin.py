"""SkOptSearch as a drop-in for Ray's removed scikit-optimize searcher, and the zero-std acquisition defect."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ray import tune
from skopt import Optimizer
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from skopt.space import Categorical, Integer, Real, Space

from orchestrator.searchers.acquisition import acquisition_values, optimize_acquisition
from orchestrator.searchers.gp_subset import fit_subset
from orchestrator.searchers.skopt_gp import _log_prior, make_gp
from orchestrator.searchers.skopt_search import SkOptSearch
from test_skopt_search import QUAD_SPACE, drive, quadratic


def test_convert_search_space_is_a_static_method_and_round_trips():
    space = {"a": {"x": tune.uniform(0.0, 1.0), "c": 3}, "n": tune.randint(1, 5),
             "lr": tune.loguniform(1e-4, 1e-1), "opt": tune.choice(["adam", "sgd"]), "k": 7}
    converted = SkOptSearch.convert_search_space(space)
    assert converted == {"a/x": Real(0.0, 1.0), "n": Integer(1, 4), "lr": Real(1e-4, 1e-1, prior="log-uniform"),
                         "opt": Categorical(["adam", "sgd"])}
    joined = SkOptSearch.convert_search_space(space, join=True)
    assert joined["k"] == 7 and joined["a"] == {"c": 3} and joined["a/x"] == Real(0.0, 1.0)
    assert space["a"]["x"] is not None and "x" in space["a"]  # the input is not modified
    searcher = SkOptSearch(space=joined, metric="score", mode="min", random_state=0)
    config = searcher.suggest("1")
    assert set(config) == {"a", "n", "lr", "opt", "k"} and set(config["a"]) == {"x", "c"}
    with pytest.raises(ValueError, match="Grid search"):
        SkOptSearch.convert_search_space({"x": tune.grid_search([1, 2])})


def test_a_users_optimizer_is_told_every_result():
    opt = Optimizer([(0.0, 1.0)], n_initial_points=2, random_state=0)
    searcher = SkOptSearch(optimizer=opt, space=["x"], metric="score", mode="max", random_state=0)
    configs = drive(searcher, lambda c: -((c["x"] - 0.2) ** 2), 4)
    assert [x[0] for x in opt.Xi] == [c["x"] for c in configs]
    assert opt.yi == [(c["x"] - 0.2) ** 2 for c in configs]  # skopt minimises: max mode is told negated
    assert opt.get_result().fun == min(opt.yi)


def test_mode_without_metric_uses_rays_default_metric():
    searcher = SkOptSearch(space=QUAD_SPACE, mode="min", random_state=0)
    assert searcher.metric == "_metric"
    searcher.suggest("1")
    searcher.on_trial_complete("1", {"_metric": 2.0})
    assert searcher.observations[0][1] == 2.0


@pytest.mark.parametrize("told", [3, 30])
def test_told_points_count_as_initial_points(told):
    rng = np.random.RandomState(0)
    points = [{"x": float(rng.uniform(-2, 2)), "y": float(rng.uniform(-3, 3))} for _ in range(told)]
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0, n_initial_points=10,
                           points_to_evaluate=points, evaluated_rewards=[quadratic(p) for p in points])
    assert len(searcher._initial[0]) == max(0, 10 - told)
    searcher.add_evaluated_point({"x": 0.0, "y": 0.0}, 1.3)
    assert len(searcher._initial[0]) == max(0, 9 - told)
    searcher.suggest("1")
    assert searcher._models[0].n_fits == (1 if told >= 9 else 0)  # the model is used at once past the quota


def test_slash_names_of_a_native_space_come_back_nested():
    space = {"a/x": (0.0, 1.0), "a/y": ["u", "v"], "b": (1, 5)}
    searcher = SkOptSearch(space=space, metric="score", mode="min", random_state=0,
                           points_to_evaluate=[{"a": {"x": 0.5, "y": "v"}, "b": 2}])
    assert searcher.suggest("1") == {"a": {"x": 0.5, "y": "v"}, "b": 2}
    config = searcher.suggest("2")
    assert set(config) == {"a", "b"} and set(config["a"]) == {"x", "y"} and 1 <= config["b"] <= 5


def test_numpy_global_seed_reproduces_a_search():
    def run(seed: int) -> list[dict]:
        np.random.seed(seed)
        return drive(SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", n_initial_points=3), quadratic, 5)

    first = run(3)
    assert run(3) == first and run(4) != first


def test_a_tuple_next_to_ray_domains_is_a_dimension():
    searcher = SkOptSearch(space={"x": tune.uniform(0.0, 1.0), "y": (0.0, 10.0), "layers": [64, 64]},
                           metric="score", mode="min", random_state=0)
    configs = drive(searcher, lambda c: c["x"] + c["y"], 4)
    assert len({c["y"] for c in configs}) == 4 and all(0.0 <= c["y"] <= 10.0 for c in configs)
    assert all(c["layers"] == [64, 64] for c in configs)  # a list next to Ray domains stays a constant


def test_points_to_evaluate_as_lists():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", points_to_evaluate=[[0.3, -1.0], (1.0, 2.0)])
    assert searcher.suggest("1") == {"x": 0.3, "y": -1.0}
    assert searcher.suggest("2") == {"x": 1.0, "y": 2.0}
    with pytest.raises(ValueError, match="one value per parameter"):
        SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", points_to_evaluate=[[0.3]])


def test_pruned_points_are_not_learned():
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0)
    searcher.add_evaluated_point({"x": 0.0, "y": 0.0}, 0.5, pruned=True)
    searcher.add_evaluated_point({"x": 1.0, "y": 0.0}, 0.7)
    assert searcher.observations == [({"x": 1.0, "y": 0.0}, 0.7)]


def degenerate_gp() -> tuple[Any, np.ndarray]:
    """A GP fitted at amplitude and length scales on their upper bounds, noise on its lower one (a fit the
    likelihood reaches on near-linear data): its predicted variance cancels to exactly 0 almost everywhere."""
    rng = np.random.RandomState(0)
    X = rng.rand(30, 2)
    y = (X[:, 0] - X[:, 0].mean()) / X[:, 0].std()
    gp = make_gp([Real(0.0, 1.0)] * 2, 0, 0)
    gp.set_params(kernel=ConstantKernel(1000.0) * Matern(length_scale=[100.0] * 2, nu=2.5) + WhiteKernel(1e-5),
                  optimizer=None)
    return gp.fit(X, y), y


def test_zero_std_everywhere_still_ranks_by_improvement():
    values = acquisition_values(np.array([-1.0, 0.5, -0.2]), np.zeros(3), 0.0, "EI", {"xi": 0.0})
    assert values.tolist() == [-1.0, 0.0, -0.2]  # was 0 everywhere
    assert acquisition_values(np.array([-1.0, 0.5]), np.zeros(2), 0.0, "PI", {}).tolist() == [-1.0, 0.0]
    gp, y = degenerate_gp()
    space = Space([Real(0.0, 1.0)] * 2)
    assert np.mean(gp.predict(np.random.RandomState(1).rand(1000, 2), return_std=True)[1] == 0) > 0.9
    for seed in range(3):
        for acq in ("EI", "gp_hedge"):
            found = optimize_acquisition(gp, space, np.empty(0), float(y.min()), acq, {"xi": 0.0, "kappa": 1.96},
                                         1000, n_polish=1, rng=np.random.RandomState(seed))
            assert gp.predict(found[0][0][None])[0] < y.min(), (acq, seed)  # was a random point: x0 up to 0.97


# ---- flat cost -------------------------------------------------------------------------


def test_gp_subset_keeps_the_best_and_spreads_the_rest():
    X = np.linspace(0.0, 1.0, 1001)[:, None]
    y = (X[:, 0] - 0.25) ** 2
    keep = fit_subset(X, y, 30)
    assert len(keep) == 30 and len(set(keep.tolist())) == 30
    assert set(np.argsort(y)[:10].tolist()) <= set(keep.tolist())  # the best third
    assert np.max(np.diff(np.sort(X[keep, 0]))) < 0.1  # the others cover the whole range
    assert fit_subset(X[:20], y[:20], 30).tolist() == list(range(20))


def test_past_the_cap_the_gp_is_fitted_on_a_subset():
    rng = np.random.RandomState(0)
    points = [{"x": float(rng.uniform(-2, 2)), "y": float(rng.uniform(-3, 3))} for _ in range(120)]
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=0,
                           points_to_evaluate=points, evaluated_rewards=[quadratic(p) for p in points])
    searcher._settings.max_fit_points = 60
    searcher.suggest("1")
    assert len(searcher._models[0].model.X_train_) == 60


def test_hyperparameter_prior_has_the_right_gradient_and_keeps_length_scales_off_their_bounds():
    rng = np.random.RandomState(0)
    X = rng.rand(15, 3)
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2  # x2 does nothing
    fits = {}
    for prior in (False, True):
        gp = make_gp([Real(0.0, 1.0)] * 3, 0, 0, prior=prior)
        gp.set_params(kernel=gp.kernel + WhiteKernel())
        fits[prior] = gp.fit(X, y).kernel_.k1.k2.length_scale
    assert fits[False][2] == pytest.approx(100.0) and fits[True][2] < 20.0
    kernel = make_gp([Real(0.0, 1.0)] * 3, 0, 0).kernel + WhiteKernel(0.3)
    theta = kernel.theta + 0.3
    value, grad = _log_prior(kernel, theta)
    numeric = [(_log_prior(kernel, theta + 1e-6 * step)[0] - value) / 1e-6 for step in np.eye(len(theta))]
    assert np.allclose(grad, numeric, atol=1e-4)


def test_the_noise_floor_holds_for_every_fit_not_just_the_first():
    """skopt zeroes the fitted noise term, bounds and all; the warm start takes the bounds from the template."""
    searcher = SkOptSearch(metric="score", mode="min", random_state=1, n_initial_points=6)
    searcher._settings.noise_floor = 1e-7
    searcher.set_search_properties("score", "min", QUAD_SPACE)
    drive(searcher, quadratic, 14)
    model = searcher._models[0]
    assert model.n_fits >= 8 and model.model.noise_ < 1e-6  # was clipped back to WhiteKernel's default 1e-5


def test_a_deterministic_objective_is_fitted_below_the_default_white_kernel_noise():
    """GPSampler's noise floor (1e-6), not scikit-learn's 1e-5, below 10 dimensions: the GP resolves a converging
    search's last digits."""
    searcher = SkOptSearch(space=QUAD_SPACE, metric="score", mode="min", random_state=1, n_initial_points=6)
    drive(searcher, quadratic, 12)
    assert searcher._models[0].model.noise_ < 3e-6  # at the 1e-5 floor before
    wide = SkOptSearch(space={f"x{i}": tune.uniform(0, 1) for i in range(12)}, metric="score", mode="min")
    assert wide._models[0].optimizer.base_estimator_.kernel.k2.noise_level_bounds == (1e-5, 1e5)
