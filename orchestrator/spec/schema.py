"""The validated spec: every key of design.md, typed, with located one-line errors."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from orchestrator.spec.space_model import Nested, SpaceParser
from orchestrator.spec.numbers import MAX_INT_BOUND, as_number, is_finite_number
from orchestrator.spec.suggest import did_you_mean, excerpt, one_of
from orchestrator.spec.yaml_source import KeyPath, SourceMap

NAME_PATTERN = re.compile(r"^[a-z0-9_-]+$")
TRAINABLE_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
SEARCH_METHODS = ("grid", "random", "bayes")
EARLY_STOPPING_METHODS = ("asha", "hyperband", "median", "none")
MODES = ("max", "min")
DEFAULT_STORAGE = "./runs"

TOP_LEVEL_KEYS = (
    "name", "description", "trainable", "metric", "mode", "config", "space", "search",
    "early_stopping", "resources", "storage", "storage_options", "checkpoint", "failures",
    "time_budget_s", "runtime_env",
)
# Which scheduler parameters each early-stopping method takes (besides `method` and `stop`).
SCHEDULER_PARAMS: dict[str, tuple[str, ...]] = {
    "asha": ("max_t", "grace_period", "reduction_factor", "brackets"),
    "hyperband": ("max_t", "reduction_factor"),
    "median": ("max_t", "grace_period", "min_samples_required"),
    "none": ("max_t",),
}


@dataclass(frozen=True)
class SearchSettings:
    method: str = "random"
    num_samples: int = 10
    max_concurrent: int = 0          # 0: as many as resources allow
    seed: int | None = None
    bayes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StopConditions:
    metric_threshold: float | None = None   # stop a trial once its metric reaches this
    plateau_patience: int | None = None     # stop a trial after this many reports without progress
    plateau_min_delta: float = 0.0


@dataclass(frozen=True)
class EarlyStopping:
    method: str = "none"
    max_t: int | None = None                # per-trial iteration cap (all methods)
    grace_period: int = 1
    reduction_factor: float = 3.0
    brackets: int = 1
    min_samples_required: int = 3
    stop: StopConditions = field(default_factory=StopConditions)


@dataclass(frozen=True)
class Resources:
    cpu: float = 1.0
    gpu: float = 0.0


@dataclass(frozen=True)
class RuntimeEnvSettings:
    pip: tuple[str, ...] = ()
    py_modules: tuple[str, ...] = ()
    working_dir: str | None = None
    env_vars: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """A sweep, as the user wrote it (after `--set` overrides), validated."""

    name: str
    trainable: str
    metric: str
    mode: str
    space: Nested
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    search: SearchSettings = field(default_factory=SearchSettings)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    resources: Resources = field(default_factory=Resources)
    storage: str = DEFAULT_STORAGE
    storage_options: dict[str, Any] = field(default_factory=dict)
    checkpoint_keep: int = 2
    max_failures: int = 2
    trial_timeout_s: float | None = None
    time_budget_s: float | None = None
    runtime_env: RuntimeEnvSettings = field(default_factory=RuntimeEnvSettings)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    source_file: str | None = field(default=None, compare=False)


class _Reader:
    """Typed access to one mapping of the raw spec, raising located errors."""

    def __init__(self, source: SourceMap, raw: Any, path: KeyPath, allowed: Iterable[str]) -> None:
        self.source = source
        self.path = path
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise source.error(path, f"must be a mapping, got {_shown(raw)}")
        allowed = tuple(allowed)
        for key in raw:
            if key not in allowed:
                raise source.error(path + (key,), f"unknown key{did_you_mean(key, allowed)}; "
                                   f"expected {one_of(allowed)}")
        self.raw = raw

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] is not None

    def error(self, key: str, message: str) -> Exception:
        return self.source.error(self.path + (key,), message)

    def required(self, key: str) -> Any:
        if not self.has(key):
            raise self.source.error(self.path + (key,), "is required")
        return self.raw[key]

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        if not self.has(key):
            if required:
                self.required(key)
            return default
        value = self.raw[key]
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_shown(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def enum(self, key: str, options: tuple[str, ...], default: str | None = None, *,
             required: bool = False) -> str:
        value = self.string(key, default, required=required)
        if value not in options:
            raise self.error(key, f"{excerpt(value)} is not {one_of(options)}{did_you_mean(value, options)}")
        return value

    def integer(self, key: str, default: int | None, *, minimum: int | None = None,
                maximum: int = MAX_INT_BOUND) -> int | None:
        if not self.has(key):
            return default
        value = self.raw[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be an integer, got {_shown(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if value > maximum:
            raise self.error(key, f"must be <= {maximum}")
        return value

    def number(self, key: str, default: float | None, *, minimum: float | None = None,
               above: float | None = None) -> float | None:
        if not self.has(key):
            return default
        value = as_number(self.raw[key])
        if not is_finite_number(value):
            raise self.error(key, f"must be a finite number, got {_shown(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum:g}, got {value:g}")
        if above is not None and value <= above:
            raise self.error(key, f"must be > {above:g}, got {value:g}")
        return float(value)

    def mapping(self, key: str) -> dict[str, Any]:
        if not self.has(key):
            return {}
        value = self.raw[key]
        if not isinstance(value, dict):
            raise self.error(key, f"must be a mapping, got {_shown(value)}")
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        if not self.has(key):
            return ()
        value = self.raw[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def sub(self, key: str, allowed: Iterable[str]) -> "_Reader":
        return _Reader(self.source, self.raw.get(key), self.path + (key,), allowed)


def _shown(value: Any) -> str:
    """A value as a message shows it: scalars as written (cut short), collections by kind."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return excerpt(value)
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def _known_trainables() -> list[str] | None:
    from orchestrator.extensions.trainables import names

    return names()


