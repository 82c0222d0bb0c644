"""The spec loader: every feature of design.md's spec, and one exact, located message for each
kind of mistake (`file:LINE key.path: message`), including `--set` overrides.

No Ray here: reading a spec must not need it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from orchestrator.space import Categorical, Conditional, Constant, FloatParam, IntParam, Nested
from orchestrator.spec import Spec, load_spec, load_spec_text

# The design's example, verbatim (design.md, "The spec (YAML)").
DESIGN_SPEC = """\
name: digits-cash             # [a-z0-9_-]+, names the sweep's folder
trainable: sklearn_classifier # a registered name, or "package.module:function"
metric: val_accuracy          # what the trainable reports
mode: max                     # max | min
config:                       # constants given to every trial
  dataset: digits
space:
  model:                      # conditional choice: one branch per algorithm
    choice:
      svc:
        C: {loguniform: [1.0e-3, 1.0e3]}
        gamma: {loguniform: [1.0e-5, 1.0e-1]}
      random_forest:
        n_estimators: {randint: [10, 300]}
        max_depth: {randint: [2, 30]}
      knn:
        n_neighbors: {randint: [1, 30]}
  scaler: {choice: [none, standard, minmax]}
search:
  method: bayes               # grid | random | bayes
  num_samples: 60
  max_concurrent: 4
  seed: 0
  bayes: {base_estimator: GP, acq_func: gp_hedge, n_initial_points: 10}
early_stopping:
  method: asha                # asha | hyperband | median | none
  max_t: 30                   # in reported iterations (epochs)
  grace_period: 3
  reduction_factor: 3
resources: {cpu: 1, gpu: 0.5}
storage: s3://my-bucket/sweeps   # default ./runs ; file:// and plain paths too
checkpoint: {keep: 2}            # best-by-metric checkpoints kept per trial
failures: {max_failures: 2}
time_budget_s: 3600
"""

# Six lines; the invalid cases below append from line 7 or replace one of these lines.
BASE = """\
name: t
trainable: sklearn_classifier
metric: acc
mode: max
space:
  lr: {loguniform: [1.0e-3, 1.0]}
