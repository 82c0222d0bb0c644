"""Space compilation to Ray Tune's `param_space`: the right domains with inclusive integer
bounds, branch-only trial configs, grid sizes that match what Ray enumerates, `describe`.

Trial configs are drawn with Ray's own variant generator, which needs no running Ray.
"""
from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pytest
from ray.tune.search import sample
from ray.tune.search.variant_generator import generate_variants

from orchestrator.space import (
    BRANCH_KEY, Categorical, Conditional, Constant, FloatParam, IntParam, Nested, count_sampled, describe,
    grid_size, to_param_space,
)
from orchestrator.spec import load_spec_text

HEADER = "name: t\ntrainable: sklearn_classifier\nmetric: acc\nmode: max\n"


def space_of(space_yaml: str) -> Nested:
    """The parsed `space:` of a spec whose space is `space_yaml` (indented under `space:`)."""
    return load_spec_text(HEADER + "space:\n" + space_yaml, "t.yaml").space


def configs(param_space: dict, n: int | None = None, seed: int = 0) -> list[dict]:
    """Trial configs as Ray's variant generator resolves them (all grid points, then sampled)."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    while n is None or len(out) < n:
        batch = [config for _, config in generate_variants(param_space, random_state=rng)]
        out += batch
        if n is None:
            break
    return out if n is None else out[:n]


def draw(domain: sample.Domain, n: int = 20_000, seed: int = 0) -> list:
    """`n` samples of one Ray domain."""
    return list(domain.sample(size=n, random_state=np.random.default_rng(seed)))


# --- domains ---------------------------------------------------------------------------------

def test_each_distribution_compiles_to_its_ray_domain() -> None:
    ps = to_param_space(space_of("""\
  u: {uniform: [-1, 1]}
  lu: {loguniform: [1.0e-4, 1.0e-1]}
  q: {quniform: [0, 10, 2.5]}
  ri: {randint: [1, 5]}
  lri: {lograndint: [1, 100]}
  c: {choice: [a, b]}
  g: {grid: [x, y, z]}
  k: 3
  nest: {a: {uniform: [0, 1]}, b: [1, 2]}
"""))
    assert isinstance(ps["u"], sample.Float) and (ps["u"].lower, ps["u"].upper) == (-1.0, 1.0)
    assert type(ps["u"].get_sampler()).__name__ == "_Uniform"
    assert type(ps["lu"].get_sampler()).__name__ == "_LogUniform" and ps["lu"].lower == 1e-4
    assert isinstance(ps["q"].get_sampler(), sample.Quantized) and ps["q"].get_sampler().q == 2.5
    # Ray's integer upper bound is exclusive; the spec's is inclusive.
    assert isinstance(ps["ri"], sample.Integer) and (ps["ri"].lower, ps["ri"].upper) == (1, 6)
    assert type(ps["lri"].get_sampler()).__name__ == "_LogUniform" and (ps["lri"].lower, ps["lri"].upper) == (1, 101)
    assert isinstance(ps["c"], sample.Categorical) and ps["c"].categories == ["a", "b"]
    assert isinstance(ps["g"], sample.Categorical)  # grid values are a categorical outside grid search
    assert ps["k"] == 3
    assert isinstance(ps["nest"]["a"], sample.Float) and ps["nest"]["b"] == [1, 2]


def test_grid_values_and_branches_are_enumerated_only_under_grid_search() -> None:
    space = space_of("  g: {grid: [1, 2]}\n  c: {choice: [1, 2]}\n  m: {choice: {a: {}, b: {}}}\n")
    grid = to_param_space(space, grid=True)
    assert grid["g"] == {"grid_search": [1, 2]}
    assert isinstance(grid["c"], sample.Categorical)  # choice: is sampled even under grid search
    assert grid["m"] == {"grid_search": [{BRANCH_KEY: "a"}, {BRANCH_KEY: "b"}]}
    random = to_param_space(space, grid=False)
    assert isinstance(random["g"], sample.Categorical) and isinstance(random["m"], sample.Categorical)


@pytest.mark.parametrize("low, high", [(1, 5), (0, 1), (-3, 3), (7, 7)])
def test_randint_bounds_are_inclusive_at_both_ends(low: int, high: int) -> None:
    values = draw(to_param_space(space_of(f"  n: {{randint: [{low}, {high}]}}\n"))["n"])
    assert set(values) == set(range(low, high + 1))  # both ends hit, nothing outside
    assert all(isinstance(v, (int, np.integer)) for v in values)


@pytest.mark.parametrize("low, high", [(1, 10), (2, 64), (1, 1)])
def test_lograndint_bounds_are_inclusive_at_both_ends(low: int, high: int) -> None:
    values = draw(to_param_space(space_of(f"  n: {{lograndint: [{low}, {high}]}}\n"))["n"])
    assert min(values) == low and max(values) == high
    counts = Counter(values)
    assert low == high or counts[low] > counts[high]  # log-uniform: small values are likelier


@pytest.mark.parametrize("low, high, q", [(0, 1, 0.25), (0.1, 0.9, 0.1), (-10, 10, 5), (2, 8, 2)])
def test_quniform_gives_multiples_of_q_within_bounds(low: float, high: float, q: float) -> None:
    values = draw(to_param_space(space_of(f"  x: {{quniform: [{low}, {high}, {q}]}}\n"))["x"])
    assert all(math.isclose(v / q, round(v / q), abs_tol=1e-9) for v in values)
    assert all(low - 1e-9 <= v <= high + 1e-9 for v in values)
    hit = {round(v / q) for v in values}
    assert hit == set(range(round(low / q), round(high / q) + 1))  # every grid point, both ends


def test_uniform_and_loguniform_stay_within_bounds() -> None:
    ps = to_param_space(space_of("  u: {uniform: [2, 3]}\n  l: {loguniform: [1.0e-5, 1.0e-1]}\n"))
    u, lu = draw(ps["u"], 5000), draw(ps["l"], 5000)
    assert 2 <= min(u) and max(u) <= 3
    assert 1e-5 <= min(lu) and max(lu) <= 1e-1
    assert sum(v < 1e-3 for v in lu) > 0.4 * len(lu)  # half the decades lie below 1e-3


# --- conditional branches in trial configs ----------------------------------------------------

CASH = """\
  model:
    choice:
      svc:
        C: {loguniform: [1.0e-3, 1.0e3]}
        kernel: {choice: [rbf, linear]}
      random_forest:
        n_estimators: {randint: [10, 300]}
        depth: {max: {randint: [2, 30]}, criterion: gini}
      knn:
        n_neighbors: {randint: [1, 30]}
      dummy:
  scaler: {choice: [none, standard, minmax]}
  seed: 3