def _bayes_option_validators() -> dict[str, Any] | None:
    try:
        from orchestrator.searchers.skopt_search import BAYES_OPTIONS
    except ImportError:
        return None
    return dict(BAYES_OPTIONS)


def _storage_option_names() -> tuple[str, ...] | None:
    try:
        from orchestrator.storage.location import STORAGE_OPTIONS
    except ImportError:
        return None
    return tuple(sorted(STORAGE_OPTIONS))


def build_spec(raw: Any, source: SourceMap) -> Spec:
    """Validate the raw spec mapping; the first problem found is raised as a SpecError."""
    if raw is None:
        raise source.error((), "the spec is empty")
    top = _Reader(source, raw, (), TOP_LEVEL_KEYS)

    name = top.string("name", required=True)
    if not NAME_PATTERN.match(name):
        raise top.error("name", f"{excerpt(name)} must match [a-z0-9_-]+ (it names the sweep's folder)")
    trainable = top.string("trainable", required=True)
    if ":" in trainable:
        if not TRAINABLE_REF.match(trainable):
            raise top.error("trainable", f"{excerpt(trainable)} must be a registered name or 'package.module:function'")
    else:
        known = _known_trainables()
        if known is not None and trainable not in known:
            raise top.error("trainable", f"unknown trainable {excerpt(trainable)}{did_you_mean(trainable, known)}; "
                            f"registered: {', '.join(known)} (or use 'package.module:function')")
    metric = top.string("metric", required=True)
    mode = top.enum("mode", MODES, required=True)
    config = top.mapping("config")
    parser = SpaceParser(source)
    parser.refuse_ray_directives(config, ("config",))  # config joins the trial config Ray resolves
    space = parser.parse(top.required("space"), ("space",))
    if not space.children:
        raise top.error("space", "needs at least one parameter")
    overlap = sorted(set(config) & set(space.children))
    if overlap:
        raise source.error(("config", overlap[0]), "is also a key of space: a key is either a constant "
                           "(config) or searched (space), not both")

    search = _search(top, space)
    early = _early_stopping(top)
    res_reader = top.sub("resources", ("cpu", "gpu"))
    resources = Resources(cpu=res_reader.number("cpu", 1.0, above=0.0),
                          gpu=res_reader.number("gpu", 0.0, minimum=0.0))
    if resources.gpu > 1 and not resources.gpu.is_integer():
        raise res_reader.error("gpu", "more than one GPU per trial must be a whole number")
    storage = top.string("storage", DEFAULT_STORAGE)
    storage_options = top.mapping("storage_options")
    allowed_storage = _storage_option_names()
    if allowed_storage is not None:
        top.sub("storage_options", allowed_storage)
    ckpt = top.sub("checkpoint", ("keep",))
    failures = top.sub("failures", ("max_failures", "trial_timeout_s"))
    env = top.sub("runtime_env", ("pip", "py_modules", "working_dir", "env_vars"))
    env_vars = env.mapping("env_vars")
    for k, v in env_vars.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise source.error(("runtime_env", "env_vars", k), "must be a string")
    return Spec(
        name=name, trainable=trainable, metric=metric, mode=mode, space=space, config=config,
        description=top.string("description", "") or "",
        search=search, early_stopping=early, resources=resources,
        storage=storage, storage_options=storage_options,
        checkpoint_keep=ckpt.integer("keep", 2, minimum=1),
        max_failures=failures.integer("max_failures", 2, minimum=0),
        trial_timeout_s=failures.number("trial_timeout_s", None, above=0.0),
        time_budget_s=top.number("time_budget_s", None, above=0.0),
        runtime_env=RuntimeEnvSettings(
            pip=env.string_list("pip"), py_modules=env.string_list("py_modules"),
            working_dir=env.string("working_dir"), env_vars={k: str(v) for k, v in env_vars.items()}),
        raw=raw, source_file=source.file,
    )


