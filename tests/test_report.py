"""`hpo report` and `hpo ls` on a real (tiny) sweep: finished, still running, on S3, and in headless Chromium."""
from __future__ import annotations

import io
import json
import re
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from orchestrator.cli.main import main
from orchestrator.report import load_sweep, write_report
from s3_fixtures import s3_client

REPO = Path(__file__).resolve().parents[1]
# Set HPO_SCREENSHOT=1 to refresh the committed screenshot; a plain test run writes nothing in the repo.
SCREENSHOT = REPO / "benchmarks" / "results" / "report_screenshot.png"
CHROMIUM = "/usr/bin/chromium"

SPEC = """\
name: rep
trainable: sweep_trainables:quadratic
metric: score
mode: max
config: {epochs: 4}
space:
  x: {uniform: [0, 6]}
  model:
    choice:
      lin: {lr: {loguniform: [1.0e-4, 1.0e-1]}}
      tree: {depth: {randint: [2, 8]}}
search: {method: random, num_samples: 6, seed: 3, max_concurrent: 2}
early_stopping: {method: asha, max_t: 4, grace_period: 1, reduction_factor: 2}
checkpoint: {keep: 1}
"""
PICTURES = {"learning_curves.png", "best_so_far.png", "early_stopping.png", "branches.png",
            "metric_vs_params.png", "parallel_coordinates.png"}


@pytest.fixture(scope="module")
def sweep(ray_local, tmp_path_factory) -> Path:
    """One finished sweep for the whole module: 6 trials of the quadratic, ASHA, a conditional choice."""
    from orchestrator.api import run_sweep
    from orchestrator.spec import load_spec_text

    storage = tmp_path_factory.mktemp("report") / "runs"
    run_sweep(load_spec_text(SPEC, "rep.yaml"), storage=str(storage), quiet=True, stream=io.StringIO())
    return storage / "rep"


@pytest.fixture(scope="module")
def report(sweep, tmp_path_factory):
    """The report of the finished sweep, written once for the tests that only read it (the S3 test goes
    through the CLI)."""
    return write_report(str(sweep), tmp_path_factory.mktemp("finished-report"))


def result_rows(sweep: Path) -> list[dict]:
    rows = []
    for result_file in sweep.glob("*/result.json"):
        rows += [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]
    return rows


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def leaderboard_rows(html: str) -> list[list[str]]:
    """The cells of the leaderboard table in report.html."""
    section = html.split("<h2>Leaderboard", 1)[1].split("</table>", 1)[0]
    body = section.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def copy_sweep(sweep: Path, to: Path) -> Path:
    """A copy of the sweep folder without checkpoints (what the report does not read)."""
    shutil.copytree(sweep, to, ignore=shutil.ignore_patterns("checkpoint_*", "checkpoint-*"))
    return to


def set_ray_status(sweep: Path, statuses: dict[str, str]) -> None:
    """Rewrite trial statuses in Ray's experiment state, as a sweep still in progress would have them."""
    state_file = max(sweep.glob("experiment_state-*.json"))
    state = json.loads(state_file.read_text())
    for entry in state["trial_data"]:
        trial = json.loads(entry[0])
        if trial["trial_id"] in statuses:
            trial["status"] = statuses[trial["trial_id"]]
            entry[0] = json.dumps(trial)
    state_file.write_text(json.dumps(state))


def trial_dirs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.glob("rep_*") if p.is_dir())


def make_running(sweep: Path, to: Path) -> Path:
    """The sweep as it looked mid-run: no best.json, one trial running with a half-written result line,
    one trial not started (pending)."""
    running = copy_sweep(sweep, to)
    shutil.rmtree(running / "best")
    dirs = trial_dirs(running)
    first = max(dirs[:-1], key=lambda d: len((d / "result.json").read_text().splitlines()))
    last = dirs[-1]
    lines = (first / "result.json").read_text().splitlines()
    (first / "result.json").write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    shutil.rmtree(last)
    set_ray_status(running, {first.name.split("_", 1)[1]: "RUNNING", last.name.split("_", 1)[1]: "PENDING"})
    return running


# --- finished sweep ------------------------------------------------------------------------------------------------

def test_report_of_a_finished_sweep_writes_real_pngs_and_one_self_contained_page(sweep, report):
    out = report.html_path.parent
    assert {p.name for p in out.glob("*.png")} == PICTURES
    for png in out.glob("*.png"):
        width, height = png_size(png.read_bytes())
        assert 600 <= width <= 2000 and 250 <= height <= 2000, (png.name, width, height)
        assert png.stat().st_size > 10_000, png.name  # drawn, not an empty canvas
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(PICTURES)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html), \
        "the page must not fetch anything"
    assert f"hpo best {sweep}" in html
    assert "finished" in html


