"""`SkOptSearch`: Bayesian optimisation with scikit-optimize as a Ray Tune `Searcher`.

A drop-in for the scikit-optimize searcher Ray Tune removed in 2024, plus what the spec
needs: conditional branches (one surrogate per branch combination, "arm"; the next point is
the best acquisition value over all arms, on one shared y scale, while every arm keeps at
least sqrt(n) of the n points), parallel suggestions (local penalisation around pending
trials, or a kriging-believer or constant-liar value told for them), LCB with
time-decaying exploration, and suggest latency kept low.

`build_for_spec` is what a sweep calls for `search.method: bayes` (the builder of
`SEARCHERS["bayes"]`). The spec's `search.bayes` options, their rules, defaults and a line
on each are declared once in `orchestrator.extensions.searchers.SKOPT_OPTIONS`; in short:
base_estimator and acq_func pick the surrogate and the acquisition; n_initial_points,
initial_point_generator the design before the model; acq_optimizer, n_points and
n_restarts_optimizer how the acquisition is optimised; xi, kappa and kappa_decay how much it
explores; liar how pending trials steer the next suggestion (lp: no lie, the acquisition is
damped around each pending point, the more the worse the model expects it to be; kb: told
the GP mean; cl_*: a constant); conditional whether each branch has its own model.

Results: a trial's final reported metric is told; errored trials are not; a non-finite
value never reaches the model (it is told as the worst value seen so far: the region is
bad, and NaN would poison the GP); a trial an early-stopping scheduler stopped is told
its last reported value. Under ASHA that is sound: a trial is stopped only when its value
at a rung is below the rung's top 1/eta, and with learning curves that improve with
training the value at the rung understates the final one, so stopped trials are told
pessimistic values and never displace the incumbent, which has reached max_t or beaten
every trial at its rung. Ray passes `on_trial_complete` the stopped trial's last result, so
what is told is its value at the iteration where it was stopped: an ASHA or (asynchronous)
HyperBand rung, or for median stopping the iteration where its best fell below the median.
BOHB fits one model per budget (rung) on the values at that rung; here one model sees every
trial, the iteration is not an input, and a stopped trial's rung value stands for its final
value, pessimistically (tested in tests/test_early_stopping.py).
"""
from __future__ import annotations

import copy
import math
import pickle
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
from ray.tune.result import DEFAULT_METRIC
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.utils.util import unflatten_dict
from skopt import Optimizer
from skopt.sampler import Hammersly, Halton, Lhs, Sobol
from skopt.space import Categorical as SkCategorical
from skopt.space import Integer as SkInteger
from skopt.space import Space

from orchestrator.extensions.searchers import SKOPT_OPTIONS
from orchestrator.searchers.skopt_convert import convert_search_space
from orchestrator.searchers.skopt_space import CompiledSpace, compile_space, has_domain, to_python
from orchestrator.searchers.skopt_surrogate import BranchModel, SurrogateSettings

if TYPE_CHECKING:
    from orchestrator.spec import Spec

#: Initial-design points each arm keeps after a warm start (`SkOptSearch.tell_warm_start`).
WARM_START_EXPLORE = 2

INITIAL_GENERATORS = {"lhs": Lhs, "sobol": Sobol, "halton": Halton, "hammersly": Hammersly}

#: `search.bayes` keys the spec accepts, each with the check (declared in SKOPT_OPTIONS) returning
#: the checked value.
BAYES_OPTIONS: dict[str, Callable[[Any], Any]] = {option.name: option.check for option in SKOPT_OPTIONS}