"""


def load(text: str, overrides: tuple[str, ...] = ()) -> Spec:
    """Load `text` as the file `t.yaml`."""
    return load_spec_text(text, "t.yaml", overrides)


def with_lines(**replace: str) -> str:
    """BASE with some of its lines replaced, by key: `with_lines(mode="mode: best")`."""
    lines = BASE.splitlines()
    keys = ["name", "trainable", "metric", "mode", "space", "lr"]
    for key, line in replace.items():
        lines[keys.index(key)] = line
    return "\n".join(lines) + "\n"


def error_of(text: str, overrides: tuple[str, ...] = ()) -> str:
    """The one-line message `text` is refused with."""
    with pytest.raises(SpecError) as info:
        load(text, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- valid specs -----------------------------------------------------------------------------

def test_design_example_loads_with_every_field() -> None:
    spec = load(DESIGN_SPEC)
    assert (spec.name, spec.trainable, spec.metric, spec.mode) == (
        "digits-cash", "sklearn_classifier", "val_accuracy", "max")
    assert spec.config == {"dataset": "digits"}
    model = spec.space.children["model"]
    assert isinstance(model, Conditional) and list(model.branches) == ["svc", "random_forest", "knn"]
    assert model.branches["svc"].children["C"] == FloatParam(1e-3, 1e3, log=True)
    assert model.branches["random_forest"].children["n_estimators"] == IntParam(10, 300)
    assert spec.space.children["scaler"] == Categorical(("none", "standard", "minmax"))
    s = spec.search
    assert (s.method, s.num_samples, s.max_concurrent, s.seed) == ("bayes", 60, 4, 0)
    assert s.bayes == {"base_estimator": "GP", "acq_func": "gp_hedge", "n_initial_points": 10}
    es = spec.early_stopping
    assert (es.method, es.max_t, es.grace_period, es.reduction_factor) == ("asha", 30, 3, 3.0)
    assert (spec.resources.cpu, spec.resources.gpu) == (1.0, 0.5)
    assert spec.storage == "s3://my-bucket/sweeps"
    assert (spec.checkpoint_keep, spec.max_failures, spec.time_budget_s) == (2, 2, 3600.0)


def test_load_spec_from_a_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "digits.yaml"
    path.write_text(DESIGN_SPEC.replace("[1.0e-3, 1.0e3]", "[1.0e3, 1.0e-3]"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    # The design's own example message, on the line of `C:` in that spec.
    assert str(info.value) == "digits.yaml:11 space.model.choice.svc.C: low must be < high"
    path.write_text(DESIGN_SPEC)
    assert load_spec(path).source_file == str(path)


def test_minimal_spec_gets_the_documented_defaults() -> None:
    spec = load(BASE)
    assert spec.search.method == "random" and spec.search.num_samples == 10
    assert spec.early_stopping.method == "none"
    assert (spec.resources.cpu, spec.resources.gpu) == (1.0, 0.0)
    assert spec.storage == "./runs" and spec.checkpoint_keep == 2 and spec.max_failures == 2
    assert spec.time_budget_s is None and spec.config == {}


@pytest.mark.parametrize("line, node", [
    ("x: {uniform: [-1, 1]}", FloatParam(-1.0, 1.0)),
    ("x: {loguniform: [1.0e-5, 1.0e-1]}", FloatParam(1e-5, 0.1, log=True)),
    ("x: {quniform: [0, 1, 0.25]}", FloatParam(0.0, 1.0, q=0.25)),
    ("x: {quniform: [0.1, 0.9, 0.1]}", FloatParam(0.1, 0.9, q=0.1)),
    ("x: {randint: [1, 10]}", IntParam(1, 10)),
    ("x: {randint: [5, 5]}", IntParam(5, 5)),           # inclusive: one value
    ("x: {randint: [2.0, 4]}", IntParam(2, 4)),         # a whole float is an integer
    ("x: {lograndint: [1, 1000]}", IntParam(1, 1000, log=True)),
    ("x: {choice: [a, 1, 2.5, true, null, [1, 2], {k: v}]}",
     Categorical(("a", 1, 2.5, True, None, [1, 2], {"k": "v"}))),
    ("x: {choice: [0, false, 1, true]}", Categorical((0, False, 1, True))),  # bools are not ints
    ("x: {grid: [relu, tanh]}", Categorical(("relu", "tanh"), grid=True)),
    ("x: 7", Constant(7)),
    ("x: [1, 2]", Constant([1, 2])),                      # a plain list is a constant
    ("x: {a: 1, b: {uniform: [0, 1]}}", Nested({"a": Constant(1), "b": FloatParam(0.0, 1.0)})),
    ("x: {choices: 3}", Nested({"choices": Constant(3)})),  # a scalar under a look-alike key
    ("x: {loguniform: [1e-3, 1e3]}", FloatParam(1e-3, 1e3, log=True)),  # no dot: still numbers
    ("x: {uniform: ['1e-3', '2']}", FloatParam(1e-3, 2.0)),  # quoted numbers, as written
])
def test_each_distribution_parses_to_its_node(line: str, node: object) -> None:
    spec = load(BASE + "  " + line + "\n")
    assert spec.space.children["x"] == node


def test_conditional_choice_nested_mappings_and_empty_branches() -> None:
    spec = load(BASE + """\
  opt:
    choice:
      sgd:
        lr: {loguniform: [1.0e-4, 1.0e-1]}
        momentum: {grid: [0.0, 0.9]}
        schedule:
          kind: {choice: [step, cosine]}
          warmup: 5
      adam:
        betas: {b1: {uniform: [0.8, 0.95]}, b2: 0.999}
      lbfgs:
      none: {}
""")
    opt = spec.space.children["opt"]
    assert isinstance(opt, Conditional)
    assert list(opt.branches) == ["sgd", "adam", "lbfgs", "none"]
    sgd = opt.branches["sgd"].children
    assert sgd["schedule"] == Nested({"kind": Categorical(("step", "cosine")), "warmup": Constant(5)})
    assert opt.branches["adam"].children["betas"] == Nested({"b1": FloatParam(0.8, 0.95), "b2": Constant(0.999)})
    assert opt.branches["lbfgs"] == Nested({}) and opt.branches["none"] == Nested({})


def test_numbers_without_a_dot_are_numbers_everywhere() -> None:
    spec = load(BASE + """\
  wd: {choice: [1e-3, 1e-2, 0]}