"""
BRANCH_KEYS = {"svc": {"C", "kernel"}, "random_forest": {"n_estimators", "depth"}, "knn": {"n_neighbors"},
               "dummy": set()}


def test_sampled_trial_configs_hold_the_branch_name_and_only_its_parameters() -> None:
    trials = configs(to_param_space(space_of(CASH)), n=400)
    seen = Counter(t["model"][BRANCH_KEY] for t in trials)
    assert set(seen) == set(BRANCH_KEYS) and min(seen.values()) > 50
    for t in trials:
        model = dict(t["model"])
        branch = model.pop(BRANCH_KEY)
        assert set(model) == BRANCH_KEYS[branch]
        assert set(t) == {"model", "scaler", "seed"} and t["seed"] == 3
        if branch == "random_forest":
            assert 2 <= model["depth"]["max"] <= 30 and model["depth"]["criterion"] == "gini"
            assert 10 <= model["n_estimators"] <= 300
        if branch == "svc":
            assert 1e-3 <= model["C"] <= 1e3 and model["kernel"] in ("rbf", "linear")


def test_grid_trial_configs_enumerate_every_branch_once_per_point() -> None:
    space = space_of("""\
  model:
    choice:
      svc: {C: {grid: [1, 10]}, gamma: {loguniform: [1.0e-3, 1]}}
      knn: {k: {grid: [1, 3, 5]}}
      dummy: {}
  scaler: {grid: [none, std]}
""")
    trials = configs(to_param_space(space, grid=True))
    points = Counter((t["model"][BRANCH_KEY], t["model"].get("C"), t["model"].get("k"), t["scaler"]) for t in trials)
    assert len(trials) == grid_size(space) == (2 + 3 + 1) * 2
    assert max(points.values()) == 1  # each grid point once
    assert all("gamma" in t["model"] for t in trials if t["model"][BRANCH_KEY] == "svc")
    assert all(set(t["model"]) == {BRANCH_KEY} for t in trials if t["model"][BRANCH_KEY] == "dummy")


def test_nested_conditionals_resolve_inside_the_chosen_branch() -> None:
    space = space_of("""\
  model:
    choice:
      mlp:
        optimizer:
          choice:
            sgd: {momentum: {uniform: [0, 0.99]}}
            adam: {beta1: {grid: [0.8, 0.9]}}
      linear: {}