def _search(top: _Reader, space: Nested) -> SearchSettings:
    reader = top.sub("search", ("method", "num_samples", "max_concurrent", "seed", "bayes"))
    method = reader.enum("method", SEARCH_METHODS, "random")
    num_samples = reader.integer("num_samples", 1 if method == "grid" else 10, minimum=1)
    max_concurrent = reader.integer("max_concurrent", 0, minimum=0)
    seed = reader.integer("seed", None, minimum=0, maximum=2**32 - 1)  # numpy's seed range
    bayes = reader.mapping("bayes")
    if bayes and method != "bayes":
        raise reader.error("bayes", f"bayes options need search.method: bayes (method is {method!r})")
    validators = _bayes_option_validators() if bayes else None  # imports skopt and Ray: only when asked
    if validators is not None:
        bayes = _check_options(top.source, ("search", "bayes"), bayes, validators)
    return SearchSettings(method=method, num_samples=num_samples, max_concurrent=max_concurrent,
                          seed=seed, bayes=bayes)


def _check_options(source: SourceMap, path: KeyPath, options: dict[str, Any],
                   validators: dict[str, Any]) -> dict[str, Any]:
    """Check searcher options against the searcher's declared keys and rules; return the
    checked values (a rule may convert, e.g. an integer to a float)."""
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in validators:
            raise source.error(path + (key,), f"unknown option{did_you_mean(key, validators)}; "
                               f"expected {one_of(validators)}")
        try:
            checked[key] = _apply_rule(validators[key], value)
        except Exception as exc:  # a searcher's rule may fail in its own way (float(10**400))
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise source.error(path + (key,), reason[:200]) from None
    return checked


def _apply_rule(rule: Any, value: Any) -> Any:
    """A rule is a type (or tuple of types), a collection of allowed values, or a callable that
    returns the checked value; a value the rule refuses raises ValueError saying why."""
    if isinstance(rule, type) or (isinstance(rule, tuple) and rule and all(isinstance(r, type) for r in rule)):
        types = rule if isinstance(rule, tuple) else (rule,)
        if float in types:
            types = types + (int,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ValueError(f"must be {' or '.join(t.__name__ for t in types)}, got {_shown(value)}")
        return value
    if isinstance(rule, (tuple, list, set, frozenset)):
        if value not in rule:
            raise ValueError(f"{excerpt(value)} is not {one_of(rule)}{did_you_mean(value, rule)}")
        return value
    if callable(rule):
        return rule(value)
    return value


def _early_stopping(top: _Reader) -> EarlyStopping:
    all_params = sorted({p for params in SCHEDULER_PARAMS.values() for p in params})
    reader = top.sub("early_stopping", ("method", "stop", *all_params))
    method = reader.enum("method", EARLY_STOPPING_METHODS, "none")
    allowed = SCHEDULER_PARAMS[method]
    for key in all_params:
        if reader.has(key) and key not in allowed:
            raise reader.error(key, f"{method} takes no {key} (it takes {', '.join(allowed)})")
    needs_max_t = method in ("asha", "hyperband")
    max_t = reader.integer("max_t", 100 if needs_max_t else None, minimum=1)
    grace = reader.integer("grace_period", 1, minimum=1)
    if max_t is not None and grace > max_t:
        raise reader.error("grace_period", f"must be <= max_t ({grace} > {max_t})")
    factor = reader.number("reduction_factor", 3.0 if method != "hyperband" else 3.0, above=1.0)
    if method in ("asha", "hyperband") and max_t is not None and factor > max_t:
        raise reader.error("reduction_factor", f"must be <= max_t ({factor:g} > {max_t})")
    stop = reader.sub("stop", ("metric_threshold", "plateau"))
    plateau = stop.sub("plateau", ("patience", "min_delta"))
    if stop.has("plateau"):
        plateau.required("patience")
    return EarlyStopping(
        method=method, max_t=max_t, grace_period=grace, reduction_factor=factor,
        brackets=reader.integer("brackets", 1, minimum=1),
        min_samples_required=reader.integer("min_samples_required", 3, minimum=1),
        stop=StopConditions(
            metric_threshold=stop.number("metric_threshold", None),
            plateau_patience=plateau.integer("patience", None, minimum=1),
            plateau_min_delta=plateau.number("min_delta", 0.0, minimum=0.0),
        ),
    )