config: {eps: 1e-8, big: 1.0e3, date: 2024-01-02}
search: {num_samples: 1e2}
time_budget_s: 3.6e3
""")
    assert spec.space.children["wd"] == Categorical((1e-3, 1e-2, 0))
    assert spec.config == {"eps": 1e-8, "big": 1000.0, "date": "2024-01-02"}  # a date stays text
    assert spec.search.num_samples == 100 and spec.time_budget_s == 3600.0


@pytest.mark.parametrize("search, expected", [
    ("{method: grid}", ("grid", 1, 0, None)),
    ("{method: grid, num_samples: 3}", ("grid", 3, 0, None)),
    ("{method: random, num_samples: 20, max_concurrent: 2, seed: 7}", ("random", 20, 2, 7)),
    ("{method: bayes, num_samples: 30, seed: 4294967295}", ("bayes", 30, 0, 2**32 - 1)),
])
def test_search_methods(search: str, expected: tuple) -> None:
    s = load(BASE + f"search: {search}\n").search
    assert (s.method, s.num_samples, s.max_concurrent, s.seed) == expected


def test_every_bayes_option_is_accepted_and_checked() -> None:
    options = ("{base_estimator: RF, acq_func: EI, n_initial_points: 5, initial_point_generator: lhs, "
               "acq_optimizer: sampling, n_points: 500, n_restarts_optimizer: 2, xi: 1, kappa: 2.5, "
               "kappa_decay: 0.9, liar: cl_mean, conditional: flat}")
    bayes = load(BASE + f"search: {{method: bayes, bayes: {options}}}\n").search.bayes
    assert bayes["base_estimator"] == "RF" and bayes["liar"] == "cl_mean" and bayes["n_points"] == 500
    assert bayes["xi"] == 1.0 and isinstance(bayes["xi"], float)  # the searcher's checked value


@pytest.mark.parametrize("early, expected", [
    ("{method: asha, max_t: 30, grace_period: 3, reduction_factor: 3, brackets: 2}",
     ("asha", 30, 3, 3.0, 2)),
    ("{method: asha}", ("asha", 100, 1, 3.0, 1)),
    ("{method: hyperband, max_t: 27, reduction_factor: 3}", ("hyperband", 27, 1, 3.0, 1)),
    ("{method: median, grace_period: 5, min_samples_required: 4}", ("median", None, 5, 3.0, 1)),
    ("{method: median, max_t: 50}", ("median", 50, 1, 3.0, 1)),
    ("{method: none, max_t: 20}", ("none", 20, 1, 3.0, 1)),
    ("{method: none}", ("none", None, 1, 3.0, 1)),
])
def test_early_stopping_methods(early: str, expected: tuple) -> None:
    es = load(BASE + f"early_stopping: {early}\n").early_stopping
    assert (es.method, es.max_t, es.grace_period, es.reduction_factor, es.brackets) == expected


def test_early_stopping_median_and_stop_conditions() -> None:
    es = load(BASE + "early_stopping: {method: median, min_samples_required: 4, stop: "
                     "{metric_threshold: 0.99, plateau: {patience: 3, min_delta: 1e-3}}}\n").early_stopping
    assert es.min_samples_required == 4
    assert (es.stop.metric_threshold, es.stop.plateau_patience, es.stop.plateau_min_delta) == (0.99, 3, 1e-3)


@pytest.mark.parametrize("resources, cpu, gpu", [
    ("{cpu: 2}", 2.0, 0.0), ("{cpu: 0.5, gpu: 0.25}", 0.5, 0.25), ("{gpu: 2}", 1.0, 2.0), ("{gpu: 0}", 1.0, 0.0),
])
def test_resources_including_fractional_gpus(resources: str, cpu: float, gpu: float) -> None:
    spec = load(BASE + f"resources: {resources}\n")
    assert (spec.resources.cpu, spec.resources.gpu) == (cpu, gpu)


@pytest.mark.parametrize("storage", ["s3://bucket/prefix", "file:///tmp/sweeps", "/abs/runs", "relative/runs",
                                     "./runs"])
def test_storage_forms(storage: str) -> None:
    assert load(BASE + f"storage: {storage}\n").storage == storage


def test_storage_options_checkpoint_failures_time_budget_runtime_env() -> None:
    spec = load(BASE + """\