""")
    for t in configs(to_param_space(space), n=200):
        if t["model"][BRANCH_KEY] == "mlp":
            opt = t["model"]["optimizer"]
            assert set(opt) == {BRANCH_KEY, "momentum"} if opt[BRANCH_KEY] == "sgd" else {BRANCH_KEY, "beta1"}
        else:
            assert t["model"] == {BRANCH_KEY: "linear"}
    assert len(configs(to_param_space(space, grid=True))) == grid_size(space) == 1 + 2 + 1


# --- grid sizes ------------------------------------------------------------------------------

@pytest.mark.parametrize("space_yaml, size", [
    ("  x: {uniform: [0, 1]}\n", 1),
    ("  a: {grid: [1, 2, 3]}\n", 3),
    ("  a: {grid: [1, 2, 3]}\n  b: {grid: [x, y]}\n  c: {choice: [1, 2, 3, 4]}\n", 6),
    ("  n: {a: {grid: [1, 2]}, b: {c: {grid: [1, 2, 3]}}}\n  d: {grid: [0, 1]}\n", 12),
    ("  m: {choice: {a: {}, b: {}, c: {}}}\n", 3),
    ("  m: {choice: {a: {p: {grid: [1, 2]}, q: {grid: [1, 2, 3]}}, b: {r: {grid: [1, 2]}}}}\n", 6 + 2),
    ("  m: {choice: {a: {p: {grid: [1, 2]}}, b: {}}}\n  s: {grid: [1, 2, 3]}\n", (2 + 1) * 3),
    ("  m: {choice: {a: {i: {choice: {x: {g: {grid: [1, 2]}}, y: {}}}}, b: {}}}\n", (2 + 1) + 1),
    ("  m1: {choice: {a: {}, b: {}}}\n  m2: {choice: {c: {}, d: {}, e: {}}}\n", 6),
])
def test_grid_size_matches_what_ray_enumerates(space_yaml: str, size: int) -> None:
    space = space_of(space_yaml)
    assert grid_size(space) == size
    assert len(configs(to_param_space(space, grid=True))) == size


def test_grid_size_is_counted_without_materialising() -> None:
    params = "".join(f"  p{i}: {{grid: [{', '.join(str(v) for v in range(10))}]}}\n" for i in range(30))
    space = space_of(params + "  m: {choice: {a: {x: {grid: [1, 2]}}, b: {}}}\n")
    start = time.perf_counter()
    assert grid_size(space) == 10**30 * 3
    assert time.perf_counter() - start < 0.1


def test_count_sampled_counts_ranges_and_choices_over_all_branches() -> None:
    assert count_sampled(space_of(CASH)) == 2 + 2 + 1 + 1  # svc 2, forest 2, knn 1, scaler 1
    assert count_sampled(space_of("  g: {grid: [1, 2]}\n  k: 1\n")) == 0


def test_typed_nodes_are_plain_values() -> None:
    space = space_of(CASH)
    model = space.children["model"]
    assert isinstance(model, Conditional)
    assert model.branches["dummy"] == Nested({})
    assert model.branches["random_forest"].children["depth"] == Nested(
        {"max": IntParam(2, 30), "criterion": Constant("gini")})
    assert space.children["scaler"] == Categorical(("none", "standard", "minmax"))
    assert model.branches["svc"].children["C"] == FloatParam(1e-3, 1e3, log=True)


# --- describe --------------------------------------------------------------------------------

def test_describe_lists_every_parameter_indented_by_branch() -> None:
    assert describe(space_of(CASH + "  opt: {lr: {quniform: [0, 1, 0.25]}, sched: {grid: [a, b]}}\n")) == [
        "model: one of 4 branches",
        "  [svc]:",
        "    C: loguniform [0.001, 1000]",
        "    kernel: choice ['rbf', 'linear']",
        "  [random_forest]:",
        "    n_estimators: randint [10, 300]",
        "    depth:",
        "      max: randint [2, 30]",
        "      criterion: constant 'gini'",
        "  [knn]:",
        "    n_neighbors: randint [1, 30]",
        "  [dummy]: {}",
        "scaler: choice ['none', 'standard', 'minmax']",
        "seed: constant 3",
        "opt:",
        "  lr: quniform [0, 1, q=0.25]",
        "  sched: grid ['a', 'b']",
    ]


def test_describe_names_lograndint_and_uniform() -> None:
    assert describe(space_of("  a: {lograndint: [1, 64]}\n  b: {uniform: [-0.5, 0.5]}\n")) == [
        "a: lograndint [1, 64]", "b: uniform [-0.5, 0.5]"]
