"""The contract for trainables, and the helpers a trainable calls to report and checkpoint.

A trainable is a plain function ``def train(config: dict) -> None`` that Ray Tune runs as a
function trainable, one call per trial. ``config`` is the spec's ``config:`` constants merged
with the sampled ``space`` (a plain nested dict; a conditional choice arrives as
``config["model"] == {"name": "svc", "C": ...}``). Inside it::

    from orchestrator import trial

    def train(config: dict) -> None:
        trial.seed_everything(config.get("seed", 0))
        device = trial.trial_device()                 # the GPU Ray assigned, else CPU
        model, opt = build(config, device)
        state = trial.restore()                       # None on a fresh start
        start = 0
        if state is not None:                         # restored / retried / paused trial
            model.load_state_dict(state["model"]); opt.load_state_dict(state["optimizer"])
            trial.set_rng_state(state["rng"]); start = state["epoch"] + 1
        for epoch in range(start, config["max_epochs"]):
            val_loss, val_acc = fit_one_epoch(model, opt, ...)
            trial.report({"val_loss": val_loss, "val_accuracy": val_acc},
                         state={"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "epoch": epoch, "rng": trial.rng_state()})

Each ``report`` is one training iteration for the schedulers (ASHA's ``max_t`` counts them);
metric values become plain Python floats. A ``state`` is written into a fresh checkpoint
directory as one file, ``state.pt`` (``torch.save``; used whenever torch is loaded in the
process) or ``state.pkl`` (``pickle``; pure-Python states, e.g. a scikit-learn model, so those
trials never pay torch's import). ``load_state(directory)`` reads either: that is how a
downloaded best checkpoint is opened. Both are pickles: load only checkpoints you trust.

Outside Ray Tune (debugging a trainable, a final fit) the helpers still work: within
``with local_run() as run:`` reports are collected in ``run.results`` / ``run.states`` and
``restore()`` returns the ``resume_from`` state given; with no Tune session and no local run,
``report`` prints the metrics and drops the state.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.compat import in_tune_session
from orchestrator.processes import process_alive

if TYPE_CHECKING:
    import torch

TORCH_STATE_FILE = "state.pt"
PICKLE_STATE_FILE = "state.pkl"
STATE_FILES = (TORCH_STATE_FILE, PICKLE_STATE_FILE)


# --- state files -------------------------------------------------------------------------

def _torch_loaded() -> bool:
    return "torch" in sys.modules


def save_state(state: Mapping[str, Any], directory: str | os.PathLike[str]) -> Path:
    """Write `state` into `directory` as the one state file; returns its path."""
    directory = Path(directory)
    if _torch_loaded():
        import torch

        path = directory / TORCH_STATE_FILE
        torch.save(dict(state), path)
    else:
        path = directory / PICKLE_STATE_FILE
        with path.open("wb") as fh:
            pickle.dump(dict(state), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_state(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the state file of a checkpoint directory (either convention); tensors land on CPU."""
    directory = Path(directory)
    if (directory / TORCH_STATE_FILE).exists():
        import torch

        # Our own file: RNG states and numpy arrays need the full unpickler.
        return torch.load(directory / TORCH_STATE_FILE, map_location="cpu", weights_only=False)
    if (directory / PICKLE_STATE_FILE).exists():
        with (directory / PICKLE_STATE_FILE).open("rb") as fh:
            return pickle.load(fh)
    raise FileNotFoundError(f"no {' or '.join(STATE_FILES)} in checkpoint {directory}")


