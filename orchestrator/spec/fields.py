"""The spec's keys, declared once: rule, default and a line of doc for each. `schema.py` reads
a spec by these declarations and `json_schema.py` turns the same ones into `hpo schema`;
searcher options and scheduler parameters come from the extension tables."""
from __future__ import annotations

from orchestrator.extensions.options import (
    Integer, Mapping, Number, OneOf, Option, Ref, Section, Text, TextList,
)
from orchestrator.extensions.schedulers import SCHEDULERS, all_parameters
from orchestrator.extensions.searchers import SEARCHERS

NAME_PATTERN = "[a-z0-9_-]+"
TRAINABLE_REF = r"[A-Za-z_][\w.]*:[A-Za-z_]\w*"  # package.module:function
MODES = ("max", "min")
DEFAULT_STORAGE = "./runs"
MAX_SEED = 2**32 - 1  # numpy's seed range

SEARCH = Section((
    Option("method", OneOf(tuple(SEARCHERS)), "random", "the searcher"),
    Option("num_samples", Integer(minimum=1), None, "trials (under grid: repeats of the grid); 10, or 1 for grid"),
    Option("max_concurrent", Integer(minimum=0), 0, "trials at once; 0: as many as resources allow"),
    Option("seed", Integer(minimum=0, maximum=MAX_SEED), None, "seeds the searcher"),
    Option("warm_start", TextList(), None, "earlier sweeps (URIs) whose finished trials that fit this space are "
           "told to the bayes searcher before it suggests (grid and random do not use them yet)"),
    *(Option(entry.options_key, Section(entry.options), None, f"options of search.method {entry.name}")
      for entry in SEARCHERS.values() if entry.options_key),
))

PLATEAU = Section((
    Option("patience", Integer(minimum=1), None, "reports without progress before the trial stops", required=True),
    Option("min_delta", Number(minimum=0.0), 0.0, "the least change of the metric that counts as progress"),
))
STOP = Section((
    Option("metric_threshold", Number(), None, "stop a trial once its metric reaches this"),
    Option("plateau", PLATEAU, None, "stop a trial whose metric stopped improving"),
))
EARLY_STOPPING = Section((
    Option("method", OneOf(tuple(SCHEDULERS)), "none", "the trial scheduler"),
    Option("stop", STOP, None, "per-trial stop conditions, with any method"),
    *all_parameters(),
))

RESOURCES = Section((
    Option("cpu", Number(above=0.0), 1.0, "CPUs per trial"),
    Option("gpu", Number(minimum=0.0), 0.0, "GPUs per trial; fractions share a GPU"),
))
CHECKPOINT = Section((
    Option("keep", Integer(minimum=1), 2, "best-by-metric checkpoints kept per trial"),
))
FAILURES = Section((
    Option("max_failures", Integer(minimum=0), 2, "retries of a failed trial, from its last checkpoint"),
    Option("trial_timeout_s", Number(above=0.0), None, "a trial running longer than this fails"),
))
RUNTIME_ENV = Section((
    Option("pip", TextList(), None, "packages to install for the job (hpo submit)"),
    Option("py_modules", TextList(), None, "local packages to ship with the job, relative to the spec"),
    Option("working_dir", Text(), None, "a folder to ship with the job, relative to the spec"),
    Option("env_vars", Mapping(value_types=("string", "number")), None, "environment of the job's processes"),
))

TOP_LEVEL = Section((
    Option("name", Text(NAME_PATTERN, hint="it names the sweep's folder"), None,
           "the sweep; its folder is <storage>/<name>", required=True),
    Option("description", Text(), None, "free text"),
    Option("trainable", Text(), None, "a registered trainable name, or 'package.module:function'", required=True),
    Option("metric", Text(), None, "the reported metric to optimise", required=True),
    Option("mode", OneOf(MODES), None, "optimise the metric towards its max or its min", required=True),
    Option("config", Mapping(), None, "constants merged into every trial's config"),
    Option("space", Ref("space"), None, "the search space: parameter name -> distribution, constant or mapping",
           required=True),
    Option("search", SEARCH, None, "the searcher and how many trials"),
    Option("early_stopping", EARLY_STOPPING, None, "the trial scheduler and per-trial stop conditions"),
    Option("resources", RESOURCES, None, "resources per trial"),
    Option("storage", Text(), DEFAULT_STORAGE, "where the sweep lives: s3://bucket/prefix, file:// or a folder"),
    Option("storage_options", Mapping(), None, "S3 settings, e.g. endpoint_url for MinIO"),
    Option("checkpoint", CHECKPOINT, None, "checkpoints kept per trial"),
    Option("failures", FAILURES, None, "retries and timeouts of failing trials"),
    Option("time_budget_s", Number(above=0.0), None, "stop starting trials after this many seconds"),
    Option("runtime_env", RUNTIME_ENV, None, "what `hpo submit` ships to a cluster"),
))


def storage_option_names() -> tuple[str, ...] | None:
    """The keys `storage_options` takes, as the storage layer declares them (None without it)."""
    from orchestrator.extensions.storage import STORAGE_OPTIONS

    return tuple(sorted(STORAGE_OPTIONS))
