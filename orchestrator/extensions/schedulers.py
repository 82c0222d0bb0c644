"""The trial schedulers `early_stopping.method` may name: one `SchedulerEntry` each.

Adding a scheduler is one entry here plus the module of its builder. The spec accepts the
method and exactly its parameters (checked by their rules, defaults filled in; they reach the
builder as `spec.early_stopping.parameters`), `hpo validate` prints its label and parameters,
`hpo schema` describes them; a `note`, where there is one, is the line `hpo validate` adds on
what runs and why. A builder is `"module:function"`, imported only when a sweep
builds it: `function(spec) -> ray.tune.schedulers.TrialScheduler`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.extensions.options import Integer, Number, Option
from orchestrator.extensions.references import load_reference


@dataclass(frozen=True)
class SchedulerEntry:
    """An early-stopping method: its label, what builds it, which parameters it takes."""

    name: str
    label: str
    builder: str
    parameters: tuple[Option, ...]
    at_most_max_t: tuple[str, ...] = ()  # parameters that may not exceed max_t where the spec sets them
    note: str | None = None  # "module:function(spec) -> str": what runs and why, for `hpo validate`

    def build(self, spec: Any) -> Any:
        """The Ray Tune trial scheduler for `spec` (an `orchestrator.spec.Spec`)."""
        return load_reference(self.builder)(spec)

    def explain(self, spec: Any) -> str | None:
        """The line `hpo validate` adds under the scheduler, where the method has one."""
        return load_reference(self.note)(spec) if self.note else None


# Every method takes max_t, the iteration cap per trial; where it is also the top rung it has a default.
_MAX_T_DOC = "iteration cap per trial, in reported iterations (epochs); for asha and hyperband also the top rung"
MAX_T_CAP = Option("max_t", Integer(minimum=1), None, _MAX_T_DOC)
MAX_T_RUNGS = Option("max_t", Integer(minimum=1), 100, _MAX_T_DOC)
GRACE_PERIOD = Option("grace_period", Integer(minimum=1), 1, "iterations a trial runs before it may be stopped")
REDUCTION_FACTOR = Option("reduction_factor", Number(above=1.0), 3.0,
                          "at each rung, 1/reduction_factor of the trials go on")
# hyperband's own default: eta 4 with HyperBand's last bracket left out (see orchestrator/schedulers/async_hyperband.py)
HYPERBAND_REDUCTION_FACTOR = Option("reduction_factor", Number(above=1.0), 4.0,
                                    "at each rung, 1/reduction_factor of the trials go on; also sets the brackets "
                                    "(grace periods 1, eta, eta^2, ... below HyperBand's last)")
BRACKETS = Option("brackets", Integer(minimum=1), 1, "ASHA brackets, each with its own grace period")
MIN_SAMPLES_REQUIRED = Option("min_samples_required", Integer(minimum=1), 3,
                              "trials that must have reached an iteration before its median stops any")

_SCHEDULERS = "orchestrator.schedulers.trial_schedulers"
_ASYNC_HYPERBAND = "orchestrator.schedulers.async_hyperband"  # hyperband runs asynchronously: see there
_MEDIAN = "orchestrator.schedulers.median_stopping"  # the median over the trials not stopped: see there

SCHEDULERS: dict[str, SchedulerEntry] = {entry.name: entry for entry in (
    SchedulerEntry("asha", "asha", f"{_SCHEDULERS}:build_asha",
                   (MAX_T_RUNGS, GRACE_PERIOD, REDUCTION_FACTOR, BRACKETS),
                   at_most_max_t=("grace_period", "reduction_factor")),
    SchedulerEntry("hyperband", "hyperband", f"{_ASYNC_HYPERBAND}:build_hyperband",
                   (MAX_T_RUNGS, HYPERBAND_REDUCTION_FACTOR),
                   at_most_max_t=("reduction_factor",), note=f"{_ASYNC_HYPERBAND}:variant_note"),
    SchedulerEntry("median", "median stopping", f"{_MEDIAN}:build_median",
                   (MAX_T_CAP, GRACE_PERIOD, MIN_SAMPLES_REQUIRED), at_most_max_t=("grace_period",),
                   note=f"{_MEDIAN}:median_note"),
    SchedulerEntry("none", "none (FIFO)", f"{_SCHEDULERS}:build_fifo", (MAX_T_CAP,)),
)}


def all_parameters() -> tuple[Option, ...]:
    """Every scheduler parameter once, sorted by name; one that methods declare with different
    defaults is listed without a default, its doc naming each method's."""
    declared: dict[str, list[tuple[str, Option]]] = {}
    for entry in SCHEDULERS.values():
        for option in entry.parameters:
            declared.setdefault(option.name, []).append((entry.name, option))
    merged = []
    for name in sorted(declared):
        first = declared[name][0][1]
        if len({option.default for _, option in declared[name]}) == 1:
            merged.append(first)
            continue
        defaults = ", ".join(f"{method} {option.default:g}" for method, option in declared[name]
                             if option.default is not None)
        merged.append(Option(name, first.rule, None, f"{first.doc} (default: {defaults})"))
    return tuple(merged)
