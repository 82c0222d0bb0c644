"""The GPU-sized example trainable at a tiny size on the CPU: it learns, resumes from its checkpoint, and runs as
a sweep of the shipped spec `search_spaces/cnn_gpu.yaml` (shrunk with --set)."""
from __future__ import annotations

from pathlib import Path

import torch

from orchestrator import run_sweep, trial
from orchestrator.spec import load_spec
from trainables.torch_resnet import resnet, synthetic_images, torch_resnet

REPO = Path(__file__).resolve().parents[1]
TINY = {"image_size": 8, "train_size": 256, "val_size": 128, "width": 8, "batch_size": 64, "lr": 0.1,
        "max_epochs": 4, "threads": 1}


def test_data_is_made_once_per_process_on_the_device() -> None:
    first = synthetic_images("cpu", 8, 64, 32, 1.0, 0)
    assert first[0].shape == (64, 3, 8, 8) and first[0].device.type == "cpu"
    assert synthetic_images("cpu", 8, 64, 32, 1.0, 0)[0] is first[0]   # a reused actor's next trial
    assert not torch.equal(synthetic_images("cpu", 8, 64, 32, 1.0, 1)[0], first[0])
    assert resnet(8, 2)(first[0][:2]).shape == (2, 10)


def test_it_learns_and_resumes_where_it_stopped() -> None:
    run = trial.run_locally(torch_resnet, TINY)
    accuracies = [r["val_accuracy"] for r in run.results]
    assert len(accuracies) == 4 and accuracies[-1] > 0.25 > accuracies[0] - 0.1   # chance is 0.1
    resumed = trial.run_locally(torch_resnet, TINY, resume_from=run.states[1])
    assert [r["epoch"] for r in resumed.results] == [3, 4]


def test_shipped_spec_runs_as_a_sweep(ray_local, storage_dir: Path) -> None:
    spec = load_spec(REPO / "search_spaces" / "cnn_gpu.yaml", [
        "search.num_samples=2", "config.image_size=8", "config.train_size=256", "config.val_size=128",
        "config.max_epochs=2", "early_stopping.max_t=2", "early_stopping.grace_period=1", "resources.gpu=0",
        "space.width.choice=[8]", "space.blocks.randint=[1,1]", "space.batch_size.choice=[64]"])
    result = run_sweep(spec, storage=str(storage_dir), quiet=True)
    assert result.num_trials == 2 and not result.failures and 0.0 <= result.best_metric <= 1.0
    assert (storage_dir / "cnn-gpu" / "best" / "best.json").is_file()