storage: s3://b/p
storage_options: {endpoint_url: "http://127.0.0.1:9000", region: us-east-1}
checkpoint: {keep: 5}
failures: {max_failures: 0, trial_timeout_s: 90}
time_budget_s: 0.5
description: a sweep
runtime_env: {pip: [numpy], env_vars: {OMP_NUM_THREADS: 1}}
""")
    assert spec.storage_options == {"endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1"}
    assert (spec.checkpoint_keep, spec.max_failures, spec.trial_timeout_s) == (5, 0, 90.0)
    assert spec.time_budget_s == 0.5 and spec.description == "a sweep"
    assert spec.runtime_env.pip == ("numpy",) and spec.runtime_env.env_vars == {"OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("trainable", ["sklearn_classifier", "trainables.sklearn_models:sklearn_classifier", "sweep_trainables:quadratic"])
def test_trainable_references(trainable: str) -> None:
    assert load(with_lines(trainable=f"trainable: {trainable}")).trainable == trainable


# --- invalid specs: exact file, line, key path and message ------------------------------------

INVALID: list[tuple[str, str, str]] = [
    # missing required keys
    ("missing-name", BASE.replace("name: t\n", ""), "t.yaml:1 name: is required"),
    ("missing-trainable", with_lines(trainable="description: x"), "t.yaml:1 trainable: is required"),
    ("missing-metric", with_lines(metric="metric:"), "t.yaml:3 metric: is required"),
    ("missing-mode", with_lines(mode=""), "t.yaml:1 mode: is required"),
    ("missing-space", "name: t\ntrainable: sklearn_classifier\nmetric: acc\nmode: max\n",
     "t.yaml:1 space: is required"),
    ("empty-space", with_lines(lr=""), "t.yaml:5 space: is required"),
    ("empty-file", "# nothing\n", "t.yaml <spec>: the spec is empty"),
    ("not-a-mapping", "- name: t\n", "t.yaml:1 <spec>: must be a mapping, got a list"),
    # wrong types
    ("name-int", with_lines(name="name: 42"), "t.yaml:1 name: must be a string, got 42"),
    ("metric-list", with_lines(metric="metric: [a, b]"), "t.yaml:3 metric: must be a string, got a list"),
    ("num-samples-str", BASE + "search:\n  num_samples: many\n",
     "t.yaml:8 search.num_samples: must be an integer, got 'many'"),
    ("num-samples-float", BASE + "search: {num_samples: 2.5}\n",
     "t.yaml:7 search.num_samples: must be an integer, got 2.5"),
    ("num-samples-zero", BASE + "search: {num_samples: 0}\n", "t.yaml:7 search.num_samples: must be >= 1, got 0"),
    ("seed-negative", BASE + "search: {seed: -1}\n", "t.yaml:7 search.seed: must be >= 0, got -1"),
    ("seed-huge", BASE + "search: {seed: 4294967296}\n", "t.yaml:7 search.seed: must be <= 4294967295"),
    ("config-list", BASE + "config: [a]\n", "t.yaml:7 config: must be a mapping, got a list"),
    ("space-list", with_lines(space="space: [a]", lr=""), "t.yaml:5 space: must be a mapping of parameter names, got list"),
    ("search-string", BASE + "search: bayes\n", "t.yaml:7 search: must be a mapping, got 'bayes'"),
    ("cpu-string", BASE + "resources:\n  cpu: two\n", "t.yaml:8 resources.cpu: must be a finite number, got 'two'"),
    ("keep-zero", BASE + "checkpoint: {keep: 0}\n", "t.yaml:7 checkpoint.keep: must be >= 1, got 0"),
    ("max-failures-negative", BASE + "failures: {max_failures: -1}\n",
     "t.yaml:7 failures.max_failures: must be >= 0, got -1"),
    ("time-budget-zero", BASE + "time_budget_s: 0\n", "t.yaml:7 time_budget_s: must be > 0, got 0"),
    ("time-budget-inf", BASE + "time_budget_s: .inf\n", "t.yaml:7 time_budget_s: must be a finite number, got inf"),
    ("time-budget-huge-int", BASE + "time_budget_s: " + "9" * 400 + "\n",
     "t.yaml:7 time_budget_s: must be a finite number, got " + "9" * 37 + "..."),
    ("storage-int", BASE + "storage: 3\n", "t.yaml:7 storage: must be a string, got 3"),
    # unknown keys, with did-you-mean
    ("unknown-top", BASE + "serach: {method: grid}\n",
     "t.yaml:7 serach: unknown key (did you mean 'search'?); expected one of name, description, trainable, "
     "metric, mode, config, space, search, early_stopping, resources, storage, storage_options, checkpoint, "
     "failures, time_budget_s, runtime_env"),
    ("unknown-nested", BASE + "search:\n  method: grid\n  num_sample: 3\n",
     "t.yaml:9 search.num_sample: unknown key (did you mean 'num_samples'?); expected one of method, "
     "num_samples, max_concurrent, seed, warm_start, bayes"),
    ("warm-start-not-a-list", BASE + "search:\n  method: bayes\n  warm_start: [runs/a, 3]\n",
     "t.yaml:9 search.warm_start: must be a list of strings"),
    ("unknown-resources", BASE + "resources: {cpu: 1, gpus: 1}\n",
     "t.yaml:7 resources.gpus: unknown key (did you mean 'gpu'?); expected one of cpu, gpu"),
    ("unknown-checkpoint", BASE + "checkpoint: {kep: 1}\n",
     "t.yaml:7 checkpoint.kep: unknown key (did you mean 'keep'?); expected one of keep"),
    ("unknown-early", BASE + "early_stopping:\n  method: asha\n  grace: 2\n",
     "t.yaml:9 early_stopping.grace: unknown key (did you mean 'grace_period'?); expected one of method, stop, brackets, grace_period, "
     "max_t, min_samples_required, reduction_factor"),
    ("misspelt-distribution", with_lines(lr="  lr: {loguniformm: [1.0e-3, 1.0]}"),
     "t.yaml:6 space.lr.loguniformm: unknown distribution 'loguniformm' (did you mean 'loguniform'?)"),
    ("misspelt-conditional", BASE + "  model:\n    choise:\n      svc: {C: 1}\n",
     "t.yaml:8 space.model.choise: unknown distribution 'choise' (did you mean 'choice'?)"),
    ("ray-grid-search", BASE + "  act: {grid_search: [relu, tanh]}\n",
     "t.yaml:7 space.act.grid_search: a mapping whose only key is 'grid_search' is expanded by Ray Tune; "
     "write {grid: [values]} as the parameter instead"),
    ("ray-qrandint", BASE + "  n: {qrandint: [1, 10, 2]}\n",
     "t.yaml:7 space.n.qrandint: unknown distribution 'qrandint' (Ray Tune's qrandint; write 'randint' here)"),
    ("ray-eval-in-config", BASE + "config:\n  workers: {eval: \"__import__('os').cpu_count()\"}\n",
     "t.yaml:8 config.workers.eval: a mapping whose only key is 'eval' is Python code to Ray Tune (it would run "
     "it); a spec holds plain values"),
    ("ray-eval-in-space", BASE + "  model:\n    choice:\n      svc: {C: {eval: '1'}}\n",
     "t.yaml:9 space.model.choice.svc.C.eval: a mapping whose only key is 'eval' is Python code to Ray Tune "
     "(it would run it); a spec holds plain values"),
    ("ray-eval-in-choice-value", BASE + "  x: {choice: [1, {eval: '2'}]}\n",
     "t.yaml:7 space.x.choice[1].eval: a mapping whose only key is 'eval' is Python code to Ray Tune "
     "(it would run it); a spec holds plain values"),
    ("ray-grid-search-in-constant", BASE + "  layers: [64, {grid_search: [32, 16]}]\n",
     "t.yaml:7 space.layers[1].grid_search: a mapping whose only key is 'grid_search' is expanded by Ray Tune; "
     "write {grid: [values]} as the parameter instead"),
    # misspelt enum values
    ("method-bayess", BASE + "search: {method: bayess}\n",
     "t.yaml:7 search.method: 'bayess' is not one of grid, random, bayes (did you mean 'bayes'?)"),
    ("early-ashaa", BASE + "early_stopping: {method: ashaa}\n",
     "t.yaml:7 early_stopping.method: 'ashaa' is not one of asha, hyperband, median, none (did you mean 'asha'?)"),
    ("mode-maximum", with_lines(mode="mode: maximum"), "t.yaml:4 mode: 'maximum' is not one of max, min (did you mean 'max'?)"),
    ("mode-upper", with_lines(mode="mode: MIN"), "t.yaml:4 mode: 'MIN' is not one of max, min (did you mean 'min'?)"),
    ("unknown-trainable", with_lines(trainable="trainable: sklearn_clasifier"),
     "t.yaml:2 trainable: unknown trainable 'sklearn_clasifier' (did you mean 'sklearn_classifier'?); registered: "
     "{registered} (or use 'package.module:function')"),
    ("bad-trainable-ref", with_lines(trainable="trainable: 'pkg.mod:'"),
     "t.yaml:2 trainable: 'pkg.mod:' must be a registered name or 'package.module:function'"),
    # distributions
    ("uniform-low-eq-high", BASE + "  x: {uniform: [1, 1]}\n", "t.yaml:7 space.x: low must be < high"),
    ("uniform-low-gt-high", BASE + "  x:\n    uniform: [2, 1]\n", "t.yaml:8 space.x: low must be < high"),
    ("loguniform-zero", with_lines(lr="  lr: {loguniform: [0, 1]}"), "t.yaml:6 space.lr: loguniform needs low > 0"),
    ("loguniform-negative", with_lines(lr="  lr: {loguniform: [-1, 1]}"), "t.yaml:6 space.lr: loguniform needs low > 0"),
    ("lograndint-zero", BASE + "  n: {lograndint: [0, 10]}\n", "t.yaml:7 space.n: lograndint needs low >= 1"),
    ("randint-float", BASE + "  n:\n    randint:\n      - 1\n      - 2.5\n",
     "t.yaml:10 space.n: randint bounds must be integers, got 2.5"),
    ("randint-reversed", BASE + "  n: {randint: [10, 1]}\n", "t.yaml:7 space.n: low must be <= high (both are included)"),
    ("randint-string", BASE + "  n: {randint: [1, ten]}\n", "t.yaml:7 space.n: randint bound must be a finite number, got 'ten'"),
    ("randint-huge", BASE + "  n: {randint: [0, 90071992547409930]}\n",
     "t.yaml:7 space.n: randint bounds must be within +-2**53, got 90071992547409930"),
    ("uniform-nan", BASE + "  x: {uniform: [.nan, 1]}\n", "t.yaml:7 space.x: uniform bound must be a finite number, got nan"),
    ("uniform-bool", BASE + "  x: {uniform: [false, true]}\n",
     "t.yaml:7 space.x: uniform bound must be a finite number, got False"),
    ("uniform-arity", BASE + "  x: {uniform: [0, 1, 2]}\n", "t.yaml:7 space.x: uniform takes a list [low, high]"),
    ("uniform-scalar", BASE + "  x: {uniform: 3}\n", "t.yaml:7 space.x: uniform takes a list [low, high]"),
    ("uniform-too-wide", BASE + "  x: {uniform: [-1.0e308, 1.0e308]}\n",
     "t.yaml:7 space.x: uniform range [-1e+308, 1e+308] is too wide"),
    ("quniform-q-zero", BASE + "  x: {quniform: [0, 1, 0]}\n", "t.yaml:7 space.x: quniform q must be > 0"),
    ("quniform-q-negative", BASE + "  x: {quniform: [0, 1, -0.5]}\n", "t.yaml:7 space.x: quniform q must be > 0"),
    ("quniform-arity", BASE + "  x: {quniform: [0, 1]}\n", "t.yaml:7 space.x: quniform takes a list [low, high, q]"),
    ("quniform-q-too-big", BASE + "  x: {quniform: [0, 1, 2]}\n", "t.yaml:7 space.x: quniform q must not exceed high - low"),
    ("quniform-not-multiple", BASE + "  x: {quniform: [0, 1, 0.3]}\n",
     "t.yaml:7 space.x: quniform bounds must be multiples of q=0.3; 1 is not"),
    ("empty-choice", BASE + "  act: {choice: []}\n", "t.yaml:7 space.act: choice needs a non-empty list of values"),
    ("choice-scalar", BASE + "  act: {choice: relu}\n", "t.yaml:7 space.act: choice needs a non-empty list of values"),
    ("empty-grid", BASE + "  act:\n    grid:\n", "t.yaml:8 space.act: grid needs a non-empty list of values"),
    ("duplicate-choice", BASE + "  act:\n    choice:\n      - relu\n      - tanh\n      - relu\n",
     "t.yaml:11 space.act: choice has the value 'relu' twice"),
    ("duplicate-grid-number", BASE + "  units: {grid: [64, 128, 64.0]}\n",
     "t.yaml:7 space.units: grid has the value 64.0 twice"),
    ("empty-conditional", BASE + "  model: {choice: {}}\n",
     "t.yaml:7 space.model: a conditional choice needs at least one branch"),
    ("reserved-name-in-branch", BASE + "  model:\n    choice:\n      svc:\n        name: x\n",
     "t.yaml:10 space.model.choice.svc.name: 'name' is reserved: it holds the chosen branch in the trial config"),
    ("branch-not-mapping", BASE + "  model:\n    choice:\n      svc: {C: 1}\n      knn: 3\n",
     "t.yaml:10 space.model.choice.knn: a branch must be a mapping of its parameters (or empty)"),
    ("branch-list", BASE + "  model:\n    choice:\n      knn: [1, 2]\n",
     "t.yaml:9 space.model.choice.knn: a branch must be a mapping of its parameters (or empty)"),
    ("error-inside-branch", BASE + "  model:\n    choice:\n      svc:\n        C: {loguniform: [1, 0.5]}\n",
     "t.yaml:10 space.model.choice.svc.C: low must be < high"),
    ("distribution-mixed", BASE + "  x: {uniform: [0, 1], log: true}\n",
     "t.yaml:7 space.x: 'uniform' must be the only key of a distribution (also found: log)"),
    ("two-distributions", BASE + "  x: {uniform: [0, 1], choice: [1]}\n",
     "t.yaml:7 space.x: 'uniform' must be the only key of a distribution (also found: choice)"),
    # name, mode
    ("name-pattern", with_lines(name="name: My Sweep"),
     "t.yaml:1 name: 'My Sweep' must match [a-z0-9_-]+ (it names the sweep's folder)"),
    ("name-slash", with_lines(name="name: ../x"),
     "t.yaml:1 name: '../x' must match [a-z0-9_-]+ (it names the sweep's folder)"),
    ("bad-mode", with_lines(mode="mode: 1"), "t.yaml:4 mode: must be a string, got 1"),
    # early stopping
    ("grace-gt-max-t", BASE + "early_stopping:\n  method: asha\n  max_t: 5\n  grace_period: 6\n",
     "t.yaml:10 early_stopping.grace_period: must be <= max_t (6 > 5)"),
    ("hyperband-grace", BASE + "early_stopping: {method: hyperband, grace_period: 2}\n",
     "t.yaml:7 early_stopping.grace_period: hyperband takes no grace_period (it takes max_t, reduction_factor)"),
    ("median-reduction", BASE + "early_stopping: {method: median, reduction_factor: 2}\n",
     "t.yaml:7 early_stopping.reduction_factor: median takes no reduction_factor "
     "(it takes max_t, grace_period, min_samples_required)"),
    ("none-grace", BASE + "early_stopping: {grace_period: 2}\n",
     "t.yaml:7 early_stopping.grace_period: none takes no grace_period (it takes max_t)"),
    ("reduction-one", BASE + "early_stopping: {method: asha, reduction_factor: 1}\n",
     "t.yaml:7 early_stopping.reduction_factor: must be > 1, got 1"),
    ("reduction-gt-max-t", BASE + "early_stopping: {method: asha, max_t: 2, reduction_factor: 3}\n",
     "t.yaml:7 early_stopping.reduction_factor: must be <= max_t (3 > 2)"),
    ("max-t-zero", BASE + "early_stopping: {method: asha, max_t: 0}\n",
     "t.yaml:7 early_stopping.max_t: must be >= 1, got 0"),
    ("plateau-no-patience", BASE + "early_stopping:\n  stop:\n    plateau: {min_delta: 0.1}\n",
     "t.yaml:9 early_stopping.stop.plateau.patience: is required"),
    # resources
    ("gpu-negative", BASE + "resources: {gpu: -1}\n", "t.yaml:7 resources.gpu: must be >= 0, got -1"),
    ("cpu-zero", BASE + "resources:\n  cpu: 0\n", "t.yaml:8 resources.cpu: must be > 0, got 0"),
    ("gpu-fraction-over-one", BASE + "resources: {gpu: 1.5}\n",
     "t.yaml:7 resources.gpu: more than one GPU per trial must be a whole number"),
    # constants vs space
    ("config-also-in-space", BASE + "config:\n  dataset: digits\n  lr: 0.1\n",
     "t.yaml:9 config.lr: is also a key of space: a key is either a constant (config) or searched (space), not both"),
    # YAML itself
    ("duplicate-key", BASE + "metric: loss\n", "t.yaml:7 metric: duplicate key"),
    ("duplicate-nested-key", BASE + "  lr: {uniform: [0, 1]}\n", "t.yaml:7 space.lr: duplicate key"),
    ("yaml-syntax", BASE + "search: {method: grid\n", "t.yaml:8 <spec>: invalid YAML: did not find expected ',' or '}'"),
    ("yaml-tab-indent", BASE + "search:\n\tmethod: grid\n",
     "t.yaml:8 <spec>: invalid YAML: found character that cannot start any token"),
    ("multiple-documents", BASE + "---\nname: u\n", "t.yaml:7 <spec>: more than one YAML document"),
    ("python-object-tag", BASE + "config: {x: !!python/object/apply:os.system [echo hi]}\n",
     "t.yaml:7 config.x: YAML tag '!!python/object/apply:os.system' is not allowed (plain data only)"),
    ("python-name-tag", BASE + "config:\n  f: !!python/name:os.system\n",
     "t.yaml:8 config.f: YAML tag '!!python/name:os.system' is not allowed (plain data only)"),
    ("custom-tag", BASE + "config: {x: !secret token}\n",
     "t.yaml:7 config.x: YAML tag '!secret' is not allowed (plain data only)"),
    ("merge-key", BASE + "defaults: &d {cpu: 1}\nresources:\n  <<: *d\n",
     "t.yaml:8 resources: keys must be plain scalars (no merge keys or complex keys)"),
    ("null-key", BASE + "config: {~: 1}\n", "t.yaml:7 config: key '~' must be a string (quote it)"),
    ("bad-typed-scalar", BASE + "config: {x: !!int twelve}\n",
     "t.yaml:7 config.x: bad YAML value 'twelve': invalid literal for int() with base 10: 'twelve'"),
    # searcher options
    ("bayes-with-random", BASE + "search:\n  method: random\n  bayes: {acq_func: EI}\n",
     "t.yaml:9 search.bayes: bayes options need search.method: bayes (method is 'random')"),
    ("bayes-with-default-method", BASE + "search: {bayes: {acq_func: EI}}\n",
     "t.yaml:7 search.bayes: bayes options need search.method: bayes (method is 'random')"),
    ("bayes-unknown-option", BASE + "search:\n  method: bayes\n  bayes:\n    acq_fun: EI\n",
     "t.yaml:10 search.bayes.acq_fun: unknown option (did you mean 'acq_func'?); expected one of {bayes_options}"),
    ("bayes-bad-value", BASE + "search: {method: bayes, bayes: {acq_func: EII}}\n",
     "t.yaml:7 search.bayes.acq_func: acq_func must be one of EI, PI, LCB, gp_hedge; got 'EII'"),
    ("bayes-bad-type", BASE + "search: {method: bayes, bayes: {n_initial_points: 2.5}}\n",
     "t.yaml:7 search.bayes.n_initial_points: n_initial_points must be an integer; got 2.5"),
    ("bayes-not-mapping", BASE + "search: {method: bayes, bayes: [GP]}\n",
     "t.yaml:7 search.bayes: must be a mapping, got a list"),
    # storage
    ("storage-options-unknown", BASE + "storage_options:\n  endpoint: http://x\n",
     "t.yaml:8 storage_options.endpoint: unknown key (did you mean 'endpoint_url'?); expected one of {storage_options}"),
    ("storage-empty", BASE + "storage: ''\n", "t.yaml:7 storage: must not be empty"),
    ("env-var-mapping", BASE + "runtime_env: {env_vars: {A: {b: 1}}}\n", "t.yaml:7 runtime_env.env_vars.A: must be a string"),
]


def _expected(message: str) -> str:
    """Fill in the lists other modules own: registered trainables, searcher and storage options."""
    from orchestrator.spec.schema import _bayes_option_validators, _known_trainables, _storage_option_names

    lists = {"{registered}": _known_trainables, "{bayes_options}": _bayes_option_validators,
             "{storage_options}": _storage_option_names}
    for token, names in lists.items():
        if token in message:
            message = message.replace(token, ", ".join(names() or ()))
    return message


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in INVALID])
def test_invalid_spec_gives_one_exact_located_line(text: str, expected: str) -> None:
    assert error_of(text) == _expected(expected)


def test_there_are_at_least_forty_invalid_specs() -> None:
    assert len(INVALID) >= 40
    assert len({i for i, _, _ in INVALID}) == len(INVALID)


# --- --set overrides -------------------------------------------------------------------------

def test_overrides_set_scalars_typed_as_yaml() -> None:
    spec = load(BASE, ("search.num_samples=8", "search.method=grid", "mode=min", "resources.gpu=0.5",
                       "time_budget_s=1e3", "storage=s3://b/p"))
    assert (spec.search.num_samples, spec.search.method, spec.mode) == (8, "grid", "min")
    assert spec.resources.gpu == 0.5 and spec.time_budget_s == 1000.0 and spec.storage == "s3://b/p"


def test_overrides_create_nested_keys_and_reach_into_the_space() -> None:
    spec = load(BASE, ("early_stopping.method=asha", "early_stopping.max_t=9",
                       "space.lr.loguniform=[1e-5, 1e-2]", "space.act={grid: [relu, tanh]}",
                       "space.opt.choice.sgd.lr={uniform: [0, 1]}", "config.dataset=digits"))
    assert spec.early_stopping.max_t == 9
    assert spec.space.children["lr"] == FloatParam(1e-5, 1e-2, log=True)
    assert spec.space.children["act"] == Categorical(("relu", "tanh"), grid=True)
    assert spec.space.children["opt"] == Conditional({"sgd": Nested({"lr": FloatParam(0.0, 1.0)})})
    assert spec.config == {"dataset": "digits"}


def test_override_value_may_contain_equals_and_later_overrides_win() -> None:
    spec = load(BASE, ("description=a=b", "search.seed=1", "search.seed=2"))
    assert spec.description == "a=b" and spec.search.seed == 2


@pytest.mark.parametrize("overrides, expected", [
    (("search.num_samples=lots",),
     "--set search.num_samples=lots search.num_samples: must be an integer, got 'lots'"),
    (("space.lr.loguniform=[1, 0.1]",), "--set space.lr.loguniform=[1, 0.1] space.lr: low must be < high"),
    (("space.x={uniform: [0, 1], q: 2}",),
     "--set space.x={uniform: [0, 1], q: 2} space.x: 'uniform' must be the only key of a distribution (also found: q)"),
    (("search.method=bayess",),
     "--set search.method=bayess search.method: 'bayess' is not one of grid, random, bayes (did you mean 'bayes'?)"),
    (("serach.method=grid",),
     "--set serach.method=grid serach: unknown key (did you mean 'search'?); expected one of name, description, "
     "trainable, metric, mode, config, space, search, early_stopping, resources, storage, storage_options, "
     "checkpoint, failures, time_budget_s, runtime_env"),
    (("search.num_samples=[1",),
     "--set search.num_samples=[1 search.num_samples: invalid YAML: did not find expected ',' or ']'"),
    (("config={a: 1, a: 2}",), "--set config={a: 1, a: 2} config.a: duplicate key"),
    (("config.x=!!python/name:os.system",),
     "--set config.x=!!python/name:os.system config.x: YAML tag '!!python/name:os.system' "
     "is not allowed (plain data only)"),
    (("space.lr.loguniform.0=1",), "--set space.lr.loguniform.0=1 space.lr.loguniform: cannot set inside a list"),
    (("search.num_samples",), "--set search.num_samples: expected key.path=value, got 'search.num_samples'"),
    (("=3",), "--set <spec>: expected key.path=value, got '=3'"),
    (("search..seed=1",), "--set search..seed: expected key.path=value, got 'search..seed=1'"),
])
def test_invalid_overrides_name_the_set_and_the_key_path(overrides: tuple[str, ...], expected: str) -> None:
    assert error_of(BASE, overrides) == expected


def test_errors_in_the_file_still_name_the_file_when_overrides_are_given() -> None:
    assert error_of(BASE + "  x: {uniform: [1, 0]}\n", ("search.num_samples=3",)) == \
        "t.yaml:7 space.x: low must be < high"
    assert error_of("", ("name=t",)) == "t.yaml trainable: is required"


def test_a_searcher_option_rule_that_overflows_is_still_a_spec_error() -> None:
    # Found by fuzzing: the searcher's own rule does float(value) and overflows.
    assert error_of(BASE + "search: {method: bayes, bayes: {xi: " + "9" * 400 + "}}\n") == \
        "t.yaml:7 search.bayes.xi: int too large to convert to float"
