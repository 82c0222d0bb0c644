"""`hpo report`: read a sweep, draw its pictures, write them and `report.html` into a local folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from orchestrator.errors import UserInputError
from orchestrator.report.html import render_html
from orchestrator.report.leaderboard import leaderboard
from orchestrator.report.plots import Plot, draw_all
from orchestrator.report.sweep_data import SweepData, load_sweep

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class Report:
    """What `write_report` wrote: the page, the PNGs beside it, and the data they came from."""

    html_path: Path
    plots: list[Plot]
    leaderboard: pd.DataFrame
    data: SweepData

    @property
    def png_paths(self) -> list[Path]:
        return [self.html_path.parent / p.filename for p in self.plots]


def write_report(sweep_uri: str, out_dir: str | Path, storage_options: Mapping[str, Any] | None = None
                 ) -> Report:
    """Write `report.html` (self-contained) and one PNG per picture into `out_dir` (created if needed)."""
    data = load_sweep(sweep_uri, storage_options)
    out = Path(out_dir).expanduser().resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create report folder {out}: {exc.strerror or exc}") from None
    plots = draw_all(data, out)
    board = leaderboard(data)
    images = {p.filename: (out / p.filename).read_bytes() for p in plots}
    html_path = out / REPORT_FILE
    html_path.write_text(render_html(data, board, plots, images), encoding="utf-8")
    return Report(html_path=html_path, plots=plots, leaderboard=board, data=data)
