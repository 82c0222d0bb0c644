"""One arm's surrogate: a scikit-optimize model refit on the arm's data at each proposal.

The searcher owns the observations (real ones plus liar values for pending trials, on a y
scale shared by all arms); this fits the arm's model (the estimator and normalised space of a
skopt `Optimizer`) to them, optimises the acquisition (`acquisition.py`) and scores the
proposals so arms can be compared.
Each proposal is one model fit (two with pending trials): no per-point batch refits, no
model kept beyond the proposal, and the GP's kernel hyperparameters are warm-started from the
previous fit, with full random restarts only every `full_fit_every` fits and none past
`restarts_until` observations (each costs seconds there); past `fixed_after` observations
they are re-optimised only every `refit_every` fits (between, only the Cholesky factor is
recomputed); past `max_fit_points` observations in the arm a GP is fitted on a subset of
them (`gp_subset.py`): suggest latency stays flat as observations grow.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from skopt import Optimizer
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import WhiteKernel
from orchestrator.compat import white_kernel_param as _param_for_white_kernel_in_Sum
from skopt.space import Dimension
from skopt.utils import cook_estimator

from orchestrator.searchers.acquisition import N_INCUMBENTS, LocalPenalty, optimize_acquisition
from orchestrator.searchers.skopt_gp import make_gp
from orchestrator.searchers.skopt_space import to_python
from orchestrator.searchers.gp_subset import fit_subset

ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
BASE_ESTIMATORS = ("GP", "RF", "ET", "GBRT")


@dataclass
class SurrogateSettings:
    """The scikit-optimize knobs shared by every arm (see `SkOptSearch` for their meaning)."""

    base_estimator: Any = "GP"
    acq_func: str = "gp_hedge"
    acq_optimizer: str = "auto"
    n_points: int = 1000
    n_restarts_optimizer: int = 1
    gp_restarts: int = 2
    full_fit_every: int = 10
    fixed_after: int = 50
    refit_every: int = 5
    restarts_until: int = 100
    max_fit_points: int = 300
    # GPSampler's modelling, on arms of at least `rich_from_dims` dimensions (None: by that rule; True / False:
    # always / never): the kernel prior (`skopt_gp.PriorGaussianProcess`), one GP length scale per categorical
    # (`skopt_kernel.py`), local candidates that change one categorical (`acquisition.candidates`). On
    # Hartmann6, its noisy variant and the mixed problem they help; on 2-D Branin and the 3-D CASH arms they
    # lost (benchmarks/README.md).
    rich_from_dims: int = 4
    gp_prior: bool | None = None
    categorical_kernel: bool | None = None
    categorical_moves: bool | None = None
    log_ei: bool = False  # rank by log EI (`log_ei.py`); benchmarks/README.md says why it is off
    # The GP's lower bound on its noise variance (y standardised; None: by `noise_floor_for`).
    noise_floor: float | None = None
    low_noise_below_dims: int = 10

    def use(self, flag: bool | None, n_dims: int) -> bool:
        """Whether a rich-modelling `flag` is on for an arm of `n_dims` dimensions: a few dozen points do not
        pin four or more length scales by likelihood alone (they run off to their bounds)."""
        return flag if flag is not None else n_dims >= self.rich_from_dims

    def noise_floor_for(self, n_dims: int) -> float:
        """GPSampler's floor, 1e-6, on arms under `low_noise_below_dims` dimensions: scikit-learn's 1e-5 smooths a
        deterministic objective's last digits away; in 20-D, 60 points are interpolated whatever the floor, and the
        higher one measured better (benchmarks/README.md)."""
        if self.noise_floor is not None:
            return self.noise_floor
        return 1e-6 if n_dims < self.low_noise_below_dims else 1e-5


class BranchModel:
    """The surrogate of one arm: propose points in its space, each with a comparable score."""

    def __init__(self, dimensions: list[Dimension], settings: SurrogateSettings, seed: int,
                 optimizer: Optimizer | None = None) -> None:
        self.settings = settings
        self.n_fits = 0
        self.model: Any = None  # the last model fitted (with the liar values of its proposal)
        self.acq_kwargs: dict[str, float] = {}  # and the acquisition settings it was used with
        self.optimizer = optimizer if optimizer is not None else self._make_optimizer(dimensions, seed)
        if len(self.optimizer.models) > 1:  # a user's optimizer: keep the searcher's state small
            del self.optimizer.models[:-1]
        estimator = self.optimizer.base_estimator_
        if isinstance(estimator, GaussianProcessRegressor) and estimator.noise == "gaussian":
            # Put the noise term in the kernel itself so that warm starts keep it fitted.
            if not _param_for_white_kernel_in_Sum(estimator.kernel)[0]:
                floor = settings.noise_floor_for(len(self.optimizer.space.dimensions))
                noise = WhiteKernel(noise_level_bounds=(floor, 1e5))
                estimator.set_params(kernel=estimator.kernel + noise)

    def _make_optimizer(self, dimensions: list[Dimension], seed: int) -> Optimizer:
        s = self.settings
        estimator = s.base_estimator
        if isinstance(estimator, str):
            if estimator.upper() == "GP":
                estimator = make_gp(dimensions, seed, s.gp_restarts, prior=s.use(s.gp_prior, len(dimensions)),
                                    categorical_kernel=s.use(s.categorical_kernel, len(dimensions)))
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
        the kriging believer), or, with "lp" and a GP, as a local penalty on the acquisition
        (no lie; without a GP "lp" acts as "kb"). A GP's hyperparameters are fitted on the real observations
        only, so that lies cannot distort its length scales, and on at most `max_fit_points` of
        them (`fit_subset`). `y_best` is the best value over
        all arms on the same scale, so that scores (minus expected improvement, or the lower
        confidence bound) compare across arms.
        """
        space = self.space
        if self._is_gp and len(X) > self.settings.max_fit_points:
            keep = fit_subset(np.asarray(space.transform(X), dtype=float), np.asarray(y), self.settings.max_fit_points)
            X, y = [X[i] for i in keep], [y[i] for i in keep]
        penalty = None
        if lies == "lp" and pending and self._is_gp and len(X) >= 2:
            model = self._fit(X, y)
            penalty = LocalPenalty(model, np.asarray(space.transform(pending)), y_best, space, self.optimizer.rng)
            lies = []
        elif pending and self._is_gp and len(X) >= 2:
            real = self._fit(X, y)
            if isinstance(lies, str):
                lies = real.predict(space.transform(pending)).tolist()
            model = self._fit(X + pending, list(y) + list(lies), fixed_kernel=True)
        else:
            if isinstance(lies, str):
                lies = [float(np.mean(y)) if y else 0.0] * len(pending)
            model = self._fit(X + pending, list(y) + list(lies))
        self.model, self.acq_kwargs = model, dict(acq_kwargs)
        incumbents = np.asarray(space.transform([X[i] for i in np.argsort(y)[:N_INCUMBENTS]])) if X else np.empty(0)
        found = optimize_acquisition(
            model, space, incumbents, y_best, self.optimizer.acq_func, acq_kwargs, self.optimizer.n_points,
            n_polish=self.optimizer.n_restarts_optimizer if self.optimizer.acq_optimizer == "lbfgs" else 0,
            rng=self.optimizer.rng, penalty=penalty, log_ei=self.settings.log_ei,
            categorical_moves=self.settings.use(self.settings.categorical_moves, len(space.dimensions)),
        )
        points = space.inverse_transform(np.vstack([x for x, _ in found]))
        return [([to_python(v) for v in point], score) for point, (_, score) in zip(points, found)]

    @property
    def _is_gp(self) -> bool:
        return isinstance(self.optimizer.base_estimator_, GaussianProcessRegressor)

    def _fit(self, X: list[list[Any]], y: list[float], fixed_kernel: bool = False) -> Any:
        """A fresh model fitted on (X, y); a GP's kernel becomes the next fit's warm start.

        `fixed_kernel`: keep the hyperparameters of the last fit (used with liar values).
        """
        model = clone(self.optimizer.base_estimator_)
        if fixed_kernel:
            model.set_params(optimizer=None)
        else:
            self._prepare_fit(model, len(X))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(np.asarray(self.space.transform(X)), y)
        if not fixed_kernel:
            self._remember_kernel(model)
            self.n_fits += 1
        return model

    def _prepare_fit(self, model: Any, n: int) -> None:
        """GP only: random restarts now and then, else a warm start; with many points, mostly none."""
        if isinstance(model, GaussianProcessRegressor):
            s = self.settings
            full = self.n_fits % max(1, s.full_fit_every) == 0 and n < s.restarts_until
            skip = n >= s.fixed_after and self.n_fits % max(1, s.refit_every) != 0
            model.set_params(n_restarts_optimizer=s.gp_restarts if full else 0,
                             optimizer=None if skip else "fmin_l_bfgs_b")

    def _remember_kernel(self, model: Any) -> None:
        """Start the next GP fit from this fit's hyperparameters (noise level restored)."""
        if not isinstance(model, GaussianProcessRegressor):
            return
        kernel = model.kernel_
        present, param = _param_for_white_kernel_in_Sum(kernel)
        if present:  # the fitted kernel's noise term was zeroed, bounds and all: take the bounds from the template
            template = self.optimizer.base_estimator_.kernel
            bounds = template.get_params()[_param_for_white_kernel_in_Sum(template)[1]].noise_level_bounds
            noise = float(np.clip(model.noise_ or 1.0, *bounds))
            kernel = copy.deepcopy(kernel)
            kernel.set_params(**{param: WhiteKernel(noise_level=noise, noise_level_bounds=bounds)})
        self.optimizer.base_estimator_.set_params(kernel=kernel)

    def random_points(self, n: int, rng: np.random.RandomState) -> list[list[Any]]:
        """`n` uniformly random points of this arm's space, as Python values."""
        return [[to_python(v) for v in p] for p in self.space.rvs(n_samples=n, random_state=rng)]