class SkOptSearch(Searcher):
    """Bayesian optimisation with scikit-optimize, for a plain `tune.Tuner(param_space=...)` or the spec.

    `space` is a Ray search space (nested dicts, Ray domains, constants) or, as in the removed
    Ray searcher, `{name: skopt dimension or (low, high) or [categories]}`; with `optimizer`
    (a `skopt.Optimizer`, which then fixes dimensions, estimator and acquisition) it is the
    list of parameter names, and it is told every result (its `Xi`, `yi`, `get_result()`).
    Left out, it comes from the Tuner's `param_space`. `points_to_evaluate` (dicts, or lists
    in the order of the space's parameters) run first, or are told `evaluated_rewards` without
    running; told points count towards `n_initial_points`, as in skopt. `mode` without `metric`
    uses Ray's `"_metric"`. `random_state=None` draws the seed from numpy's global generator,
    so `np.random.seed` reproduces a search. Suggested values are always builtin Python types
    (`convert_to_python` is kept for compatibility). The other arguments are those of
    `BAYES_OPTIONS`.
    """

    convert_search_space = staticmethod(convert_search_space)
    _alternate = False   # after a warm start: the model's suggestions and the kept initial points take turns
    _model_turn = False

    def __init__(
        self,
        optimizer: Optimizer | None = None,
        space: dict | list[str] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict] | None = None,
        evaluated_rewards: list[float] | None = None,
        convert_to_python: bool = True,
        *,
        base_estimator: Any = "GP",
        acq_func: str = "gp_hedge",
        n_initial_points: int = 10,
        initial_point_generator: str = "random",
        random_state: int | None = None,
        acq_optimizer: str = "auto",
        n_points: int = 1000,
        n_restarts_optimizer: int = 1,
        xi: float = 0.0,
        kappa: float = 1.96,
        kappa_decay: float = 1.0,
        liar: str = "lp",
        conditional: str = "branch",
    ) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"SkOptSearch: mode must be 'min' or 'max'; got {mode!r}")
        if metric is not None and not isinstance(metric, str):
            raise ValueError(f"SkOptSearch: metric must be one metric name (a str); got {metric!r}")
        if mode and not metric:
            metric = DEFAULT_METRIC
        super().__init__(metric=metric, mode=mode)
        if isinstance(base_estimator, str):  # else a regressor with predict(return_std=True)
            BAYES_OPTIONS["base_estimator"](base_estimator)
        for key, value in (("acq_func", acq_func), ("initial_point_generator", initial_point_generator),
                           ("kappa_decay", kappa_decay), ("liar", liar), ("conditional", conditional),
                           ("n_initial_points", n_initial_points)):
            BAYES_OPTIONS[key](value)
        if evaluated_rewards is not None and len(evaluated_rewards) != len(points_to_evaluate or []):
            raise ValueError("SkOptSearch: evaluated_rewards must have one value per point of points_to_evaluate")
        self.convert_to_python = convert_to_python
        self._settings = SurrogateSettings(
            base_estimator=base_estimator, acq_func=acq_func, acq_optimizer=acq_optimizer,
            n_points=n_points, n_restarts_optimizer=n_restarts_optimizer,
        )
        self._n_initial_points = n_initial_points
        self._initial_point_generator = initial_point_generator
        self._xi, self._kappa, self._kappa_decay, self._liar = xi, kappa, kappa_decay, liar
        self._flat = conditional == "flat"
        if random_state is None:
            random_state = int(np.random.randint(0, 2**31 - 1))
        self._rng = np.random.RandomState(random_state)
        self._space: CompiledSpace | None = None
        self._models: list[BranchModel] = []
        self._initial: list[list[list[Any]]] = []  # per arm: initial-design points not yet suggested
        self._observations: list[tuple[int, list[Any], float]] = []  # (arm, x, y to minimise)
        self._pending: dict[str, tuple[int, list[Any]]] = {}
        self._queue: list[tuple[int, list[Any]]] = []  # points_to_evaluate not yet suggested
        self._last_value: dict[str, float] = {}
        self._points_to_evaluate = list(points_to_evaluate or [])
        self._evaluated_rewards = list(evaluated_rewards) if evaluated_rewards is not None else None
        self._user_optimizer = optimizer
        if optimizer is not None:
            self._setup_from_optimizer(optimizer, space)
        elif space:
            if not isinstance(space, dict):
                raise ValueError("SkOptSearch: space must be a dict, or a list of names together with optimizer")
            self._setup(compile_space(space, skopt_style=True, flat=self._flat))

    # ---- search space ---------------------------------------------------------------

    def _setup_from_optimizer(self, optimizer: Optimizer, names: Any) -> None:
        dims = optimizer.space.dimensions
        if not isinstance(names, (list, tuple)) or len(names) != len(dims):
            raise ValueError(f"SkOptSearch: with optimizer, space must list the names of its {len(dims)} dimensions")
        self._n_initial_points = max(1, optimizer.n_initial_points_)
        self._settings.acq_func = optimizer.acq_func
        self._setup(compile_space(dict(zip(names, dims)), skopt_style=True))
        for x, y in zip(optimizer.Xi, optimizer.yi):
            self._observations.append((0, list(x), float(y)))

    def _setup(self, space: CompiledSpace) -> None:
        self._space = space
        n_arms = len(space.arms)
        self._models = []
        self._initial = []
        for index, arm in enumerate(space.arms):
            seed = int(self._rng.randint(0, 2**31 - 1))
            dims = [copy.deepcopy(c.dimension) for c in arm.coordinates]  # skopt sets transforms on them
            user = self._user_optimizer if index == 0 else None
            self._models.append(BranchModel(dims, self._settings, seed, optimizer=user) if dims else None)
            quota = max(2, math.ceil(self._n_initial_points / n_arms)) if n_arms > 1 else self._n_initial_points
            self._initial.append(self._initial_design(dims, quota, seed))
        if self._points_to_evaluate:
            points = [self._point_as_dict(p) for p in self._points_to_evaluate]
            encoded = [space.encode(unflatten_dict(p) if any("/" in str(k) for k in p) else p) for p in points]
            if self._evaluated_rewards is not None:
                for (arm, x), reward in zip(encoded, self._evaluated_rewards):
                    self._tell(arm, x, reward, external=True)
            else:
                self._queue.extend(encoded)
            self._points_to_evaluate, self._evaluated_rewards = [], None

    def _point_as_dict(self, point: dict | list | tuple) -> dict:
        """A point of `points_to_evaluate` as a config; a list gives the values in parameter order."""
        if isinstance(point, dict):
            return point
        names = list(self._space.params)
        if self._space.branchings or len(point) != len(names):
            raise ValueError(f"SkOptSearch: a point given as a list needs one value per parameter ({', '.join(names)})"
                             f" and a space without branches; got {point!r}")
        return dict(zip(names, point))

    def _initial_design(self, dims: list[Any], n: int, seed: int) -> list[list[Any]]:
        """The arm's first points: random or a space-filling design, distinct where the space allows."""
        if not dims:
            return [[]]
        space = Space(dims)
        n = int(min(n, _cardinality(space)))
        generator = INITIAL_GENERATORS.get(self._initial_point_generator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points = generator().generate(dims, n, random_state=seed) if generator else space.rvs(n, random_state=seed)
        return [[to_python(v) for v in p] for p in points]

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Take the Tuner's metric, mode and `param_space` (unless a different space was given)."""
        if self._space is not None:
            if has_domain(config) and compile_space(config, flat=self._flat).root != self._space.root:
                return False
        else:
            self._setup(compile_space(config, flat=self._flat))
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"SkOptSearch: mode must be 'min' or 'max'; got {mode!r}")
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    # ---- suggest ----------------------------------------------------------------------

    def suggest(self, trial_id: str) -> dict | None:
        if self._space is None:
            raise RuntimeError(
                "SkOptSearch has no search space: pass `space=` or a `param_space` to tune.Tuner"
            )
        if not self._metric or not self._mode:
            raise RuntimeError(
                f"SkOptSearch needs a metric and a mode (got metric={self._metric!r}, mode={self._mode!r}): "
                "pass them to SkOptSearch or to tune.TuneConfig"
            )
        arm, x = self._next_point()
        self._pending[trial_id] = (arm, x)
        return self._space.config(arm, x)

    def _next_point(self) -> tuple[int, list[Any]]:
        if self._queue:
            return self._queue.pop(0)
        counts = self._counts()
        open_arms = [a for a, points in enumerate(self._initial) if points]
        if open_arms and not self._take_model_turn():
            arm = min(open_arms, key=lambda a: counts[a])
            return arm, self._initial[arm].pop(0)
        return self._model_point() or self._random_point()

    def _take_model_turn(self) -> bool:
        """Whether the model suggests next although initial points are left: every other time after a warm start,
        the model first (what was told may hold a point as good as the target already)."""
        if self._alternate:
            self._model_turn = not self._model_turn
        return self._alternate and not self._model_turn

    def _counts(self) -> list[int]:
        counts = [0] * len(self._models)
        for arm, _, _ in self._observations:
            counts[arm] += 1
        for arm, _ in self._pending.values():
            counts[arm] += 1
        return counts

    def _seen(self, arm: int) -> set[tuple]:
        seen = {tuple(x) for a, x, _ in self._observations if a == arm}
        seen |= {tuple(x) for a, x in self._pending.values() if a == arm}
        return seen

    def _model_point(self) -> tuple[int, list[Any]] | None:
        """The best acquisition value over all arms (pending trials lie), skipping points already tried."""
        ys = np.array([y for _, _, y in self._observations], dtype=float)
        if len(ys) == 0:
            return None
        mean, std = float(ys.mean()), float(ys.std()) or 1.0
        y_best = (float(ys.min()) - mean) / std
        kappa = self._kappa * self._kappa_decay ** len(ys)
        acq_kwargs = {"xi": self._xi, "kappa": kappa}
        best: tuple[float, int, list[Any]] | None = None
        for arm in self._arms_to_model():
            model = self._models[arm]
            X, y, pending, lies = self._arm_data(arm, ys)
            if len(X) + len(pending) < 2:
                continue
            if not isinstance(lies, str):
                lies = [(v - mean) / std for v in lies]
            seen = self._seen(arm)
            for x, score in model.propose(X, [(v - mean) / std for v in y], pending, lies, y_best, acq_kwargs):
                if tuple(x) not in seen:
                    if best is None or score < best[0]:
                        best = (score, arm, x)
                    break
        return None if best is None else (best[1], best[2])

    def _arms_to_model(self) -> list[int]:
        """The arms the next point may come from: every arm with parameters, unless some hold
        fewer than sqrt(n) of the n points so far; then the least tried of those. Expected
        improvement alone starves a branch whose first points missed a narrow optimum."""
        arms = [a for a, model in enumerate(self._models) if model is not None]
        if len(arms) < 2:
            return arms
        counts = self._counts()
        floor = math.isqrt(sum(counts))
        starved = [a for a in arms if counts[a] < floor]
        return [min(starved, key=lambda a: counts[a])] if starved else arms

    def _arm_data(self, arm: int, ys: np.ndarray) -> tuple[list[list[Any]], list[float], list[list[Any]], Any]:
        """The arm's observations, its pending points and the values they are told (the liar)."""
        X = [x for a, x, _ in self._observations if a == arm]
        y = [v for a, _, v in self._observations if a == arm]
        pending = [x for a, x in self._pending.values() if a == arm]
        if not pending:
            return X, y, [], []
        if self._liar in ("kb", "lp"):
            return X, y, pending, self._liar
        pool = np.array(y) if y else ys
        lie = {"cl_min": pool.min, "cl_mean": pool.mean, "cl_max": pool.max}[self._liar]()
        return X, y, pending, [float(lie)] * len(pending)

    def _random_point(self) -> tuple[int, list[Any]]:
        """A random point not tried yet (a tried one only when every arm is exhausted)."""
        arms = [a for a, model in enumerate(self._models) if model is not None]
        fallback = None
        for _ in range(20):
            if not arms:
                break
            arm = arms[self._rng.randint(len(arms))]
            x = self._models[arm].random_points(1, self._rng)[0]
            fallback = fallback or (arm, x)
            if tuple(x) not in self._seen(arm):
                return arm, x
        if fallback is None:  # only arms without parameters: repeat one of them
            return int(self._rng.randint(len(self._models))), []
        return fallback

    # ---- results ----------------------------------------------------------------------

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        value = _finite(result.get(self._metric)) if result else None
        if value is not None:
            self._last_value[trial_id] = value

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        point = self._pending.pop(trial_id, None)
        last = self._last_value.pop(trial_id, None)
        if point is None or error:
            return
        if result and self._metric in result:
            value = result[self._metric]
        elif last is not None:
            value = last
        elif result:
            raise ValueError(
                f"SkOptSearch: metric {self._metric!r} is not in the trial's results "
                f"(reported: {', '.join(sorted(map(str, result)))})"
            )
        else:
            return
        self._tell(point[0], point[1], value)

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False,
                            pruned: bool = False, intermediate_values: list[float] | None = None) -> None:
        """Tell a result obtained outside this search (errored and pruned points are skipped)."""
        if self._space is None:
            raise RuntimeError("SkOptSearch has no search space yet")
        if error or pruned:  # a pruned value is a partial one: it would mislead the model
            return
        arm, x = self._space.encode(parameters)
        self._tell(arm, x, value, external=True)

    def tell_warm_start(self, observations: Iterable[tuple[dict, float]]) -> None:
        """Tell earlier sweeps' results (`search.warm_start`). They count toward `n_initial_points` as told points do,
        but each arm keeps `WARM_START_EXPLORE` points of its initial design, taking turns with the model's
        suggestions once the told points fill the design: told only an earlier sweep's trajectory, the model kept
        refining the told incumbent and could stall there (benchmarks/README.md, warm_start.py)."""
        told = [0] * len(self._models)
        for config, value in observations:
            arm, x = self._space.encode(config)
            self._tell(arm, x, value)
            told[arm] += 1
        for arm, points in enumerate(self._initial):
            keep = WARM_START_EXPLORE if self._models[arm] is not None else 0  # an arm without parameters: a repeat
            del points[max(keep, len(points) - told[arm]):]
        self._alternate = self._model_turn = sum(told) >= self._n_initial_points  # else the design runs first

    def _tell(self, arm: int, x: list[Any], value: Any, external: bool = False) -> None:
        """Record one observation, as a value to minimise; non-finite values become the worst seen.

        An `external` one (not suggested here) takes the place of one of the arm's initial
        points, as a told point does in skopt. A user's `skopt.Optimizer` is told it too.
        """
        y = _finite(value)
        if y is not None and self._mode == "max":
            y = -y
        if y is None:
            if not self._observations:
                return
            y = max(v for _, _, v in self._observations)
        self._observations.append((arm, list(x), y))
        if external and self._initial[arm]:
            self._initial[arm].pop()
        if self._user_optimizer is not None:
            self._user_optimizer.tell(list(x), y, fit=False)

    # ---- persistence ------------------------------------------------------------------

    def get_state(self) -> dict:
        return dict(self.__dict__)

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    @property
    def observations(self) -> list[tuple[dict, float]]:
        """Every told (config, metric value) pair, in the order told."""
        sign = -1.0 if self._mode == "max" else 1.0
        return [(self._space.config(arm, x), sign * y) for arm, x, y in self._observations]


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _cardinality(space: Space) -> float:
    """How many distinct points the space has (inf with any real dimension)."""
    total = 1.0
    for dim in space.dimensions:
        if isinstance(dim, SkCategorical):
            total *= len(dim.categories)
        elif isinstance(dim, SkInteger):
            total *= dim.high - dim.low + 1
        else:
            return math.inf
    return total


