"""`hpo validate`: every example spec passes with a summary; a bad spec is one line on stderr,
no traceback, exit code 2 (in-process through `main`, and once through the `hpo` script)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli.main import main
from orchestrator.space import grid_size
from orchestrator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "search_spaces").glob("*.yaml"))
GOOD = "name: t\ntrainable: sklearn_classifier\nmetric: acc\nmode: max\n"


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `hpo validate ARGV...` in-process: exit code, stdout, stderr."""
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_there_are_example_specs() -> None:
    assert any(p.name == "quickstart.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_spec_validates_with_a_summary(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, str(path))
    assert (code, err) == (0, "")
    spec = load_spec(path)
    assert out.startswith(f"spec {path}: OK\n")
    assert f"grid size {grid_size(spec.space)}" in out
    assert f"searcher: {spec.search.method} (" in out
    scheduler = {"none": "none (FIFO)", "median": "median stopping"}.get(spec.early_stopping.method,
                                                                         spec.early_stopping.method)
    assert f"scheduler: {scheduler}" in out
    for name in spec.space.children:
        assert f"\n  {name}:" in out  # every top-level parameter is listed


def test_summary_of_a_grid_spec_counts_points_and_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(GOOD + """\
space:
  model:
    choice:
      svc: {C: {grid: [1, 10, 100]}}
      knn: {k: {grid: [1, 5]}}
  scaler: {grid: [none, standard]}
  lr: {loguniform: [1e-4, 1e-1]}
search: {method: grid, num_samples: 2}
early_stopping: {method: median, grace_period: 2}
resources: {cpu: 0.5, gpu: 0.25}
""")
    code, out, err = validate(capsys, str(path))
    assert (code, err) == (0, "")
    assert "parameters (1 sampled, grid size 10):" in out
    assert "searcher: grid (Ray variant generator); trials: 20" in out
    assert "scheduler: median stopping" in out
    assert "resources per trial: cpu 0.5, gpu 0.25" in out


def test_overrides_apply_to_validate(capsys: pytest.CaptureFixture[str]) -> None:
    quickstart = str(ROOT / "search_spaces" / "quickstart.yaml")
    code, out, _ = validate(capsys, quickstart, "--set", "search.num_samples=5", "--set", "search.method=grid")
    assert code == 0 and "searcher: grid (Ray variant generator); trials: 20" in out  # 4 branches x 5


BAD = [
    ("bad-bounds", GOOD + "space:\n  x: {uniform: [1, 0]}\n", (), "{name}:6 space.x: low must be < high"),
    ("misspelt-key", GOOD + "space:\n  x: 1\nserach: {}\n", (),
     "{name}:7 serach: unknown key (did you mean 'search'?); expected one of name, description, trainable, "
     "metric, mode, config, space, search, early_stopping, resources, storage, storage_options, checkpoint, "
     "failures, time_budget_s, runtime_env"),
    ("yaml-syntax", GOOD + "space: {x: [1\n", (), "{name}:6 <spec>: invalid YAML: did not find expected ',' or ']'"),
    ("python-tag", GOOD + "space: {x: !!python/object/apply:os.system [true]}\n", (),
     "{name}:5 space.x: YAML tag '!!python/object/apply:os.system' is not allowed (plain data only)"),
    ("bad-override", GOOD + "space: {x: 1}\n", ("--set", "search.method=bayess"),
     "--set search.method=bayess search.method: 'bayess' is not one of grid, random, bayes (did you mean 'bayes'?)"),
    ("bad-override-syntax", GOOD + "space: {x: 1}\n", ("--set", "search.seed"),
     "--set search.seed: expected key.path=value, got 'search.seed'"),
]


@pytest.mark.parametrize("text, extra, expected", [pytest.param(t, x, e, id=i) for i, t, x, e in BAD])
def test_a_bad_spec_is_one_line_on_stderr_and_exit_code_2(text: str, extra: tuple[str, ...], expected: str,
                                                           tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, out, err = validate(capsys, str(path), *extra)
    assert code == 2 and out == ""
    assert err == "hpo: error: " + expected.format(name=path.name) + "\n"


def test_unreadable_files_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(GOOD.encode() + "description: caf\xe9\n".encode("latin-1"))
    for path, reason in [(tmp_path / "nope.yaml", "no such file"), (tmp_path, "is a directory, not a YAML file"),
                         (latin1, "not UTF-8 text")]:
        code, out, err = validate(capsys, str(path))
        assert (code, out, err) == (2, "", f"hpo: error: {path} <spec>: {reason}\n")


def test_the_hpo_script_prints_one_line_without_traceback(tmp_path: Path) -> None:
    hpo = Path(sys.executable).with_name("hpo")
    bad = tmp_path / "digits.yaml"
    bad.write_text(GOOD + "space:\n  model:\n    choice:\n      svc:\n        C: {loguniform: [1.0e3, 1.0e-3]}\n")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{n}: &a{n} [" + ", ".join([f"*{'a' if n == 0 else f'a{n - 1}'}"] * 9) + "]\n" for n in range(9)))
    for path, expected in [
        (bad, "hpo: error: digits.yaml:9 space.model.choice.svc.C: low must be < high\n"),
        (bomb, None),
    ]:
        proc = subprocess.run([str(hpo), "validate", str(path)], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert proc.stderr == expected if expected else proc.stderr.startswith("hpo: error: bomb.yaml:")
