"""Extending a sweep: how many trials a spec asks for, and how many a resume with a larger `search.num_samples` adds
(the Tuner is restored and its sample budget raised, `orchestrator.compat.extend_sample_budget`)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from orchestrator.errors import UserInputError
from orchestrator.spec import Spec


def expected_trials(spec: Spec) -> int | None:
    """How many trials the spec asks for (grid search: the grid's points times `num_samples`)."""
    from orchestrator.space import grid_size

    if spec.search.method == "grid":
        return grid_size(spec.space) * spec.search.num_samples
    return spec.search.num_samples


def stored_num_samples(stored: dict[str, Any] | None) -> int | None:
    """The `search.num_samples` a stored spec ran with (None when it does not say)."""
    search = (stored or {}).get("search") or {}
    value = search.get("num_samples") if isinstance(search, dict) else None
    return value if isinstance(value, int) else None


def new_trials(spec: Spec, stored: dict[str, Any] | None) -> int:
    """How many trials resuming the stored sweep with `spec` adds (0 when num_samples is unchanged)."""
    before = stored_num_samples(stored)
    if before is None or before >= spec.search.num_samples:
        return 0
    earlier = replace(spec, search=replace(spec.search, num_samples=before))
    return (expected_trials(spec) or 0) - (expected_trials(earlier) or 0)


def check_extension(stored: dict[str, Any] | None, spec: Spec, where: str) -> None:
    """A resume may raise `search.num_samples` (more trials), never lower it (trials that ran cannot be undone)."""
    before = stored_num_samples(stored)
    if before is not None and spec.search.num_samples < before:
        raise UserInputError(f"cannot resume {where}: search.num_samples may only grow "
                             f"({before} -> {spec.search.num_samples}); the sweep has its first {before} already")


def extension_line(spec: Spec, storage: str | None, skipped: Callable[[Spec], int] = lambda _spec: 0) -> str:
    """What `hpo validate --resume` prints: the trials the stored sweep holds and how many resuming it adds;
    `skipped` counts the trials a spec's grid search leaves out (warm start: `WarmStart.grid_skips`)."""
    from orchestrator.runner.resume import read_stored_spec
    from orchestrator.storage import resolve_storage

    sweep = resolve_storage(storage or spec.storage, spec.storage_options).join(spec.name)
    stored = read_stored_spec(sweep)
    if stored is None:
        raise UserInputError(f"nothing to resume: no sweep at {sweep.display}")
    check_extension(stored, spec, sweep.display)
    before = stored_num_samples(stored) or spec.search.num_samples
    earlier = replace(spec, search=replace(spec.search, num_samples=before))
    new = new_trials(spec, stored) - (skipped(spec) - skipped(earlier))
    return f"resume: {(expected_trials(earlier) or 0) - skipped(earlier)} trials stored, {new} new"