def build_skopt_searcher(param_space: dict, metric: str, mode: str, options: dict, seed: int | None,
                         max_concurrent: int) -> Searcher:
    """The searcher for `search.method: bayes`: options from `search.bayes`, checked against `BAYES_OPTIONS`.

    The space is compiled here so conversion errors surface before any trial runs; the
    Tuner may be given the same `param_space` (the searcher accepts it again).
    """
    unknown = sorted(set(options) - set(BAYES_OPTIONS))
    if unknown:
        raise ValueError(f"search.bayes: unknown option(s) {', '.join(unknown)}; accepted: {', '.join(BAYES_OPTIONS)}")
    checked = {key: BAYES_OPTIONS[key](value) for key, value in options.items()}
    searcher: Searcher = SkOptSearch(space=param_space, metric=metric, mode=mode, random_state=seed, **checked)
    if max_concurrent and max_concurrent > 0:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent, batch=False)
    return searcher


def build_for_spec(spec: Spec, param_space: dict) -> Searcher:
    """The builder of `SEARCHERS["bayes"]`: `build_skopt_searcher` with the spec's options, seed
    and concurrency."""
    search = spec.search
    return build_skopt_searcher(param_space, spec.metric, spec.mode, dict(search.options), search.seed,
                                search.max_concurrent)
