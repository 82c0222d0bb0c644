"""Search quality of `SkOptSearch` against random, Optuna TPE, Optuna GPSampler and `skopt.gp_minimize`.

Objectives: Branin (2-D), Hartmann6 (6-D) and a real CASH problem whose algorithm choice matters
(`cash_objective.py`: validation accuracy of SVC / random forest / knn after a scaler on a fixed,
noisy `make_classification` set; SVC is best on a narrow band, knn and the forest are easy,
lower plateaus), and the harder ones of `hard_objectives.py`: Hartmann6 with N(0, 0.1^2) noise
(regret on the noiseless value of the points evaluated), an integer/categorical-heavy one and a
20-D Levy with 4 effective dimensions. Every method is run for 60
evaluations per seed; regret at 30 is read off the same runs (no method here depends on the
budget). Concurrency 4 keeps 4 trials pending and completes them oldest first. Our searcher is
driven through its Ray `Searcher` API (suggest / on_trial_complete) directly for speed; `--ray`
adds a small check through `tune.Tuner`. Also measures suggest latency at 100 and 300
observations. Prints a table and writes `benchmarks/results/search_quality.json`.

    .venv/bin/pip install optuna   # benchmark-only extra
    nice .venv/bin/python benchmarks/search_quality.py [--seeds 10] [--methods ...] [--ray]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search.sample import Domain  # noqa: E402

from cash_objective import CASH_BEST, CASH_SPACE, cash_accuracy  # noqa: E402
from hard_objectives import (LEVY_SPACE, MIXED_BEST, MIXED_SPACE, hartmann6, levy20, mixed,  # noqa: E402
                             noisy_hartmann6)
from orchestrator.searchers.skopt_search import SkOptSearch  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "search_quality.json"
BUDGETS = (30, 60)

# ---- objectives -----------------------------------------------------------------------


def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


@dataclass
class Problem:
    name: str
    space: dict  # Ray param_space
    func: Callable[[dict], float]
    mode: str
    optimum: float
    truth: Callable[[dict], float] | None = None  # the noiseless value, where func is noisy

    def evaluate(self, config: dict) -> tuple[float, float]:
        """(the value the searcher is told, the value its regret is read on)."""
        observed = self.func(config)
        return observed, self.truth(config) if self.truth else observed

    def regret(self, value: float) -> float:
        return max(0.0, self.optimum - value) if self.mode == "max" else max(0.0, value - self.optimum)


PROBLEMS = {
    "branin": Problem("branin", {"x1": tune.uniform(-5, 10), "x2": tune.uniform(0, 15)}, branin, "min", 0.397887),
    "hartmann6": Problem("hartmann6", {f"x{i}": tune.uniform(0, 1) for i in range(6)}, hartmann6, "min", -3.32237),
    "cash": Problem("cash", CASH_SPACE, cash_accuracy, "max", CASH_BEST),
    "noisy_hartmann6": Problem("noisy_hartmann6", {f"x{i}": tune.uniform(0, 1) for i in range(6)}, noisy_hartmann6,
                               "min", -3.32237, truth=hartmann6),
    "mixed": Problem("mixed", MIXED_SPACE, mixed, "min", MIXED_BEST),
    "levy20": Problem("levy20", LEVY_SPACE, levy20, "min", 0.0),
}

# ---- methods: each returns the objective values in evaluation order -----------------------


def run_ours(problem: Problem, budget: int, seed: int, concurrency: int, settings: dict | None = None,
             **options: Any) -> list[float]:
    """`settings`: `SurrogateSettings` fields to try (internal knobs, not options)."""
    searcher = SkOptSearch(metric="y", mode=problem.mode, random_state=seed, **options)
    for key, value in (settings or {}).items():
        setattr(searcher._settings, key, value)
    searcher.set_search_properties("y", problem.mode, problem.space)  # the Tuner's path: space from param_space
    values: list[float] = []
    pending: list[tuple[str, dict]] = []
    issued = 0
    while len(values) < budget:
        while len(pending) < concurrency and issued < budget:
            config = searcher.suggest(str(issued))
            pending.append((str(issued), config))
            issued += 1
        trial_id, config = pending.pop(0)
        value, true = problem.evaluate(config)
        searcher.on_trial_complete(trial_id, {"y": value})
        values.append(true)
    return values


def _sample(value: Any, rng: np.random.RandomState) -> Any:
    if isinstance(value, Domain):
        return _sample(value.sample(random_state=rng), rng)
    if isinstance(value, dict):
        return {k: _sample(v, rng) for k, v in value.items()}
    return value


def run_random(problem: Problem, budget: int, seed: int, concurrency: int) -> list[float]:
    rng = np.random.RandomState(seed)
    return [problem.evaluate(_sample(problem.space, rng))[1] for _ in range(budget)]


def _optuna_params(problem: Problem, trial: Any, flat: bool) -> dict:
    """Define-by-run view of the Ray space; `flat` asks every branch's parameters every time."""
    def walk(value: Any, name: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{name}{k}/") for k, v in value.items()}
        if not isinstance(value, Domain):
            return value
        sampler = value.get_sampler()
        log = type(sampler).__name__.endswith("LogUniform")
        key = name.rstrip("/")
        if isinstance(value, tune.search.sample.Float):
            return trial.suggest_float(key, value.lower, value.upper, log=log)
        if isinstance(value, tune.search.sample.Integer):
            return trial.suggest_int(key, value.lower, value.upper - 1, log=log)
        cats = value.categories
        if all(isinstance(c, dict) for c in cats):
            names = [c["name"] for c in cats]
            chosen = trial.suggest_categorical(key, names)
            branches = {c["name"]: walk(c, f"{name}{c['name']}/") if (flat or c["name"] == chosen) else None
                        for c in cats}
            return branches[chosen]
        return cats[trial.suggest_categorical(key, list(range(len(cats))))]
    return walk(problem.space, "")


def run_optuna(problem: Problem, budget: int, seed: int, concurrency: int, sampler: str) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler == "gp":
        made = optuna.samplers.GPSampler(seed=seed)
    else:
        made = optuna.samplers.TPESampler(seed=seed, multivariate=sampler == "tpe_group",
                                          group=sampler == "tpe_group", constant_liar=concurrency > 1)
    study = optuna.create_study(direction="maximize" if problem.mode == "max" else "minimize", sampler=made)
    flat = sampler == "gp"  # GPSampler only models a fixed space: flatten the branches for it
    values: list[float] = []
    pending: list[tuple[Any, dict]] = []
    issued = 0
    while len(values) < budget:
        while len(pending) < concurrency and issued < budget:
            trial = study.ask()
            pending.append((trial, _optuna_params(problem, trial, flat)))
            issued += 1
        trial, config = pending.pop(0)
        value, true = problem.evaluate(config)
        study.tell(trial, value)
        values.append(true)
    return values


def run_gp_minimize(problem: Problem, budget: int, seed: int, concurrency: int) -> list[float]:
    """Plain `skopt.gp_minimize` (sequential only) over the flattened space, defaults otherwise."""
    from skopt import gp_minimize

    from orchestrator.searchers.skopt_space import compile_space

    space = compile_space(problem.space, flat=True)
    coords = space.arms[0].coordinates
    sign = -1.0 if problem.mode == "max" else 1.0
    values: list[float] = []

    def objective(x: list[Any]) -> float:
        value, true = problem.evaluate(space.config(0, list(x)))
        values.append(true)
        return sign * value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp_minimize(objective, [c.dimension for c in coords], n_calls=budget, random_state=seed)
    return values


METHODS: dict[str, tuple[Callable[..., list[float]], dict, tuple[int, ...], tuple[str, ...] | None]] = {
    # name: (runner, extra kwargs, concurrencies, problems (None: all))
    "ours": (run_ours, {}, (1, 4), None),
    "ours_flat": (run_ours, {"conditional": "flat"}, (1, 4), ("cash",)),
    "ours_kb": (run_ours, {"liar": "kb"}, (4,), None),
    "ours_prior": (run_ours, {"settings": {"gp_prior": True}}, (1, 4), None),
    "ours_noprior": (run_ours, {"settings": {"gp_prior": False}}, (1, 4), None),
    # categorical handling on every arm, each part alone and neither (only spaces with categoricals change);
    # the 2026-11-30 screen ran these before the dimension rule, without the prior
    "ours_onehot": (run_ours, {"settings": {"categorical_kernel": False, "categorical_moves": False}}, (1, 4),
                    ("mixed", "cash")),
    "ours_catkernel": (run_ours, {"settings": {"categorical_kernel": True, "categorical_moves": False}}, (1, 4), ("mixed", "cash")),
    "ours_catmoves": (run_ours, {"settings": {"categorical_kernel": False, "categorical_moves": True}}, (1, 4), ("mixed", "cash")),
    "ours_logei": (run_ours, {"settings": {"log_ei": True}}, (1, 4), None),
    # issue 18, fifth session: a space-filling initial design, the GP's noise floor, more polished starts
    "ours_sobol": (run_ours, {"initial_point_generator": "sobol"}, (1, 4), None),
    "ours_lhs": (run_ours, {"initial_point_generator": "lhs"}, (1, 4), None),
    "ours_noise5": (run_ours, {"settings": {"noise_floor": 1e-5}}, (1, 4), None),  # the default before
    "ours_noise6": (run_ours, {"settings": {"noise_floor": 1e-6}}, (1, 4), None),
    "ours_noise8": (run_ours, {"settings": {"noise_floor": 1e-8}}, (1, 4), None),
    "ours_polish5": (run_ours, {"n_restarts_optimizer": 5}, (1, 4), None),
    "random": (run_random, {}, (1,), None),
    "optuna_tpe": (run_optuna, {"sampler": "tpe"}, (1, 4), None),
    "optuna_tpe_group": (run_optuna, {"sampler": "tpe_group"}, (1,), ("cash",)),
    "optuna_gp": (run_optuna, {"sampler": "gp"}, (1, 4), None),
    "gp_minimize": (run_gp_minimize, {}, (1,), None),
}


def best_so_far(problem: Problem, values: list[float], n: int) -> float:
    head = values[:n]
    return max(head) if problem.mode == "max" else min(head)


def summarize(regrets: list[float]) -> dict[str, float]:
    q25, q50, q75 = np.percentile(regrets, [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75), "n": len(regrets),
            "per_seed": [float(r) for r in regrets]}


# ---- latency --------------------------------------------------------------------------


def suggest_latency(n_obs: int, repeats: int = 15, **options: Any) -> dict[str, float]:
    """Median / max time of one suggest on Hartmann6 after `n_obs` observations (wall and CPU)."""
    problem = PROBLEMS["hartmann6"]
    searcher = SkOptSearch(space=problem.space, metric="y", mode="min", random_state=0, n_initial_points=n_obs,
                           **options)
    for i in range(n_obs):
        config = searcher.suggest(f"warm{i}")
        searcher.on_trial_complete(f"warm{i}", {"y": problem.func(config)})
    wall, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        config = searcher.suggest(str(i))
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        searcher.on_trial_complete(str(i), {"y": problem.func(config)})
    return {"median_wall_s": float(np.median(wall)), "max_wall_s": float(np.max(wall)),
            "median_cpu_s": float(np.median(cpu)), "max_cpu_s": float(np.max(cpu)), "repeats": repeats,
            "options": options or "defaults"}


# ---- through Ray ----------------------------------------------------------------------


def ray_check(seeds: int) -> dict[str, Any]:
    """Branin through `tune.Tuner` with our searcher (concurrency 1): same regret as driving it directly."""
    import ray
    from ray.tune.search import ConcurrencyLimiter

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    problem = PROBLEMS["branin"]
    regrets = []
    for seed in range(seeds):
        searcher = ConcurrencyLimiter(SkOptSearch(random_state=seed), max_concurrent=1)
        tuner = tune.Tuner(
            lambda config: {"y": branin(config)},
            param_space=problem.space,
            tune_config=tune.TuneConfig(search_alg=searcher, metric="y", mode="min", num_samples=60),
            run_config=tune.RunConfig(verbose=0, storage_path=str(Path("/tmp") / "hpo_bench_ray")),
        )
        best = tuner.fit().get_best_result().metrics["y"]
        regrets.append(problem.regret(best))
    ray.shutdown()
    return summarize(regrets)


# ---- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--concurrency", nargs="*", type=int, default=None, help="only these concurrencies")
    parser.add_argument("--ray", action="store_true", help="also run Branin through tune.Tuner")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--max-seeds", nargs="*", default=[], metavar="METHOD=N",
                        help="fewer seeds for slow methods, e.g. optuna_gp=3")
    parser.add_argument("--merge", nargs="*", type=Path, default=[], help="result files to merge into --out")
    parser.add_argument("--markdown", action="store_true", help="with --merge: also print the README's table")
    args = parser.parse_args()
    if args.merge:
        merged: dict[str, Any] = {}
        for path in args.merge:
            part = json.loads(path.read_text())
            merged = {**merged, **part, "results": {**merged.get("results", {}), **part.get("results", {})}}
        args.out.write_text(json.dumps(merged, indent=1))
        print_table(merged["results"])
        if args.markdown:
            print(markdown_table(merged["results"]))
        return
    max_seeds = {k: int(v) for k, v in (item.split("=") for item in args.max_seeds)}

    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    results: dict[str, Any] = previous.get("results", {})
    for method in args.methods:
        runner, kwargs, concurrencies, only = METHODS[method]
        for name in args.problems:
            if only and name not in only:
                continue
            problem = PROBLEMS[name]
            for conc in concurrencies:
                if args.concurrency and conc not in args.concurrency:
                    continue
                start = time.perf_counter()
                seeds = min(args.seeds, max_seeds.get(method, args.seeds))
                runs = [runner(problem, max(BUDGETS), seed, conc, **kwargs)
                        for seed in range(args.first_seed, args.first_seed + seeds)]
                entry = {str(b): summarize([problem.regret(best_so_far(problem, r, b)) for r in runs])
                         for b in BUDGETS}
                entry["seconds"] = time.perf_counter() - start
                results[f"{name}|{method}|c{conc}"] = entry
                print(f"{name:10s} {method:17s} c{conc}  " + "  ".join(
                    f"@{b}: {entry[str(b)]['median']:.5f} [{entry[str(b)]['q25']:.5f}, {entry[str(b)]['q75']:.5f}]"
                    for b in BUDGETS) + f"  ({entry['seconds']:.0f}s)", flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({**previous, "results": results}, indent=1))
    out = {**previous, "results": results}
    if not args.no_latency:
        out["latency"] = {f"{n}|{label}": suggest_latency(n, **opts) for n in (100, 300)
                          for label, opts in (("defaults", {}), ("EI", {"acq_func": "EI"}))}
        print("suggest latency:", json.dumps(out["latency"]))
    if args.ray:
        out["ray_branin_c1"] = ray_check(min(args.seeds, 3))
        print("through tune.Tuner, branin:", out["ray_branin_c1"])
    out["meta"] = {"seeds": args.seeds, "first_seed": args.first_seed, "max_seeds": max_seeds, "budgets": list(BUDGETS),
                   "python": platform.python_version(),
                   "cpu_count": os.cpu_count(), "note": "regret at 30 read from the 60-evaluation runs"}
    args.out.write_text(json.dumps(out, indent=1))
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'problem':10s} {'method':17s} {'conc':4s} " + " ".join(f"{'median@' + str(b):>10s} {'IQR':>21s}"
                                                                   for b in BUDGETS))
    for key in sorted(results):
        name, method, conc = key.split("|")
        entry = results[key]
        print(f"{name:10s} {method:17s} {conc:4s} " + " ".join(
            f"{entry[str(b)]['median']:10.5f} [{entry[str(b)]['q25']:.5f},{entry[str(b)]['q75']:.5f}]" for b in BUDGETS))


def markdown_table(results: dict[str, Any], budget: int = 60) -> str:
    """One row per problem, one column per method and concurrency: median [q25, q75] (seeds) at `budget`."""
    columns = sorted({key.split("|", 1)[1] for key in results}, key=lambda c: (c.split("|")[0] != "ours", c))
    lines = ["| problem | " + " | ".join(c.replace("|", " ") for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for name in PROBLEMS:
        cells = []
        for column in columns:
            entry = results.get(f"{name}|{column}", {}).get(str(budget))
            cells.append(f"{entry['median']:.3g} [{entry['q25']:.2g}, {entry['q75']:.2g}] ({entry['n']})" if entry else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
