"""End to end: `hpo run` on the shared local Ray, then what it published."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from orchestrator.cli.main import main

QUAD_SPEC = """\
name: quad
trainable: sweep_trainables:quadratic
metric: score
mode: max
config: {epochs: 3}
space:
  x: {uniform: [0, 6]}
  y: {grid: [-1, 0]}
  tag: {choice: [a, b]}
search: {method: grid, num_samples: 3, seed: 1, max_concurrent: 2}
checkpoint: {keep: 1}
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def trial_results(sweep: Path) -> list[dict]:
    """Every result row Ray wrote, from each trial's result.json."""
    rows = []
    for result_file in sweep.glob("*/result.json"):
        rows += [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]
    return rows


@pytest.fixture(scope="module")
def quad_sweep(ray_local, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quad")
    spec = write(tmp, QUAD_SPEC)
    storage = tmp / "runs"
    code = main(["run", str(spec), "--storage", str(storage), "--quiet"])
    return code, storage / "quad", spec, storage


def test_run_exits_zero_and_runs_the_whole_grid(quad_sweep):
    code, sweep, _, _ = quad_sweep
    assert code == 0
    params = [json.loads(p.read_text()) for p in sweep.glob("*/params.json")]
    assert len(params) == 2 * 3  # grid over y (2 points) x num_samples 3
    assert sorted({p["y"] for p in params}) == [-1, 0]
    assert all(p["epochs"] == 3 and p["tag"] in ("a", "b") for p in params)


def test_best_json_names_the_best_trial_and_its_files(quad_sweep):
    _, sweep, _, _ = quad_sweep
    manifest = json.loads((sweep / "best" / "best.json").read_text())
    rows = trial_results(sweep)
    best_row = max(rows, key=lambda r: r["score"])
    assert manifest["metric"] == "score" and manifest["mode"] == "max"
    assert manifest["metric_value"] == pytest.approx(best_row["score"])
    assert manifest["trial_id"] == best_row["trial_id"]
    assert manifest["iteration"] == best_row["training_iteration"]
    assert manifest["config"] == best_row["config"]
    assert manifest["num_trials"] == 6
    assert manifest["spec"]["name"] == "quad"
    assert {"python", "ray", "hpo"} <= set(manifest["versions"])
    folder = sweep / "best" / manifest["checkpoint_dir"]
    assert manifest["files"], "the best checkpoint's files are listed"
    for rel, entry in manifest["files"].items():
        data = (folder / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["size"]
    state = json.loads((folder / "state.json").read_text())
    assert state["epoch"] == 3 and state["x"] == pytest.approx(manifest["config"]["x"])


def test_spec_and_log_are_kept_beside_the_experiment(quad_sweep):
    _, sweep, _, _ = quad_sweep
    assert "trainable: sweep_trainables:quadratic" in (sweep / "spec.yaml").read_text()
    assert (sweep / "hpo.log").stat().st_size > 0


def test_existing_sweep_is_refused_without_resume(quad_sweep, capsys):
    _, sweep, spec, storage = quad_sweep
    before = (sweep / "best" / "best.json").read_text()
    code = main(["run", str(spec), "--storage", str(storage), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "already holds a sweep" in err and "--resume" in err
    assert (sweep / "best" / "best.json").read_text() == before


def test_output_ends_with_best_config_and_published_path(ray_local, tmp_path, capsys):
    spec = write(tmp_path, QUAD_SPEC)
    code = main(["run", str(spec), "--storage", str(tmp_path / "r"), "--quiet",
                 "--set", "search.num_samples=1", "--set", "name=quad-small"])
    out = capsys.readouterr().out
    assert code == 0
    assert "best score (max):" in out and "best config:" in out
    assert f"published: {tmp_path / 'r' / 'quad-small' / 'best'}" in out
    assert f"hpo best {tmp_path / 'r' / 'quad-small'}" in out
    assert len(list((tmp_path / "r" / "quad-small").glob("quad-small_*/params.json"))) == 2


def test_published_checkpoint_is_the_best_epoch_not_the_last(ray_local, tmp_path):
    from orchestrator import load_best, run_sweep

    spec = write(tmp_path, """\
name: peak
trainable: sweep_trainables:peaked
metric: acc
mode: max
config: {epochs: 6}
space:
  peak: {grid: [2, 4]}
search: {method: grid}
checkpoint: {keep: 2}
storage: %s
""" % (tmp_path / "runs"))
    result = run_sweep(spec, quiet=True)
    assert result.best_config["peak"] == 4
    assert result.best_iteration == 4
    assert result.best_metric == pytest.approx(0.9)
    best = load_best(result.sweep_uri, to_dir=tmp_path / "fetched")
    assert best.metric_value == pytest.approx(0.9)
    assert json.loads((best.checkpoint_path / "state.json").read_text())["epoch"] == 4


def test_conditional_space_gives_branch_only_params(ray_local, tmp_path):
    from orchestrator import run_sweep

    spec = write(tmp_path, """\
name: cond
trainable: sweep_trainables:quadratic
metric: score
mode: max
config: {epochs: 1}
space:
  x: {uniform: [0, 6]}
  model:
    choice:
      svc: {C: {loguniform: [0.1, 10]}}
      knn: {k: {randint: [1, 3]}}
      plain:
search: {method: random, num_samples: 12, seed: 3}
storage: %s
""" % (tmp_path / "runs"))
    run_sweep(spec, quiet=True)
    configs = [json.loads(p.read_text()) for p in (tmp_path / "runs" / "cond").glob("*/params.json")]
    assert len(configs) == 12
    keys = {"svc": {"name", "C"}, "knn": {"name", "k"}, "plain": {"name"}}
    for config in configs:
        assert set(config["model"]) == keys[config["model"]["name"]]
        if config["model"]["name"] == "knn":
            assert 1 <= config["model"]["k"] <= 3
    assert {c["model"]["name"] for c in configs} == set(keys)


def test_gpu_request_on_a_gpu_less_local_ray_runs_on_cpu_with_one_line(ray_local, tmp_path, capsys):
    spec = write(tmp_path, QUAD_SPEC.replace("checkpoint: {keep: 1}", "resources: {cpu: 1, gpu: 0.5}"))
    code = main(["run", str(spec), "--storage", str(tmp_path / "r"), "--quiet",
                 "--set", "search.num_samples=1", "--set", "config.epochs=1"])
    out = capsys.readouterr().out
    assert code == 0
    notes = [line for line in out.splitlines() if "no GPU" in line]
    assert notes == ["hpo: no GPU on this machine: running the trials on CPU (resources.gpu 0.5 ignored)"]


def test_secret_constants_reach_trials_but_no_file(ray_local, tmp_path):
    """Secret-looking config keys are given to the trainable, yet Ray writes them nowhere:
    not in params.json, results, the stored spec, best.json or the log."""
    from orchestrator import run_sweep

    spec = write(tmp_path, """\
name: secret
trainable: sweep_trainables:needs_secret
metric: ok
mode: max
config:
  api_token: tok-9f8e7d
  db: {host: db.local, password: pw-1a2b3c}
space:
  x: {uniform: [0, 1]}
search: {num_samples: 2}
storage: %s
""" % (tmp_path / "runs"))
    result = run_sweep(spec, quiet=True)
    assert result.best_metric == 1.0
    assert result.best_config["api_token"] == "***REDACTED***"
    files = [p for p in (tmp_path / "runs" / "secret").rglob("*") if p.is_file()]
    assert any(p.name == "params.json" for p in files) and any(p.name == "best.json" for p in files)
    for path in files:
        data = path.read_bytes()
        assert b"tok-9f8e7d" not in data and b"pw-1a2b3c" not in data, path