def _round_trip(state: Mapping[str, Any]) -> Callable[[], dict[str, Any]]:
    """Serialize now (state dicts alias live tensors), deserialize on demand."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_state(state, tmp)
        blob, name = path.read_bytes(), path.name

    def load() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / name).write_bytes(blob)
            return load_state(tmp)

    return load


# --- metrics -------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A metric as Ray and JSON want it: numbers (numpy, torch 0-d) as float, others as they are."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and callable(value.item):  # numpy scalar, 0-d array or tensor
        value = value.item()
    if isinstance(value, (int, float)):
        return float(value)
    raise TypeError(f"metric value {value!r} is not a number")


def plain_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """`metrics` with every numeric value cast to a plain Python float."""
    return {str(k): _plain(v) for k, v in metrics.items()}


# --- local (no Ray) runs ----------------------------------------------------------------

@dataclass
class LocalRun:
    """What a trainable reported while run outside Ray Tune."""

    resume_from: dict[str, Any] | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    _loaders: list[Callable[[], dict[str, Any]] | None] = field(default_factory=list)

    @property
    def states(self) -> list[dict[str, Any] | None]:
        """The state given with each report (None where none was), as a restore would read it."""
        return [load() if load else None for load in self._loaders]

    @property
    def last(self) -> dict[str, Any]:
        """The last reported metrics."""
        return self.results[-1]


_local_runs: list[LocalRun] = []


@contextlib.contextmanager
def local_run(resume_from: Mapping[str, Any] | None = None) -> Iterator[LocalRun]:
    """Collect reports of trainables called inside; `restore()` returns `resume_from`."""
    run = LocalRun(resume_from=dict(resume_from) if resume_from is not None else None)
    _local_runs.append(run)
    try:
        yield run
    finally:
        _local_runs.remove(run)


def run_locally(train: Callable[[dict], None], config: Mapping[str, Any],
                resume_from: Mapping[str, Any] | None = None) -> LocalRun:
    """Call `train(config)` outside Ray and return what it reported."""
    with local_run(resume_from) as run:
        train(dict(config))
    return run


# --- checkpoint staging ---------------------------------------------------------------------

STAGING_PREFIX = "hpo-ckpt-"
_orphans_removed = False


def checkpoint_staging_dir() -> tempfile.TemporaryDirectory:
    """A fresh temporary folder for one checkpoint before Ray persists it, named after this process.

    A trial stopped or killed inside `report` never runs the folder's clean-up, and the state (a whole model) would
    stay in the temp dir for good; the process id in the name lets the next process remove what dead ones left.
    """
    global _orphans_removed
    if not _orphans_removed:
        _orphans_removed = True
        remove_orphaned_staging_dirs()
    return tempfile.TemporaryDirectory(prefix=f"{STAGING_PREFIX}{os.getpid()}-")


def remove_orphaned_staging_dirs() -> int:
    """Delete staging folders whose process is gone; returns how many."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*-*"):
        pid = folder.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


# --- the helpers ---------------------------------------------------------------------------

def report(metrics: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> None:
    """Report one iteration's metrics; with `state`, attach it as this iteration's checkpoint."""
    metrics = plain_metrics(metrics)
    if in_tune_session():
        from ray import tune

        if state is None:
            tune.report(metrics)
            return
        with checkpoint_staging_dir() as tmp:
            save_state(state, tmp)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
        return
    if _local_runs:
        run = _local_runs[-1]
        run.results.append(metrics)
        run._loaders.append(_round_trip(state) if state is not None else None)
        return
    print("report:", ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in metrics.items()), flush=True)


def restore() -> dict[str, Any] | None:
    """The state of this trial's latest checkpoint, or None when the trial starts fresh."""
    if in_tune_session():
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as directory:
            return load_state(directory)
    if _local_runs and _local_runs[-1].resume_from is not None:
        return dict(_local_runs[-1].resume_from)
    return None


def trial_device() -> "torch.device":
    """The GPU Ray assigned to this trial (fractional GPUs included), else the CPU.

    Ray narrows CUDA_VISIBLE_DEVICES to the trial's GPUs, so the assigned one is `cuda:0`.
    Outside Ray a visible GPU is used when there is one; HPO_DEVICE=cpu forces the CPU.
    """
    import torch

    if os.environ.get("HPO_DEVICE", "").lower() == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    if in_tune_session():
        import ray

        if not ray.get_gpu_ids():
            return torch.device("cpu")
    return torch.device("cuda", 0)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and (when installed) torch's generators, CUDA included."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    with contextlib.suppress(ImportError):
        import torch

        torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every generator's state (Python, numpy, torch CPU and CUDA), to put in a checkpoint."""
    import numpy as np

    state: dict[str, Any] = {"python": random.getstate(), "numpy": np.random.get_state()}
    if _torch_loaded():
        import torch

        state["torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Put back states saved by `rng_state`, so a restored trial draws the same numbers."""
    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "torch" in state:
        import torch

        torch.set_rng_state(state["torch"])
        cuda = state.get("cuda")  # put back only onto as many GPUs as it was taken from
        if cuda is not None and torch.cuda.is_available() \
                and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
