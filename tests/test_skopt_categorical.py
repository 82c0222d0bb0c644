"""Categoricals in the Bayesian searcher's GP (one length scale each, moves between neighbouring
combinations of categories) and log-EI."""
from __future__ import annotations

import math

import numpy as np
from ray import tune
from skopt.learning.gaussian_process.kernels import Matern, WhiteKernel
from skopt.space import Categorical, Integer, Real
from skopt.utils import normalize_dimensions

from orchestrator.searchers.acquisition import acquisition_values, candidates, categorical_blocks
from orchestrator.searchers.log_ei import log_expected_improvement, log_h
from orchestrator.searchers.skopt_gp import make_gp
from orchestrator.searchers.skopt_kernel import GroupedMatern, column_groups
from orchestrator.searchers.skopt_search import SkOptSearch

MIXED_DIMS = [Integer(0, 19), Categorical(list("abcd")), Categorical(["x", "y"]), Real(0.0, 1.0)]


def test_a_categorical_shares_one_length_scale_and_the_gradient_is_right():
    space = normalize_dimensions(MIXED_DIMS)
    assert column_groups(space) == [0, 1, 1, 1, 1, 2, 3]  # 4-level one-hot: 4 columns, one group; binary: 1 column
    kernel = make_gp(MIXED_DIMS, 0, 0, categorical_kernel=True).kernel + WhiteKernel(0.1)
    assert isinstance(kernel.k1.k2, GroupedMatern) and kernel.k1.k2.length_scale.shape == (4,)
    rng = np.random.RandomState(0)
    X = np.asarray(space.transform(space.rvs(8, random_state=rng)), dtype=float)
    theta = kernel.theta + rng.normal(scale=0.5, size=kernel.theta.size)
    K, grad = kernel.clone_with_theta(theta)(X, eval_gradient=True)
    for i, step in enumerate(np.eye(theta.size) * 1e-6):
        assert np.allclose((kernel.clone_with_theta(theta + step)(X) - K) / 1e-6, grad[:, :, i], atol=1e-5)
    grouped = kernel.k1.k2.clone_with_theta(np.log([0.5, 2.0, 3.0, 0.7]))
    plain = Matern(length_scale=[0.5, 2.0, 2.0, 2.0, 2.0, 3.0, 0.7], nu=2.5)
    assert np.allclose(grouped(X), plain(X)) and np.allclose(grouped.gradient_x(X[0], X), plain.gradient_x(X[0], X))


def test_spaces_without_categoricals_keep_skopts_kernel_and_candidates():
    dims = [Real(0.0, 1.0), Integer(1, 9)]
    assert make_gp(dims, 0, 0, categorical_kernel=True).kernel == make_gp(dims, 0, 0).kernel
    space = normalize_dimensions(dims)
    incumbents = np.array([[0.5, 0.5]])
    same = [candidates(space, incumbents, 50, np.random.RandomState(3), categorical_moves=moves) for moves in (0, 1)]
    assert np.array_equal(*same)


def test_categorical_moves_change_one_categorical_of_an_incumbent():
    space = normalize_dimensions(MIXED_DIMS)
    incumbent = np.asarray(space.transform([[7, "b", "x", 0.3]]), dtype=float)
    local = candidates(space, incumbent, 400, np.random.RandomState(0), categorical_moves=True)[400:]
    blocks = categorical_blocks(space)
    changed = np.array([[not np.array_equal(row[b], incumbent[0, b]) for b in blocks] for row in local])
    assert changed.sum(axis=1).max() == 1  # one categorical at a time: a neighbouring combination
    assert 0.2 < changed.any(axis=1).mean() < 0.5  # half move, and a move may redraw the same category
    assert not candidates(space, incumbent, 400, np.random.RandomState(0))[400:][:, blocks[0]].std(axis=0).any()


def test_the_searcher_fits_one_length_scale_per_categorical_from_four_dimensions():
    space = {"n": tune.randint(0, 20), "c": tune.choice(["a", "b", "c", "d"]), "r": tune.uniform(0.0, 1.0),
             "s": tune.uniform(0.0, 1.0)}
    searcher = SkOptSearch(space=space, metric="y", mode="min", random_state=0, n_initial_points=5)
    for i in range(7):
        config = searcher.suggest(str(i))
        searcher.on_trial_complete(str(i), {"y": (config["n"] - 4) ** 2 + (config["c"] != "b") + config["r"]})
    assert searcher._models[0].model.kernel_.k1.k2.length_scale.shape == (4,)
    del space["s"]
    smaller = SkOptSearch(space=space, metric="y", mode="min", random_state=0)._models[0].optimizer.base_estimator_
    assert smaller.kernel.k1.k2.length_scale.shape == (6,)  # 3-D arm: skopt's kernel, a length scale per column


def test_log_ei_is_finite_and_ordered_where_ei_underflows():
    z = np.array([3.0, 0.0, -0.5, -1.0, -3.0, -5.0])  # where the direct formula is still accurate
    direct = np.log([np.exp(-v * v / 2) / np.sqrt(2 * np.pi) + v * (1 + math.erf(v / np.sqrt(2))) / 2 for v in z])
    assert np.allclose(log_h(z), direct, rtol=1e-9)
    far = np.array([-40.0, -100.0, -1e4, -1e9])
    assert np.all(np.isfinite(log_h(far))) and np.all(np.diff(log_h(far)) < 0)
    mean, std = np.array([50.0, 60.0, 45.0]), np.ones(3)
    assert np.all(acquisition_values(mean, std, 0.0, "EI", {}) == 0)  # plain EI: a three-way tie
    ranked = acquisition_values(mean, std, 0.0, "EI", {}, log_ei=True)
    assert np.argsort(ranked).tolist() == [2, 0, 1]
    assert log_expected_improvement(np.array([0.3, -0.3]), np.zeros(2)).tolist() == [np.log(0.3), -np.inf]


def test_the_kernel_prior_is_on_from_four_dimensions_or_when_asked():
    def estimator(n_dims: int):
        space = {f"x{i}": tune.uniform(0.0, 1.0) for i in range(n_dims)}
        return SkOptSearch(space=space, metric="y", mode="min", random_state=0)._models[0].optimizer.base_estimator_

    assert type(estimator(3)).__name__ == "FastGaussianProcess"
    assert type(estimator(4)).__name__ == "PriorGaussianProcess"
    assert SkOptSearch(space={"x": tune.uniform(0.0, 1.0)}, metric="y", mode="min", random_state=0)._settings.use(True, 1)
