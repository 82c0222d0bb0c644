"""`report.html`: one self-contained page (inline CSS, PNGs as base64 data URIs, no network fetches)
with the sweep's summary, the leaderboard of the top configs, the `hpo best` command and the plots."""
from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import pandas as pd

from orchestrator.redaction import redact
from orchestrator.report import outcomes
from orchestrator.report.plots import OUTCOME_COLORS, Plot
from orchestrator.report.configs import flatten
from orchestrator.report.sweep_data import FINISHED, INTERRUPTED, SweepData

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 10px; }
.sub { color: #555; margin-bottom: 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
.card .k { font-size: 12px; color: #666; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; margin-top: 4px; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; }
.finished { background: #2ca02c; } .running { background: #1f77b4; } .interrupted { background: #ff7f0e; }
.failed { background: #d62728; }
pre { background: #1d1d1f; color: #f5f5f7; padding: 12px 14px; border-radius: 6px; overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 5px 8px; text-align: left; white-space: nowrap; }
th { background: #f0f0f3; } tr.top td { background: #eef7ee; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 5px; }
figure { background: #fff; border: 1px solid #ddd; border-radius: 8px; margin: 0 0 18px; padding: 12px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 13px; margin-top: 6px; }
.scroll { overflow-x: auto; }
"""


def fmt(value: Any) -> str:
    """A table cell: floats to 5 significant digits, missing values as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(fmt(value))


def data_uri(png: bytes) -> str:
    """An embedded PNG, so the page needs no other file and no network."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _table(columns: Iterable[str], rows: Iterable[Iterable[Any]], *, first_row_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{first_row_class}"' if i == 0 and first_row_class else ""
        cells = "".join(f'<td class="num">{_e(v)}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool)
                        else f"<td>{_e(v)}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _dot(outcome: str) -> str:
    return f'<span class="dot" style="background:{OUTCOME_COLORS.get(outcome, "#777")}"></span>'


def _cards(data: SweepData) -> str:
    counts = data.counts()
    total = len(data.trials)
    expected = data.expected_trials
    best = data.trials["best_value"].dropna()
    best_value = (best.max() if data.mode == "max" else best.min()) if len(best) else None
    if data.best is not None and data.best.metric_value is not None:
        best_value = data.best.metric_value
    cards = [("status", f'<span class="status {data.status}">{data.status}</span>'),
             ("trials", f"{total}" + (f" / {expected}" if expected and expected > total else "")),
             (f"best {data.metric} ({data.mode})", _e(best_value))]
    cards += [(name, _dot(name) + str(counts[name])) for name in outcomes.REPORTED if counts[name]]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{v}</div></div>'
        for k, v in cards) + "</div>"


def _best_config(data: SweepData, board: pd.DataFrame) -> str:
    if data.best is not None:
        config = flatten(redact(data.best.config))
        where = (f"trial {data.best.trial_id}, iteration {data.best.iteration}, "
                 f"published {data.best.created or ''}")
    elif len(board):
        trial_id = board.iloc[0]["trial_id"]
        config = data.configs.loc[trial_id].dropna().to_dict()
        where = f"trial {trial_id} so far (the sweep has not finished; nothing is published yet)"
    else:
        return "<p>No trial has reported the metric yet.</p>"
    rows = sorted(config.items())
    return f"<p>{html.escape(where)}</p>" + _table(["parameter", "value"], rows)


def _leaderboard(data: SweepData, board: pd.DataFrame) -> str:
    if board.empty:
        return "<p>No trial has reported the metric yet.</p>"
    fixed = ["rank", "trial_id", "best_value", "best_iteration", "iterations", "outcome"]
    params = [c for c in board.columns if c not in fixed]
    headers = ["#", "trial", f"best {data.metric}", "at iteration", "iterations", "outcome", *params]
    rows = [[r[c] for c in fixed + params] for r in board.to_dict("records")]
    return _table(headers, rows, first_row_class="top")


def _failures(data: SweepData) -> str:
    failed = data.trials[data.trials["outcome"] == outcomes.FAILED]
    if failed.empty:
        return ""
    rows = [[t, e or "(no error.txt)"] for t, e in zip(failed["trial_id"], failed["error"])]
    return "<h2>Failed trials</h2>" + _table(["trial", "last line of its error"], rows)


def best_command(data: SweepData) -> str:
    """The exact command that prints the winner's config (naming a non-default S3 endpoint)."""
    endpoint = data.location.options.get("endpoint_url") if data.location.is_s3 else None
    return f"hpo best {data.uri}" + (f" --endpoint-url {endpoint}" if endpoint else "")


def render_html(data: SweepData, board: pd.DataFrame, plots: list[Plot], images: Mapping[str, bytes],
                generated: datetime | None = None) -> str:
    """The whole page as a string; `images` maps each plot's file name to its PNG bytes."""
    generated = generated or datetime.now(timezone.utc)
    command = best_command(data)
    note = {FINISHED: "",
            INTERRUPTED: "<p>The sweep ended without publishing its best (was it stopped?): "
                         "<code>hpo run SPEC --resume</code> continues it; this command works once it has.</p>",
            }.get(data.status, "<p>The sweep has not published its best yet; this command works once it has "
                               "finished.</p>")
    search, stopping = data.spec.get("search") or {}, data.spec.get("early_stopping") or {}
    subtitle = (f"{data.uri} · {search.get('method', '?')} search · early stopping "
                f"{stopping.get('method', 'none')} · trainable {data.spec.get('trainable', '?')} · "
                f"report generated {generated:%Y-%m-%d %H:%M} UTC")
    figures = "".join(
        f'<figure><img alt="{html.escape(p.title)}" src="{data_uri(images[p.filename])}">'
        f"<figcaption><b>{html.escape(p.title)}.</b> {html.escape(p.caption)}</figcaption></figure>"
        for p in plots)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>hpo report: {html.escape(data.name)}</title><style>{STYLE}</style></head>
<body>
<h1>Sweep {html.escape(data.name)}</h1>
<div class="sub">{html.escape(subtitle)}</div>
{_cards(data)}
<h2>Reuse the winner</h2>
<pre><code>{html.escape(command)}</code></pre>{note}
<h2>Best configuration</h2>
{_best_config(data, board)}
<h2>Leaderboard (top {len(board)})</h2>
{_leaderboard(data, board)}
{_failures(data)}
<h2>Pictures</h2>
{figures or "<p>Nothing to draw yet: no trial has reported results.</p>"}
</body></html>
"""
