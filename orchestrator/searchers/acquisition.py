"""Acquisition optimisation for one arm's surrogate: score many candidates at once, polish a few.

scikit-optimize optimises every acquisition from random starts with L-BFGS, one model
prediction per step (about 1 ms each, six runs for `gp_hedge`): most of a suggest. Here the
candidates (uniform samples, plus perturbations of the best points observed, where a
converging search finds its optimum) are scored in one batched prediction for every
acquisition at once, and only the best candidate of each acquisition is polished with
gradient steps on the ranking acquisition (EI for `gp_hedge`, else the acquisition itself).
With trials pending, `LocalPenalty` damps the acquisition around them (the batch rule).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import fmin_l_bfgs_b
from scipy.stats import norm
from skopt.acquisition import gaussian_acquisition_1D
from skopt.space import Categorical, Space

from orchestrator.searchers.log_ei import log_expected_improvement

#: Acquisitions whose optima are candidates under `gp_hedge` (as in scikit-optimize).
HEDGE_FUNCS = ("EI", "LCB", "PI")
#: How many of the best observed points are perturbed, and the perturbation scales (unit cube).
N_INCUMBENTS = 5
LOCAL_SCALES = (0.001, 0.2)
#: Sampled candidates returned besides the polished ones (fall-backs when the best were tried).
N_RETURNED = 8


def ranking_func(acq_func: str) -> str:
    """The acquisition that ranks candidates, also across arms (`gp_hedge` ranks by EI)."""
    return "EI" if acq_func == "gp_hedge" else acq_func


def acquisition_values(mean: np.ndarray, std: np.ndarray, y_opt: float, acq_func: str,
                       acq_kwargs: dict[str, float], log_ei: bool = False) -> np.ndarray:
    """EI, PI or LCB from one prediction, negated where needed so that lower is better (skopt's convention);
    with `log_ei`, EI is on a log scale (`log_ei.py`: no ties at an underflowed 0).

    Where the predicted std is 0 (a degenerate GP fit: the variance rounds to 0 everywhere),
    EI and PI take their limits as std -> 0: the certain improvement max(y_opt - xi - mean, 0),
    and 1 where that is positive; not 0, which would make every candidate tie.
    """
    if acq_func == "LCB":
        return mean - acq_kwargs.get("kappa", 1.96) * std
    improve = y_opt - acq_kwargs.get("xi", 0.0) - mean
    if acq_func == "EI" and log_ei:
        return -log_expected_improvement(improve, std)
    safe_std = np.where(std > 0, std, 1.0)
    scaled = improve / safe_std
    if acq_func == "PI":
        values = np.where(std > 0, norm.cdf(scaled), improve > 0)
    else:
        values = np.where(std > 0, improve * norm.cdf(scaled) + std * norm.pdf(scaled), np.maximum(improve, 0.0))
    return -values.astype(float)


def utility(scores: np.ndarray, acq_func: str) -> np.ndarray:
    """A non-negative utility (higher is better) from lower-is-better acquisition scores (softplus for LCB)."""
    return np.logaddexp(0.0, -scores) if acq_func == "LCB" else -scores


def penalised(scores: np.ndarray, factor: np.ndarray, acq_func: str, log_ei: bool) -> np.ndarray:
    """Acquisition scores (lower is better) with the utility multiplied by a `LocalPenalty` factor
    (on log-EI: the log of the factor added)."""
    if acq_func == "EI" and log_ei:
        with np.errstate(divide="ignore"):
            return scores - np.log(factor)
    return -utility(scores, acq_func) * factor


class LocalPenalty:
    """Local penalisation of pending points (Gonzalez et al., 2016), a batch rule without lies.

    Around each pending point x_j the acquisition is multiplied by the probability that x lies
    outside the ball where, by a Lipschitz bound L on the model's mean, the optimum cannot be:
    radius (mu(x_j) - y_best) / L. A pending point the model expects to be poor excludes a wide
    region; one expected near the best excludes almost nothing, so a converging search may
    still place several trials near its optimum.
    """

    def __init__(self, model: Any, pending: np.ndarray, y_best: float, space: Space,
                 rng: np.random.RandomState) -> None:
        self.pending = np.asarray(pending, dtype=float)
        mean, std = model.predict(self.pending, return_std=True)
        self.gap = np.maximum(np.asarray(mean) - y_best, 0.0)
        self.std = np.maximum(np.asarray(std), 1e-9)
        self.lipschitz = _lipschitz(model, space, rng)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        distance = np.linalg.norm(points[:, None, :] - self.pending[None, :, :], axis=2)
        return np.prod(norm.cdf((self.lipschitz * distance - self.gap) / self.std), axis=1)


def _lipschitz(model: Any, space: Space, rng: np.random.RandomState, n: int = 200, h: float = 1e-4) -> float:
    """The largest gradient norm of the model's mean over `n` random points (finite differences)."""
    points = np.asarray(space.transform(space.rvs(n_samples=n, random_state=rng)), dtype=float)
    d = points.shape[1]
    shifted = np.repeat(points[None], d, axis=0) + h * np.eye(d)[:, None, :]
    mean = model.predict(np.vstack([points, shifted.reshape(-1, d)]))
    grads = (mean[n:].reshape(d, n) - mean[:n]) / h
    return max(float(np.sqrt((grads**2).sum(axis=0)).max()), 1e-7)


def numeric_columns(space: Space) -> np.ndarray:
    """Which columns of the transformed space belong to real or integer dimensions."""
    mask: list[bool] = []
    for dim in space.dimensions:
        mask.extend([not isinstance(dim, Categorical)] * dim.transformed_size)
    return np.array(mask, dtype=bool)


def categorical_blocks(space: Space) -> list[np.ndarray]:
    """The transformed columns of each categorical dimension of `space` (its one-hot block)."""
    blocks, start = [], 0
    for dim in space.dimensions:
        if isinstance(dim, Categorical):
            blocks.append(np.arange(start, start + dim.transformed_size))
        start += dim.transformed_size
    return blocks


def candidates(space: Space, incumbents: np.ndarray, n_points: int, rng: np.random.RandomState,
               categorical_moves: bool = False) -> np.ndarray:
    """`n_points` uniform points plus as many again around the incumbents, in the transformed space.

    A local candidate moves only the numeric coordinates of an incumbent, by a Gaussian step
    whose scale is log-uniform in `LOCAL_SCALES` (fine steps refine, coarse ones hop basins);
    with `categorical_moves`, half of them also take one categorical's value at random: the
    incumbent's neighbouring combinations of categories, which uniform points reach only with
    poor numeric values.
    """
    uniform = np.asarray(space.transform(space.rvs(n_samples=n_points, random_state=rng)), dtype=float)
    numeric = numeric_columns(space)
    blocks = categorical_blocks(space) if categorical_moves else []
    if len(incumbents) == 0 or not (numeric.any() or blocks):
        return uniform
    bounds = np.asarray(space.transformed_bounds, dtype=float)
    picks = incumbents[rng.randint(len(incumbents), size=n_points)]
    scales = np.exp(rng.uniform(*np.log(LOCAL_SCALES), size=(n_points, 1)))
    steps = rng.normal(size=picks.shape) * scales * (bounds[:, 1] - bounds[:, 0])
    local = np.clip(picks + steps * numeric, bounds[:, 0], bounds[:, 1])
    if blocks:
        moved = np.flatnonzero(rng.uniform(size=n_points) < 0.5)
        which = rng.randint(len(blocks), size=len(moved))
        for block, columns in enumerate(blocks):
            rows = moved[which == block]
            local[np.ix_(rows, columns)] = uniform[np.ix_(rows, columns)]
    return np.vstack([uniform, local])


def optimize_acquisition(model: Any, space: Space, incumbents: np.ndarray, y_opt: float, acq_func: str,
                         acq_kwargs: dict[str, float], n_points: int, n_polish: int,
                         rng: np.random.RandomState,
                         penalty: LocalPenalty | None = None,
                         categorical_moves: bool = False, log_ei: bool = False) -> list[tuple[np.ndarray, float]]:
    """Candidate points (transformed space) with their ranking-acquisition values, best first.

    The `n_polish` best candidates of each acquisition (of `HEDGE_FUNCS` for `gp_hedge`)
    start L-BFGS runs on the ranking acquisition; categorical columns stay fixed. With a
    `penalty`, every value is the penalised utility, negated. Ties go to the lower predicted mean.
    `categorical_moves`: see `candidates`; `log_ei`: see `acquisition_values`.
    """
    rank = ranking_func(acq_func)
    funcs = HEDGE_FUNCS if acq_func == "gp_hedge" else (acq_func,)

    def score(at: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        mean, std = model.predict(at, return_std=True)
        values = {f: acquisition_values(mean, std, y_opt, f, acq_kwargs, log_ei) for f in funcs}
        if penalty is not None:
            factor = penalty(at)
            values = {f: penalised(v, factor, f, log_ei) for f, v in values.items()}
        return mean, values

    points = candidates(space, incumbents, n_points, rng, categorical_moves)
    mean, scores = score(points)
    order = np.lexsort((mean, scores[rank]))  # ties (e.g. no EI anywhere) go to the lower predicted mean
    found = [(points[i], float(scores[rank][i])) for i in order[:N_RETURNED]]
    if n_polish > 0:
        starts = {int(i) for f in funcs for i in np.argsort(scores[f])[:n_polish]}
        for i in sorted(starts):
            x = _polish(model, space, points[i], y_opt, rank, acq_kwargs)
            found.append((x, float(score(x[None])[1][rank][0])))
    return sorted(found, key=lambda item: item[1])


def _polish(model: Any, space: Space, start: np.ndarray, y_opt: float, acq_func: str,
            acq_kwargs: dict[str, float]) -> np.ndarray:
    """A few L-BFGS steps on the acquisition from `start`, categorical columns held fixed."""
    bounds = np.asarray(space.transformed_bounds, dtype=float)
    fixed = ~numeric_columns(space)
    bounds[fixed, 0] = bounds[fixed, 1] = start[fixed]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _, _ = fmin_l_bfgs_b(gaussian_acquisition_1D, start, args=(model, y_opt, acq_func, acq_kwargs),
                                bounds=[tuple(b) for b in bounds], approx_grad=False, maxiter=20)
    return np.clip(x, bounds[:, 0], bounds[:, 1])
