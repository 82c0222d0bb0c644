"""One arm's surrogate: a scikit-optimize `Optimizer` refit on the arm's data at each proposal.

The searcher owns the observations (real ones plus constant-liar values for pending trials,
on a y scale shared by all arms); this wraps the skopt `Optimizer` that fits a model to them
and optimises the acquisition, and scores the proposals so arms can be compared.
Each proposal is one model fit: no per-point batch refits, one model kept in memory
(`model_queue_size=1`), and the GP's kernel hyperparameters are warm-started from the
previous fit, with full random restarts only every `full_fit_every` fits, and past
`fixed_after` observations they are re-optimised only every `refit_every` fits (between,
only the Cholesky factor is recomputed): suggest latency stays low as observations grow.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import WhiteKernel
from skopt.learning.gaussian_process.gpr import _param_for_white_kernel_in_Sum
from skopt.space import Dimension
from skopt.utils import cook_estimator

from orchestrator.searchers.skopt_gp import make_gp
from orchestrator.searchers.skopt_space import to_python

ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
BASE_ESTIMATORS = ("GP", "RF", "ET", "GBRT")


@dataclass
class SurrogateSettings:
    """The scikit-optimize knobs shared by every arm (see `SkOptSearch` for their meaning)."""

    base_estimator: Any = "GP"
    acq_func: str = "gp_hedge"
    acq_optimizer: str = "auto"
    n_points: int = 1000
    n_restarts_optimizer: int = 2
    gp_restarts: int = 2
    full_fit_every: int = 10
    fixed_after: int = 50
    refit_every: int = 5

    @property
    def score_func(self) -> str:
        """The acquisition that ranks arms against each other (gp_hedge ranks by EI)."""
        return "EI" if self.acq_func == "gp_hedge" else self.acq_func


class BranchModel:
    """The surrogate of one arm: propose points in its space, each with a comparable score."""

    def __init__(self, dimensions: list[Dimension], settings: SurrogateSettings, seed: int,
                 optimizer: Optimizer | None = None) -> None:
        self.settings = settings
        self.n_fits = 0
        self.optimizer = optimizer if optimizer is not None else self._make_optimizer(dimensions, seed)
        self.optimizer.max_model_queue_size = 1
        if len(self.optimizer.models) > 1:
            del self.optimizer.models[:-1]
        estimator = self.optimizer.base_estimator_
        if isinstance(estimator, GaussianProcessRegressor) and estimator.noise == "gaussian":
            # Put the noise term in the kernel itself so that warm starts keep it fitted.
            if not _param_for_white_kernel_in_Sum(estimator.kernel)[0]:
                estimator.set_params(kernel=estimator.kernel + WhiteKernel())

    def _make_optimizer(self, dimensions: list[Dimension], seed: int) -> Optimizer:
        s = self.settings
        estimator = s.base_estimator
        if isinstance(estimator, str):
            if estimator.upper() == "GP":
                estimator = make_gp(dimensions, seed, s.gp_restarts)
            else:
                estimator = cook_estimator(estimator, space=dimensions, random_state=seed)
        return Optimizer(
            dimensions,
            base_estimator=estimator,
            n_initial_points=0,
            acq_func=s.acq_func,
            acq_optimizer=s.acq_optimizer,
            random_state=seed,
            model_queue_size=1,
            acq_optimizer_kwargs={"n_points": s.n_points, "n_restarts_optimizer": s.n_restarts_optimizer},
        )

    @property
    def space(self):
        return self.optimizer.space

    def propose(self, X: list[list[Any]], y: list[float], pending: list[list[Any]], lies: str | list[float],
                y_best: float, acq_kwargs: dict[str, float]) -> list[tuple[list[Any], float]]:
        """Fit on (X, y) plus the pending points and return candidates, best first, with scores (lower is better).

        Pending points enter at their `lies` values (a list, or "kb": the GP's own mean there,
        the kriging believer). A GP's hyperparameters are fitted on the real observations
        only, so that lies cannot distort its length scales. `y_best` is the best value over
        all arms on the same scale, so that scores (minus expected improvement, or the lower
        confidence bound) compare across arms.
        """
        opt = self.optimizer
        estimator = opt.base_estimator_
        fixed = bool(pending) and isinstance(estimator, GaussianProcessRegressor) and len(X) >= 2
        if fixed:
            real = self._fit(X, y)
            if lies == "kb":
                lies = real.predict(opt.space.transform(pending)).tolist()
            estimator.set_params(optimizer=None)
        elif lies == "kb":
            lies = [float(np.mean(y)) if y else 0.0] * len(pending)
        try:
            if not fixed:
                self._prepare_fit(len(X) + len(pending))
            opt.Xi, opt.yi = [], []
            opt._n_initial_points = 0
            opt.acq_func_kwargs = dict(acq_kwargs)
            opt._tell([list(x) for x in X + pending], [float(v) for v in list(y) + list(lies)], fit=True)
        finally:
            if fixed:
                estimator.set_params(optimizer="fmin_l_bfgs_b")
        model = opt.models[-1]
        if not fixed:
            self._remember_kernel(model)
            self.n_fits += 1
        raw = [np.asarray(opt.space.transform([opt._next_x]))[0]] + list(getattr(opt, "next_xs_", []))
        candidates = np.unique(np.vstack(raw), axis=0)
        scores = _gaussian_acquisition(candidates, model, y_opt=y_best, acq_func=self.settings.score_func,
                                       acq_func_kwargs=opt.acq_func_kwargs)
        points = opt.space.inverse_transform(candidates)
        ranked = sorted(zip(points, scores.tolist()), key=lambda item: item[1])
        return [([to_python(v) for v in point], float(score)) for point, score in ranked]

    def _fit(self, X: list[list[Any]], y: list[float]) -> Any:
        """A model fitted on real observations only (its kernel becomes the next warm start)."""
        self._prepare_fit(len(X))
        model = clone(self.optimizer.base_estimator_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(self.optimizer.space.transform(X), y)
        self._remember_kernel(model)
        self.n_fits += 1
        return model

    def _prepare_fit(self, n: int) -> None:
        """GP only: random restarts now and then, else a warm start; with many points, mostly none."""
        estimator = self.optimizer.base_estimator_
        if isinstance(estimator, GaussianProcessRegressor):
            s = self.settings
            full = self.n_fits % max(1, s.full_fit_every) == 0
            skip = n >= s.fixed_after and self.n_fits % max(1, s.refit_every) != 0
            estimator.set_params(n_restarts_optimizer=s.gp_restarts if full else 0,
                                 optimizer=None if skip else "fmin_l_bfgs_b")

    def _remember_kernel(self, model: Any) -> None:
        """Start the next GP fit from this fit's hyperparameters (noise level restored)."""
        if not isinstance(model, GaussianProcessRegressor):
            return
        kernel = model.kernel_
        present, param = _param_for_white_kernel_in_Sum(kernel)
        if present:
            bounds = kernel.get_params()[param].noise_level_bounds
            noise = float(np.clip(model.noise_ or 1.0, *bounds))
            kernel = copy.deepcopy(kernel)
            kernel.set_params(**{param: WhiteKernel(noise_level=noise, noise_level_bounds=bounds)})
        self.optimizer.base_estimator_.set_params(kernel=kernel)

    def random_points(self, n: int, rng: np.random.RandomState) -> list[list[Any]]:
        """`n` uniformly random points of this arm's space, as Python values."""
        return [[to_python(v) for v in p] for p in self.space.rvs(n_samples=n, random_state=rng)]
