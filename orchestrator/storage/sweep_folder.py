"""The sweep folder `<storage>/<name>/`, defined once: its layout, its manifests, and Ray's experiment state.

    spec.yaml                      the spec the sweep ran with (secrets redacted); `--resume`, reports and `hpo ls`
    hpo.log                        Ray's log lines (local sweeps; S3 sweeps log to a per-user 0700 temp folder)
    .hpo-lease.json                who writes the sweep now (`storage.lease`: host, pid, start, heartbeat)
    .hpo-lease.lock                local folders only: the flock that serialises claims
    experiment_state-<time>.json   Ray Tune's experiment checkpoint, one per run or resume
    <sweep>_<trial id>/            one folder per trial, Ray's: params.json, result.json, error.txt, checkpoints
    best/best.json                 the `Manifest`, written last and atomically
    best/checkpoint-<version>/     the best checkpoint's files
    best/.pending-<folder>         a publish of <folder> in progress (`storage.publish`): cleanup leaves it alone
    final/final.json               the `FinalManifest` of `hpo train --from-best` (its default `--out`)
    final/model-<version>/         the final model's files
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Iterable, Mapping, TypeVar

from orchestrator.storage.location import StorageLocation
from orchestrator.storage.manifest import read_manifest

SPEC_FILE = "spec.yaml"
LOG_FILE = "hpo.log"
LEASE_FILE = ".hpo-lease.json"
LOCK_FILE = ".hpo-lease.lock"
BEST_FOLDER = "best"
BEST_MANIFEST = "best.json"
CHECKPOINT_PREFIX = "checkpoint-"
FINAL_FOLDER = "final"
FINAL_MANIFEST = "final.json"
ENSEMBLE_FOLDER = "ensemble"
ENSEMBLE_MANIFEST = "ensemble.json"
MEMBERS_PREFIX = "members-"
MODEL_PREFIX = "model-"
PUBLISHED_FOLDERS = (BEST_FOLDER, FINAL_FOLDER, ENSEMBLE_FOLDER)   # ours; every other sub-folder is Ray's
PARAMS_FILE, RESULT_FILE, ERROR_FILE = "params.json", "result.json", "error.txt"   # in each trial folder
STATE_PREFIX, STATE_SUFFIX = "experiment_state-", ".json"
FORMAT_VERSION = 1   # of the manifests; bump when a field changes meaning

P = TypeVar("P", bound="Published")


def best_folder(sweep: StorageLocation) -> StorageLocation:
    """`<sweep>/best`."""
    return sweep.join(BEST_FOLDER)


def final_folder(sweep: StorageLocation) -> StorageLocation:
    """`<sweep>/final`, where `hpo train --from-best` publishes by default."""
    return sweep.join(FINAL_FOLDER)


@dataclass(frozen=True, kw_only=True)
class Published:
    """What every published manifest holds besides its own fields: the version folder its files are in and
    their digests. Read tolerantly: a missing field takes its default, an unknown one is kept in `extra`."""

    FILE: ClassVar[str]     # the manifest's name in its folder
    PREFIX: ClassVar[str]   # of the version folders beside it

    format: int | None = None
    version: str | None = None
    checkpoint_dir: str | None = None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)   # relative path -> {sha256, size}
    published_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # fields this version does not know

    def to_json(self) -> dict[str, Any]:
        """The manifest as the JSON object written to storage (the one writer of its fields)."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**self.extra, **own}

    @classmethod
    def from_json(cls: type[P], raw: Mapping[str, Any]) -> P:
        """The manifest from its JSON object (the one reader of its fields); null reads as empty for mappings."""
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        given = {name: raw[name] for name in known if name in raw}
        for name, value in list(given.items()):
            if value is None and known[name].default_factory is dict:
                given[name] = {}
        return cls(**given, extra={k: v for k, v in raw.items() if k not in known})

    @classmethod
    def read(cls: type[P], folder: StorageLocation) -> P:
        """`<folder>/<FILE>`; a missing or unreadable manifest is a one-line StorageError."""
        return cls.from_json(read_manifest(folder, cls.FILE))

    def published(self: P, *, version: str, checkpoint_dir: str | None, files: dict[str, dict[str, Any]],
                  published_at: str) -> P:
        """This manifest as it is written once its files are in `checkpoint_dir`."""
        return replace(self, format=FORMAT_VERSION, version=version, checkpoint_dir=checkpoint_dir, files=files,
                       published_at=published_at)


@dataclass(frozen=True, kw_only=True)
class Manifest(Published):
    """`best/best.json`: the best trial's config and metric, the spec, how the sweep went, and what produced it."""

    FILE: ClassVar[str] = BEST_MANIFEST
    PREFIX: ClassVar[str] = CHECKPOINT_PREFIX

    config: dict[str, Any] = field(default_factory=dict)   # secrets redacted
    metric: str | None = None
    metric_value: float | None = None
    mode: str | None = None
    trial_id: str | None = None
    iteration: int | None = None                           # of the best checkpoint (the best-validation epoch)
    name: str | None = None
    sweep_uri: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)     # secrets redacted
    versions: dict[str, str] = field(default_factory=dict)  # python, hpo, ray, ...
    created: str | None = None                             # ISO time the sweep ended
    num_trials: int | None = None
    num_failed: int | None = None