def test_leaderboard_matches_the_results(sweep, report):
    rows = result_rows(sweep)
    best_per_trial: dict[str, float] = {}
    for row in rows:
        best_per_trial[row["trial_id"]] = max(best_per_trial.get(row["trial_id"], -1e9), row["score"])
    expected = sorted(best_per_trial.items(), key=lambda kv: -kv[1])
    board = report.leaderboard
    assert list(board["trial_id"]) == [t for t, _ in expected][: len(board)]
    assert list(board["best_value"]) == pytest.approx([v for _, v in expected][: len(board)])
    manifest = json.loads((sweep / "best" / "best.json").read_text())
    assert board.iloc[0]["trial_id"] == manifest["trial_id"]
    html_rows = leaderboard_rows(report.html_path.read_text())
    assert [r[1] for r in html_rows] == list(board["trial_id"])
    assert float(html_rows[0][2]) == pytest.approx(manifest["metric_value"], rel=1e-4)
    # the conditional branch and its parameters are columns; the constant `epochs` is not
    assert {"model.name", "x", "model.lr", "model.depth"} <= set(board.columns)
    assert "epochs" not in board.columns


def test_trial_outcomes_follow_the_done_flag_and_max_t(sweep):
    data = load_sweep(str(sweep))
    assert len(data.trials) == 6 and data.status == "finished"
    for trial_id, trial in data.trials.iterrows():
        last = [r for r in result_rows(sweep) if r["trial_id"] == trial_id][-1]
        cut_short = bool(last.get("done")) and last["training_iteration"] < 4
        assert trial["outcome"] == ("stopped early" if cut_short else "done"), trial_id
        assert trial["iterations"] == last["training_iteration"]
    assert data.branch_key() == "model.name"
    assert set(data.configs["model.name"]) == {"lin", "tree"} or data.configs["model.name"].nunique() == 1


# --- running sweep -------------------------------------------------------------------------------------------------

def test_report_of_a_running_sweep(sweep, tmp_path):
    running = make_running(sweep, tmp_path / "runs" / "rep")
    report = write_report(str(running), tmp_path / "out")
    data = report.data
    counts = data.counts()
    assert data.status == "running" and not data.finished
    assert counts["running"] == 1 and counts["pending"] == 1
    assert sum(counts.values()) == 6
    first = data.trials[data.trials["outcome"] == "running"].index[0]
    assert data.trials.loc[first, "iterations"] == 1  # the half-written line is skipped
    assert first in set(data.results["trial_id"])
    assert {p.filename for p in report.plots} == PICTURES
    html = report.html_path.read_text()
    assert "has not published its best yet" in html and "running" in html
    assert len(report.leaderboard) == 5  # the pending trial has no result


# --- hpo ls --------------------------------------------------------------------------------------------------------

def test_ls_lists_finished_running_and_failed_sweeps(sweep, tmp_path, capsys):
    storage = tmp_path / "runs"
    copy_sweep(sweep, storage / "done")
    make_running(sweep, storage / "live")
    failed = copy_sweep(sweep, storage / "broken")
    shutil.rmtree(failed / "best")
    for trial in trial_dirs(failed):
        (trial / "result.json").unlink()
        (trial / "error.txt").write_text("Traceback...\nValueError: boom\n")
    set_ray_status(failed, {d.name.split("_", 1)[1]: "ERROR" for d in trial_dirs(failed)})
    (storage / "not-a-sweep").mkdir()
    (storage / "not-a-sweep" / "notes.txt").write_text("hello")

    assert main(["ls", str(storage)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "TRIALS", "FAILED", "BEST", "DATE", "(UTC)"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert set(by_name) == {"broken", "done", "live"}
    manifest = json.loads((sweep / "best" / "best.json").read_text())
    assert by_name["done"].split()[1:4] == ["finished", "6", "0"]
    assert f"score={manifest['metric_value']:.5g} (max)" in by_name["done"]
    assert by_name["live"].split()[1] == "running" and "4/6 ended, 1 running" in by_name["live"]
    assert by_name["broken"].split()[1:3] == ["failed", "6/6"] and by_name["broken"].split()[4] == "6"


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["ls", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("hpo: error: ") for line in err)


# --- S3 ------------------------------------------------------------------------------------------------------------

def test_report_and_ls_on_s3(sweep, report, s3_server, tmp_path, capsys):
    bucket = "hpo-report-test"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    s3 = pafs.S3FileSystem(endpoint_override=s3_server, scheme="http", region="us-east-1")
    pafs.copy_files(str(sweep), f"{bucket}/sweeps/rep", source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=s3)
    uri = f"s3://{bucket}/sweeps/rep"
    out = tmp_path / "s3-report"
    assert main(["report", uri, "--out", str(out), "--endpoint-url", s3_server]) == 0
    assert {p.name for p in out.glob("*.png")} == PICTURES
    html = (out / "report.html").read_text()
    assert f"hpo best {uri} --endpoint-url {s3_server}" in html
    assert [r[1] for r in leaderboard_rows(html)] == list(report.leaderboard["trial_id"])
    live = make_running(sweep, tmp_path / "live")
    pafs.copy_files(str(live), f"{bucket}/sweeps/live", source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=s3)
    capsys.readouterr()
    assert main(["ls", f"s3://{bucket}/sweeps", "--endpoint-url", s3_server]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows[0][:5] == ["live", "running", "4/6", "ended,", "1"] and rows[1][:4] == ["rep", "finished", "6", "0"]


# --- in a browser --------------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_report_renders_in_headless_chromium(report, tmp_path):
    from PIL import Image

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    shot = tmp_path / "screenshot.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
               report.html_path.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 500, "the page looks blank"
    background = max(colours)[0] / (image.size[0] * image.size[1])
    assert background < 0.9, "nearly every pixel has the same colour"
    if os.environ.get("HPO_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
