"""The validated spec: every key of design.md, typed, with located one-line errors.

The keys and their rules are declared in `fields.py` (searchers and schedulers in the
extension tables); this module reads a raw spec by them into the `Spec` dataclasses.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable

from orchestrator.extensions.options import Integer, Mapping, Number, OneOf, Option, Section, Text, TextList
from orchestrator.extensions.schedulers import SCHEDULERS, all_parameters
from orchestrator.extensions.searchers import SEARCHERS
from orchestrator.extensions.storage import STORAGE_SCHEMES
from orchestrator.extensions.trainables import module_findable
from orchestrator.extensions.trainables import names as registered_trainables
from orchestrator.spec.fields import DEFAULT_STORAGE, TOP_LEVEL, TRAINABLE_REF
from orchestrator.spec.fields import storage_option_names as _storage_option_names
from orchestrator.spec.numbers import MAX_INT_BOUND, as_number, is_finite_number
from orchestrator.spec.space_model import Nested, SpaceParser
from orchestrator.spec.suggest import did_you_mean, excerpt, one_of
from orchestrator.spec.yaml_source import KeyPath, SourceMap

TOP_LEVEL_KEYS = TOP_LEVEL.names
# Which scheduler parameters each early-stopping method takes (besides `method` and `stop`).
SCHEDULER_PARAMS: dict[str, tuple[str, ...]] = {
    name: tuple(option.name for option in entry.parameters) for name, entry in SCHEDULERS.items()
}


@dataclass(frozen=True)
class SearchSettings:
    method: str = "random"
    num_samples: int = 10
    max_concurrent: int = 0          # 0: as many as resources allow
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the method's, from search.<options key>
    warm_start: tuple[str, ...] = ()  # sweep URIs whose finished trials are reused (runner.warm_start)

    @property
    def bayes(self) -> dict[str, Any]:
        """The `search.bayes` options (empty unless the method is bayes)."""
        return self.options if self.method == "bayes" else {}


@dataclass(frozen=True)
class StopConditions:
    metric_threshold: float | None = None   # stop a trial once its metric reaches this
    plateau_patience: int | None = None     # stop a trial after this many reports without progress
    plateau_min_delta: float = 0.0


@dataclass(frozen=True)
class EarlyStopping:
    """The scheduler: `parameters` holds the method's declared parameters (defaults filled in),
    as its builder and `hpo validate` read them; the built-in ones are also typed fields."""

    method: str = "none"
    max_t: int | None = None                # per-trial iteration cap (all methods)
    grace_period: int = 1
    reduction_factor: float = 3.0
    brackets: int = 1
    min_samples_required: int = 3
    stop: StopConditions = field(default_factory=StopConditions)
    parameters: dict[str, Any] = field(default_factory=dict)


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
    """Typed access to one mapping of the raw spec, by its declared `Section`, raising located
    errors; a key's `Option` says how it is read (rule, bounds, default, required)."""

    def __init__(self, source: SourceMap, raw: Any, path: KeyPath, section: Section) -> None:
        self.source = source
        self.path = path
        self.section = section
        self.given = raw is not None
        self.raw = _known_keys(source, raw, path, section.names)

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] is not None

    def error(self, key: str, message: str) -> Exception:
        return self.source.error(self.path + (key,), message)

    def read(self, key: str, default: Any = None) -> Any:
        """The value of declared `key`, checked by its rule; `default` overrides the declared one."""
        return self.value(self.section.option(key), default)

    def read_all(self) -> dict[str, Any]:
        """Every declared key of this mapping, read."""
        return {option.name: self.value(option) for option in self.section.options}

    def value(self, option: Option, default: Any = None) -> Any:
        """`option`'s value here (its default when absent), checked by its rule."""
        key, rule = option.name, option.rule
        self.require(option)
        default = option.default if default is None else default
        if isinstance(rule, OneOf):
            return self.enum(key, rule.values, default)
        if isinstance(rule, Integer):
            return self.integer(key, default, minimum=rule.minimum,
                                maximum=MAX_INT_BOUND if rule.maximum is None else rule.maximum)
        if isinstance(rule, Number):
            return self.number(key, default, minimum=rule.minimum, above=rule.above)
        if isinstance(rule, Text):
            return self.string(key, default, pattern=rule.pattern, hint=rule.hint)
        if isinstance(rule, TextList):
            return self.string_list(key)
        if isinstance(rule, Mapping):
            return self.mapping(key)
        return self.raw.get(key, default)  # a grammar of its own (the space): its parser checks it

    def string(self, key: str, default: str | None, *, pattern: str | None = None, hint: str = "") -> str | None:
        if not self.has(key):
            return default
        value = self.raw[key]
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_shown(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        if pattern and not re.fullmatch(pattern, value):
            raise self.error(key, f"{excerpt(value)} must match {pattern}" + (f" ({hint})" if hint else ""))
        return value

    def enum(self, key: str, options: tuple[str, ...], default: str | None) -> str:
        value = self.string(key, default)
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

    def sub(self, key: str) -> "_Reader":
        """The reader of the declared mapping under `key`; given, it must hold its required keys."""
        reader = _Reader(self.source, self.raw.get(key), self.path + (key,), self.section.option(key).rule)
        for option in reader.section.options:
            reader.require(option)
        return reader

    def require(self, option: Option) -> None:
        """A required key must be there when its mapping is."""
        if option.required and self.given and not self.has(option.name):
            raise self.error(option.name, "is required")


def _known_keys(source: SourceMap, raw: Any, path: KeyPath, allowed: Iterable[str]) -> dict[str, Any]:
    """`raw` as a mapping (nothing: empty) whose keys are all `allowed`, else a located error."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise source.error(path, f"must be a mapping, got {_shown(raw)}")
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            raise source.error(path + (key,), f"unknown key{did_you_mean(key, allowed)}; "
                               f"expected {one_of(allowed)}")
    return raw


def _shown(value: Any) -> str:
    """A value as a message shows it: scalars as written (cut short), collections by kind."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return excerpt(value)
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def _plain(number: float) -> str:
    """A number as a message writes it: `3` for 3.0, an integer in full."""
    return f"{number:g}" if isinstance(number, float) else str(number)


def _known_trainables() -> list[str]:
    """The registered trainable names (the `hpo.trainables` entry points)."""
    return registered_trainables()


def _bayes_option_validators() -> dict[str, Any]:
    """The `search.bayes` option names and their checks, as the searcher table declares them."""
    return {option.name: option.check for option in SEARCHERS["bayes"].options}


def build_spec(raw: Any, source: SourceMap) -> Spec:
    """Validate the raw spec mapping; the first problem found is raised as a SpecError."""
    if raw is None:
        raise source.error((), "the spec is empty")
    top = _Reader(source, raw, (), TOP_LEVEL)

    name = top.read("name")
    trainable = _trainable(top)
    metric = top.read("metric")
    mode = top.read("mode")
    config = top.read("config")
    parser = SpaceParser(source)
    parser.refuse_ray_directives(config, ("config",))  # config joins the trial config Ray resolves
    space = parser.parse(top.read("space"), ("space",))
    if not space.children:
        raise top.error("space", "needs at least one parameter")
    overlap = sorted(set(config) & set(space.children))
    if overlap:
        raise source.error(("config", overlap[0]), "is also a key of space: a key is either a constant "
                           "(config) or searched (space), not both")

    search = _search(top)
    early = _early_stopping(top)
    res_reader = top.sub("resources")
    resources = Resources(**res_reader.read_all())
    if resources.gpu > 1 and not resources.gpu.is_integer():
        raise res_reader.error("gpu", "more than one GPU per trial must be a whole number")
    storage = _storage(top)
    storage_options = top.read("storage_options")
    allowed_storage = _storage_option_names()
    if allowed_storage is not None:
        _known_keys(source, storage_options, ("storage_options",), allowed_storage)
    checkpoint = top.sub("checkpoint")
    failures = top.sub("failures")
    env = top.sub("runtime_env")
    _check_trainable_module(top, trainable, shipped=_shipped_modules(env.read("py_modules"), env.read("working_dir")))
    env_vars = env.read("env_vars")
    for k, v in env_vars.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise source.error(("runtime_env", "env_vars", k), "must be a string")
    return Spec(
        name=name, trainable=trainable, metric=metric, mode=mode, space=space, config=config,
        description=top.read("description") or "",
        search=search, early_stopping=early, resources=resources,
        storage=storage, storage_options=storage_options,
        checkpoint_keep=checkpoint.read("keep"), max_failures=failures.read("max_failures"),
        trial_timeout_s=failures.read("trial_timeout_s"),
        time_budget_s=top.read("time_budget_s"),
        runtime_env=RuntimeEnvSettings(
            pip=env.read("pip"), py_modules=env.read("py_modules"),
            working_dir=env.read("working_dir"), env_vars={k: str(v) for k, v in env_vars.items()}),
        raw=raw, source_file=source.file,
    )


def _trainable(top: _Reader) -> str:
    """A registered name or `package.module:function` (the module is imported only by a sweep)."""
    trainable = top.read("trainable")
    if ":" in trainable:
        if not re.fullmatch(TRAINABLE_REF, trainable):
            raise top.error("trainable", f"{excerpt(trainable)} must be a registered name or 'package.module:function'")
        return trainable
    known = _known_trainables()
    if trainable not in known:
        raise top.error("trainable", f"unknown trainable {excerpt(trainable)}{did_you_mean(trainable, known)}; "
                        f"registered: {', '.join(known)} (or use 'package.module:function')")
    return trainable


def _shipped_modules(py_modules: tuple[str, ...] | None, working_dir: str | None) -> set[str] | None:
    """Top-level module names the spec ships to a cluster ("*": a working_dir may hold any); None when it ships none."""
    if not py_modules and not working_dir:
        return None
    names = {os.path.basename(m.rstrip("/\\")).removesuffix(".py") for m in py_modules or ()}
    return names | ({"*"} if working_dir else set())


def _check_trainable_module(top: _Reader, trainable: str, *, shipped: set[str] | None) -> None:
    """A `package.module:function` whose package cannot be found here fails at `trainable`; when the spec ships code
    to a cluster (`runtime_env.py_modules` or `working_dir`) the module may come with it: then at most a warning, and
    none when its package is one of those shipped."""
    if ":" not in trainable or module_findable(trainable):
        return
    module = trainable.partition(":")[0]
    problem = top.error("trainable", f"cannot find module {excerpt(module)} here "
                                     f"(not on the Python path nor in the working directory)")
    if shipped is None:
        raise problem
    if "*" not in shipped and module.split(".")[0] not in shipped:
        sys.stderr.write(f"hpo: warning: {problem} - expecting it from runtime_env\n")


def _storage(top: _Reader) -> str:
    """A plain path, file://, or a URI of a declared storage backend (s3://)."""
    storage = top.read("storage")
    scheme = storage.split("://", 1)[0].lower() if "://" in storage else ""
    if scheme not in STORAGE_SCHEMES:
        known = ", ".join(f"{s}://" for s in STORAGE_SCHEMES if s)
        raise top.error("storage", f"unsupported scheme {scheme + '://'!r}: use {known} or a folder")
    return storage


def _search(top: _Reader) -> SearchSettings:
    reader = top.sub("search")
    method = reader.read("method")
    searcher = SEARCHERS[method]
    settings = SearchSettings(method=method, num_samples=reader.read("num_samples", searcher.default_num_samples),
                              max_concurrent=reader.read("max_concurrent"), seed=reader.read("seed"),
                              warm_start=reader.read("warm_start"))
    for owner in SEARCHERS.values():
        if owner.options_key is None:
            continue
        options = reader.mapping(owner.options_key)
        if options and owner is not searcher:
            raise reader.error(owner.options_key, f"{owner.options_key} options need search.method: "
                               f"{owner.name} (method is {method!r})")
        if options:
            checked = _check_options(top.source, ("search", owner.options_key), options, owner.options)
            settings = replace(settings, options=checked)
    return settings


def _check_options(source: SourceMap, path: KeyPath, given: dict[str, Any],
                   declared: tuple[Option, ...]) -> dict[str, Any]:
    """Check searcher options against the searcher's declared options; return the checked
    values (a rule may convert, e.g. an integer to a float)."""
    by_name = {option.name: option for option in declared}
    checked: dict[str, Any] = {}
    for key, value in given.items():
        if key not in by_name:
            raise source.error(path + (key,), f"unknown option{did_you_mean(key, by_name)}; "
                               f"expected {one_of(by_name)}")
        try:
            checked[key] = by_name[key].check(value)
        except Exception as exc:  # a rule may fail in its own way (float(10**400))
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise source.error(path + (key,), reason[:200]) from None
    return checked


# Scheduler parameters that EarlyStopping also holds as typed fields.
_TYPED_PARAMETERS = {f.name for f in fields(EarlyStopping)} - {"method", "stop", "parameters"}


def _early_stopping(top: _Reader) -> EarlyStopping:
    reader = top.sub("early_stopping")
    method = reader.read("method")
    scheduler = SCHEDULERS[method]
    takes = tuple(option.name for option in scheduler.parameters)
    for option in all_parameters():
        if reader.has(option.name) and option.name not in takes:
            raise reader.error(option.name, f"{method} takes no {option.name} (it takes {', '.join(takes)})")
    parameters = {option.name: reader.value(option) for option in scheduler.parameters}
    max_t = parameters.get("max_t")
    for key in scheduler.at_most_max_t:
        if max_t is not None and reader.has(key) and parameters[key] > max_t:  # as written; a default past max_t means fewer rungs
            raise reader.error(key, f"must be <= max_t ({_plain(parameters[key])} > {max_t})")
    stop = reader.sub("stop")
    plateau = stop.sub("plateau")
    return EarlyStopping(
        method=method, parameters=parameters,
        stop=StopConditions(metric_threshold=stop.read("metric_threshold"),
                            plateau_patience=plateau.read("patience"),
                            plateau_min_delta=plateau.read("min_delta")),
        **{key: value for key, value in parameters.items() if key in _TYPED_PARAMETERS},
    )