@dataclass(frozen=True, kw_only=True)
class FinalManifest(Published):
    """`final/final.json`: the best config refitted on train+validation, and its test metrics."""

    FILE: ClassVar[str] = FINAL_MANIFEST
    PREFIX: ClassVar[str] = MODEL_PREFIX

    config: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    trainable: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    from_best: str | None = None                           # the sweep's URI
    best_version: str | None = None                        # of the best.json it was retrained from
    best_metric: dict[str, Any] = field(default_factory=dict)   # {metric: value} of that best trial


@dataclass(frozen=True, kw_only=True)
class EnsembleManifest(Published):
    """`ensemble/ensemble.json`: the top trials whose best checkpoints predict together (`hpo ensemble`), one
    sub-folder per member, and the test scores of the single best and of the ensemble."""

    FILE: ClassVar[str] = ENSEMBLE_MANIFEST
    PREFIX: ClassVar[str] = MEMBERS_PREFIX

    method: str | None = None                              # mean | vote (mean of values for regression)
    task: str | None = None                                # classification | regression
    trainable: str | None = None
    metric: str | None = None
    mode: str | None = None
    sweep_uri: str | None = None
    members: list[dict[str, Any]] = field(default_factory=list)   # trial_id, folder, config, metric_value
    test_scores: dict[str, Any] = field(default_factory=dict)     # {"single_best": .., "ensemble": .., "score": ..}


def ensemble_folder(sweep: StorageLocation) -> StorageLocation:
    """`<sweep>/ensemble`, where `hpo ensemble` publishes."""
    return sweep.join(ENSEMBLE_FOLDER)


# --- Ray Tune's experiment state ---------------------------------------------------------------------------------
# Ray-private: the JSON TuneController.save_to_dir writes (checked against ray 2.60.0). Its `trial_data` is a list of
# [trial JSON, runtime JSON] pairs; a trial JSON holds trial_id, status, config and relative_logdir, with values Ray
# could only pickle as {"_type": "CLOUDPICKLE_FALLBACK", ...}. Nothing else in hpo reads these files.

@dataclass(frozen=True)
class RayTrial:
    """What Ray's experiment state says about one trial."""

    status: str | None
    config: dict[str, Any] | None
    folder: str | None   # its folder's name in the sweep
    last_result: dict[str, Any] | None = None   # the last result it reported (Ray's runtime JSON)


def is_experiment_state(name: str) -> bool:
    """Whether a file name in the sweep folder is one of Ray's experiment-state files."""
    return name.startswith(STATE_PREFIX) and name.endswith(STATE_SUFFIX)


def newest_experiment_state(names: Iterable[str]) -> str | None:
    """The newest experiment-state file among `names` (they carry the start time, so the largest is the newest)."""
    return max((n for n in names if is_experiment_state(n)), default=None)


def ray_trials(state: Any) -> dict[str, RayTrial]:
    """trial id -> RayTrial, from the parsed JSON of an experiment-state file (anything else reads as no trials)."""
    found: dict[str, RayTrial] = {}
    entries = state.get("trial_data") if isinstance(state, dict) else None
    for entry in entries or []:
        try:
            trial = json.loads(entry[0]) if isinstance(entry[0], str) else entry[0]
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if not isinstance(trial, dict) or "trial_id" not in trial:
            continue
        config = trial.get("config")
        found[trial["trial_id"]] = RayTrial(status=trial.get("status"),
                                            config=_plain(config) if isinstance(config, dict) else None,
                                            folder=trial.get("relative_logdir"), last_result=_last_result(entry))
    return found


def _last_result(entry: Any) -> dict[str, Any] | None:
    """The `last_result` of a trial's runtime JSON (the second item of its `trial_data` pair), if any."""
    try:
        runtime = json.loads(entry[1]) if isinstance(entry[1], str) else entry[1]
    except (ValueError, TypeError, IndexError):
        return None
    result = runtime.get("last_result") if isinstance(runtime, dict) else None
    return result if isinstance(result, dict) else None


def read_ray_trials(sweep: StorageLocation) -> dict[str, RayTrial]:
    """trial id -> RayTrial from the sweep's newest experiment-state file, local or S3 (none without one)."""
    import pyarrow.fs as pafs

    listing = sweep.filesystem.get_file_info(pafs.FileSelector(sweep.path, allow_not_found=True))
    newest = newest_experiment_state(info.base_name for info in listing)
    if newest is None:
        return {}
    with sweep.filesystem.open_input_stream(f"{sweep.path}/{newest}") as stream:
        return ray_trials(json.loads(stream.read().decode("utf-8")))


def _plain(value: Any) -> Any:
    """A config from Ray's state with the values Ray could only pickle (hex blobs) shown as `<object>`."""
    if isinstance(value, dict):
        return "<object>" if value.get("_type") == "CLOUDPICKLE_FALLBACK" else {k: _plain(v) for k, v in value.items()}
    return value
