"""The dashboard at scale: a synthetic 5,000-trial x 100-iteration sweep folder in Ray's format, read by the
dashboard's incremental reader, served as JSON and rendered in headless Chromium.

Times: the first full read (once per server), a refresh with nothing new, a refresh after 50 trials each
appended a row, the JSON API (warm), and the page from navigation to a drawn leaderboard (target < 2 s).
Writes benchmarks/results/dashboard.json. With --screenshots STORAGE it instead serves STORAGE (e.g. the
quickstart's runs/ after `hpo run search_spaces/quickstart.yaml --set search.num_samples=12`) and saves the
overview and each sweep's page into benchmarks/results/dashboard_*.png.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/dashboard.py [--trials 5000] [--iterations 100]
    PYTHONPATH=$PWD .venv/bin/python benchmarks/dashboard.py --screenshots runs
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from devtools import Browser  # noqa: E402

from orchestrator.dashboard.live_sweep import LiveSweep  # noqa: E402
from orchestrator.dashboard.server import start_in_thread  # noqa: E402
from orchestrator.storage import resolve_storage  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "dashboard.json"
NAME, RUN_ID = "bench", "f00d1"
TARGET_S = 2.0


def build_sweep(root: Path, trials: int, iterations: int) -> Path:
    """A sweep folder as Ray writes it: spec.yaml, experiment state, one folder per trial with
    params.json and result.json (one JSON line per iteration)."""
    sweep = root / NAME
    sweep.mkdir(parents=True)
    (sweep / "spec.yaml").write_text(f"name: {NAME}\nmetric: score\nmode: max\n"
                                     f"search: {{method: random, num_samples: {trials}}}\n")
    rng = random.Random(0)
    start = time.time() - 3 * 3600
    trial_data = []
    for number in range(trials):
        trial_id = f"{RUN_ID}_{number:05d}"
        folder = sweep / f"{NAME}_{trial_id}"
        folder.mkdir()
        config = {"lr": 10 ** rng.uniform(-4, -1), "layers": rng.randint(1, 6),
                  "model": {"name": rng.choice(["mlp", "cnn", "rnn"])}}
        (folder / "params.json").write_text(json.dumps(config))
        ceiling, speed = rng.uniform(0.5, 0.95), rng.uniform(0.02, 0.2)
        began = start + number * 2.0
        lines = []
        for it in range(1, iterations + 1):
            score = ceiling * (1 - math.exp(-speed * it)) + rng.gauss(0, 0.005)
            lines.append(json.dumps({"score": score, "training_iteration": it, "trial_id": trial_id,
                                     "timestamp": began + it, "time_total_s": float(it), "done": it == iterations,
                                     "date": "2026-11-30_12-00-00", "pid": 1000, "hostname": "bench"}))
        (folder / "result.json").write_text("\n".join(lines) + "\n")
        trial_data.append([json.dumps({"trial_id": trial_id, "status": "TERMINATED", "config": config,
                                       "relative_logdir": folder.name}), "{}"])
    (sweep / "experiment_state-2026-11-30_12-00-00.json").write_text(json.dumps({"trial_data": trial_data}))
    return sweep


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    value = action()
    return time.perf_counter() - began, value


def append_rows(sweep: Path, count: int, iteration: int) -> None:
    for folder in sorted(sweep.glob(f"{NAME}_*"))[:count]:
        with open(folder / "result.json", "a") as handle:
            handle.write(json.dumps({"score": 0.5, "training_iteration": iteration, "timestamp": time.time()}) + "\n")


async def page_render_s(url: str, profile: Path, shot: Path) -> tuple[float, float, dict[str, int]]:
    """(seconds from navigation to the first drawn sweep page as the page measures it, the same seen from
    outside through DevTools, Chromium's own overhead included, and what of it was waiting on the server)."""
    async with Browser(profile) as page:
        await page.call("Page.navigate", url="about:blank")
        began = time.perf_counter()
        await page.call("Page.navigate", url=url)
        while not await page.evaluate("window.hpoFirstRenderMs !== undefined && "
                                      "document.querySelectorAll('#leaderboard tr').length > 0"):
            await asyncio.sleep(0.02)
        outside = time.perf_counter() - began
        inside = await page.evaluate("window.hpoFirstRenderMs") / 1000
        waits = await page.evaluate(
            "({html: performance.getEntriesByType('navigation')[0].responseEnd,"
            " api: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
            ".map(e => e.duration)[0]})")
        await page.screenshot(shot)
        return inside, outside, {"html_ms": round(waits["html"]), "first_api_call_ms": round(waits["api"] or 0)}


async def screenshots(storage: str, profile: Path) -> list[Path]:
    """The overview and every sweep's page of a dashboard over `storage`, as PNGs in benchmarks/results/."""
    url = start_in_thread(storage, port=0)
    overview = json.loads(urllib.request.urlopen(url + "api/sweeps", timeout=120).read())
    shots = [(url, RESULTS.parent / "dashboard_overview.png")]
    shots += [(f"{url}sweeps/{s['name']}", RESULTS.parent / f"dashboard_sweep_{s['name']}.png")
              for s in overview["sweeps"]]
    async with Browser(profile, window="1400,2200") as page:
        for address, path in shots:
            await page.call("Page.navigate", url=address)
            while not await page.evaluate("window.hpoFirstRenderMs !== undefined"):
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            await page.screenshot(path)
    return [path for _, path in shots]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--screenshots", metavar="STORAGE", help="only save screenshots of a dashboard over STORAGE")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hpo-dashboard-bench-"))
    if args.screenshots:
        print("\n".join(map(str, asyncio.run(screenshots(args.screenshots, work / "profile")))))
        return
    build_s, sweep = timed(lambda: build_sweep(work / "runs", args.trials, args.iterations))
    print(f"built {args.trials} x {args.iterations} in {build_s:.1f}s at {sweep}", flush=True)

    reader = LiveSweep(resolve_storage(str(sweep), create=False))
    first_s, _ = timed(reader.refresh)
    first_requests = reader.requests
    idle_s, _ = timed(reader.refresh)
    append_rows(sweep, 50, args.iterations + 1)
    grown_s, _ = timed(reader.refresh)
    requests = {"first": first_requests, "idle": 1, "after_50_grew": reader.requests - first_requests - 1}

    url = start_in_thread(str(work / "runs"), port=0)
    api_url = f"{url}api/sweeps/{NAME}?page=1&per_page=50"
    urllib.request.urlopen(api_url, timeout=600).read()   # the server's own first full read
    api = []
    for _ in range(5):
        seconds, body = timed(lambda: urllib.request.urlopen(api_url, timeout=60).read())
        api.append(seconds)
        time.sleep(1.1)   # past the refresh interval: every call re-checks the folder
    render, render_outside, waits = asyncio.run(
        page_render_s(f"{url}sweeps/{NAME}", work / "profile", work / "page.png"))
    figures = {
        "trials": args.trials, "iterations": args.iterations, "result_rows": args.trials * args.iterations,
        "first_read_s": round(first_s, 2), "idle_refresh_s": round(idle_s, 3),
        "refresh_after_50_grew_s": round(grown_s, 3),
        "reads": requests, "api_warm_s_median": round(sorted(api)[len(api) // 2], 3),
        "api_json_bytes": len(body), "page_render_s": round(render, 2),
        "page_render_seen_through_devtools_s": round(render_outside, 2), "page_render_waits": waits,
        "target_s": TARGET_S,
        "load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
        "within_target": render < TARGET_S and sorted(api)[len(api) // 2] < TARGET_S,
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
