"""The report's pictures, drawn with matplotlib's Agg renderer (no display, no pyplot global state).

Each `plot_*` function draws one PNG from a `SweepData` into a folder and returns a `Plot` naming it,
or None when the sweep has nothing to show for it (no results yet, no conditional branches...).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib import cm, colormaps, colors, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from orchestrator.report import outcomes
from orchestrator.report.sweep_data import ITERATION, SweepData

DPI = 100
WIDTH_IN = 11.0
OUTCOME_COLORS = {outcomes.PENDING: "#9e9e9e", outcomes.RUNNING: "#1f77b4", outcomes.DONE: "#2ca02c",
                  outcomes.STOPPED: "#ff7f0e", outcomes.FAILED: "#d62728",
                  outcomes.INTERRUPTED: "#8c564b"}
BEST_COLOR = "#111111"
LOG_SPAN = 100.0   # a positive numeric parameter spanning this factor or more gets a log axis
MAX_CATEGORIES = 20


@dataclass(frozen=True)
class Plot:
    """One picture of the report: its file name in the output folder, a title and what it shows."""

    filename: str
    title: str
    caption: str


def moving_average(values: pd.Series, window: int) -> pd.Series:
    """Trailing moving average that starts at the first point (shorter windows at the start)."""
    return values.rolling(window=max(1, window), min_periods=1).mean()


def smoothing_window(longest: int) -> int:
    """A window that smooths noise but keeps the shape: a fifth of the longest curve, 2 to 10 points."""
    return int(min(10, max(2, round(longest / 5))))


def branch_palette(data: SweepData) -> dict[str, str]:
    """Algorithm branch name -> its colour, in name order (empty when the space has no branches)."""
    key = data.branch_key()
    if key is None:
        return {}
    names = sorted(data.configs[key].dropna().astype(str).unique())
    return {name: colors.to_hex(colormaps["tab10"](i % 10)) for i, name in enumerate(names)}


def branch_colors(data: SweepData) -> dict[str, str]:
    """trial id -> colour of its algorithm branch (one colour for all when the space has no branches)."""
    key, palette = data.branch_key(), branch_palette(data)
    if key is None:
        return {t: "#1f77b4" for t in data.trials.index}
    branch = data.configs[key].astype(str)
    return {t: palette.get(branch.get(t, ""), "#7f7f7f") for t in data.trials.index}


def _branch_legend(ax: Axes, data: SweepData) -> None:
    palette = branch_palette(data)
    if not palette:
        return
    handles = [Line2D([], [], color=c, lw=2, label=n) for n, c in palette.items()]
    handles.append(Line2D([], [], color=BEST_COLOR, lw=2.5, label="best trial"))
    ax.legend(handles=handles, title=data.branch_key(), fontsize=8, title_fontsize=8, loc="best")


def _figure(height_in: float, ncols: int = 1, nrows: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def _save(fig: Figure, out_dir: Path, plot: Plot) -> Plot:
    fig.savefig(out_dir / plot.filename, dpi=DPI, format="png")
    return plot


def _best_trial(data: SweepData) -> str | None:
    scored = data.trials["best_value"].dropna()
    if scored.empty:
        return None
    return str(scored.idxmax() if data.mode == "max" else scored.idxmin())


def _curves(data: SweepData) -> dict[str, pd.DataFrame]:
    rows = data.results.dropna(subset=[data.metric]) if data.metric in data.results else data.results.iloc[0:0]
    return {t: g.sort_values(ITERATION) for t, g in rows.groupby("trial_id")}


def plot_learning_curves(data: SweepData, out_dir: Path) -> Plot | None:
    """Every trial's metric against iteration on one plot: raw on the left, moving average on the right."""
    curves = _curves(data)
    if not curves:
        return None
    longest = max(int(c[ITERATION].max()) for c in curves.values())
    window = smoothing_window(longest)
    colour, best = branch_colors(data), _best_trial(data)
    fig, (raw, smooth) = _figure(4.6, ncols=2)
    for trial_id, curve in curves.items():
        is_best = trial_id == best
        style = dict(color=BEST_COLOR if is_best else colour.get(trial_id, "#1f77b4"),
                     lw=2.5 if is_best else 1.0, alpha=1.0 if is_best else 0.55, zorder=3 if is_best else 2,
                     marker="o" if len(curve) == 1 else None, ms=3)
        raw.plot(curve[ITERATION], curve[data.metric], **style)
        smooth.plot(curve[ITERATION], moving_average(curve[data.metric], window), **style)
    raw.set_title(f"raw {data.metric}, {len(curves)} trials")
    smooth.set_title(f"moving average over {window} iterations")
    for ax in (raw, smooth):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("iteration")
        ax.set_ylabel(data.metric)
        ax.grid(alpha=0.3)
    _branch_legend(smooth, data)
    return _save(fig, out_dir, Plot("learning_curves.png", "Learning curves",
                                    f"Every trial's {data.metric} per iteration; the best trial in black."))


def plot_best_so_far(data: SweepData, out_dir: Path) -> Plot | None:
    """Each trial's best value by trial number, and the best value found so far as a step line."""
    trials = data.trials.dropna(subset=["best_value"]).sort_values("number")
    if trials.empty:
        return None
    values = trials["best_value"].astype(float)
    running = values.cummax() if data.mode == "max" else values.cummin()
    fig, (ax,) = _figure(4.0)
    for name, group in trials.groupby("outcome"):
        ax.scatter(group["number"], group["best_value"], s=22, color=OUTCOME_COLORS.get(name, "#777"),
                   label=f"trial ({name})", zorder=3)
    ax.step(trials["number"], running, where="post", color=BEST_COLOR, lw=2, label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number (order of creation)")
    ax.set_ylabel(f"best {data.metric} of the trial")
    ax.set_title(f"best {data.metric} so far ({data.mode})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, out_dir, Plot("best_so_far.png", "Best so far",
                                    "How fast the search found good configurations."))


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dropna().infer_objects()) and not pd.api.types.is_bool_dtype(values)


def _log_scale(values: pd.Series) -> bool:
    numbers = values.dropna().astype(float)
    return bool(len(numbers)) and numbers.min() > 0 and numbers.max() / numbers.min() >= LOG_SPAN


def _categories(values: pd.Series) -> list[str]:
    return sorted(values.dropna().astype(str).unique())[:MAX_CATEGORIES]


def plot_metric_vs_params(data: SweepData, out_dir: Path) -> Plot | None:
    """The metric against each hyperparameter, one panel each (log axis for wide positive ranges)."""
    params = [p for p in data.hyperparameters() if p != data.branch_key()]
    scored = data.trials.dropna(subset=["best_value"])
    if not params or scored.empty:
        return None
    ncols = min(3, len(params))
    nrows = math.ceil(len(params) / ncols)
    fig, axes = _figure(3.0 * nrows, ncols=ncols, nrows=nrows)
    colour = branch_colors(data)
    rng = np.random.default_rng(0)
    for ax, param in zip(axes, params):
        values = data.configs.loc[scored.index, param]
        keep = values.notna()
        x, y = values[keep], scored.loc[keep, "best_value"]
        point_colors = [colour.get(t, "#1f77b4") for t in x.index]
        if _is_numeric(values):
            ax.scatter(x.astype(float), y, s=20, c=point_colors, alpha=0.8)
            if _log_scale(x):
                ax.set_xscale("log")
        else:
            names = _categories(x)
            position = {n: i for i, n in enumerate(names)}
            xs = [position.get(str(v), np.nan) + rng.uniform(-0.15, 0.15) for v in x]
            ax.scatter(xs, y, s=20, c=point_colors, alpha=0.8)
            ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
        ax.set_xlabel(param)
        ax.set_ylabel(data.metric)
        ax.grid(alpha=0.3)
    for ax in axes[len(params):]:
        ax.set_visible(False)
    return _save(fig, out_dir, Plot("metric_vs_params.png", "Metric against each hyperparameter",
                                    f"Each trial's best {data.metric} against its value of each parameter "
                                    f"(only trials of the branch that has the parameter)."))


def _axis_scale(values: pd.Series) -> tuple[Callable[[object], float], list[tuple[float, str]]]:
    """Maps a parameter's values onto [0, 1] for parallel coordinates; returns the map and tick labels."""
    if _is_numeric(values):
        numbers = values.dropna().astype(float)
        log = _log_scale(numbers)
        f = (lambda v: math.log10(v)) if log else float
        lo, hi = (f(numbers.min()), f(numbers.max())) if len(numbers) else (0.0, 1.0)
        span = (hi - lo) or 1.0
        ticks = [(0.0, f"{numbers.min():.3g}"), (1.0, f"{numbers.max():.3g}")] if len(numbers) else []
        return (lambda v: (f(float(v)) - lo) / span if pd.notna(v) else np.nan), ticks
    names = _categories(values)
    step = 1.0 / max(1, len(names) - 1)
    position = {n: (i * step if len(names) > 1 else 0.5) for i, n in enumerate(names)}
    return (lambda v: position.get(str(v), np.nan) if pd.notna(v) else np.nan), [(p, n) for n, p in position.items()]


def plot_parallel_coordinates(data: SweepData, out_dir: Path) -> Plot | None:
    """One line per trial across every hyperparameter axis to the metric, coloured by the metric."""
    params = data.hyperparameters()
    scored = data.trials.dropna(subset=["best_value"])
    if not params or scored.empty:
        return None
    axes_names = [*params, data.metric]
    columns = [data.configs.loc[scored.index, p] for p in params] + [scored["best_value"]]
    scales = [_axis_scale(c) for c in columns]
    matrix = np.array([[scale(v) for v in column] for column, (scale, _) in zip(columns, scales)]).T
    values = scored["best_value"].astype(float)
    # the colour range leaves out the worst tenth, so that a few bad trials do not wash out the good ones
    lo, hi = (values.quantile(0.1), values.max()) if data.mode == "max" else (values.min(), values.quantile(0.9))
    norm = colors.Normalize(lo, hi if hi > lo else lo + 1, clip=True)
    cmap = colormaps["viridis" if data.mode == "max" else "viridis_r"]
    fig, (ax,) = _figure(4.8)
    order = np.argsort(values.to_numpy() * (1 if data.mode == "max" else -1))  # best drawn last, on top
    xs = np.arange(len(axes_names))
    for i in order:
        ax.plot(xs, matrix[i], color=cmap(norm(values.iloc[i])), lw=1.2, alpha=0.8)
    for x, (_, ticks) in zip(xs, scales):
        ax.axvline(x, color="#444", lw=0.8)
        for y, label in ticks:
            ax.text(x + 0.03, y, label, fontsize=7, va="center", color="#333")
    ax.set_xticks(xs, axes_names, rotation=15, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(axes_names) - 0.6)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=data.metric)
    return _save(fig, out_dir, Plot("parallel_coordinates.png", "Parallel coordinates",
                                    "Each line is a trial; gaps are parameters its branch does not have."))


def plot_branches(data: SweepData, out_dir: Path) -> Plot | None:
    """One box per algorithm branch of the conditional choice, with each trial as a point."""
    key = data.branch_key()
    scored = data.trials.dropna(subset=["best_value"])
    if key is None or scored.empty:
        return None
    branch = data.configs.loc[scored.index, key].astype(str)
    palette = branch_palette(data)
    names = [n for n in palette if n in set(branch)]
    groups = [scored.loc[branch[branch == n].index, "best_value"].astype(float) for n in names]
    fig, (ax,) = _figure(4.0)
    ax.boxplot(groups, tick_labels=names, showfliers=False)
    rng = np.random.default_rng(0)
    for i, (name, group) in enumerate(zip(names, groups)):
        ax.scatter(i + 1 + rng.uniform(-0.12, 0.12, len(group)), group, s=16, alpha=0.7,
                   color=palette[name], zorder=3)
    ax.set_xlabel(key)
    ax.set_ylabel(f"best {data.metric} of the trial")
    ax.set_title(f"{data.metric} by {key} ({', '.join(f'{n}: {len(g)}' for n, g in zip(names, groups))} trials)")
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out_dir, Plot("branches.png", "Algorithms compared",
                                    f"Distribution of the best {data.metric} per branch of {key}."))


def plot_early_stopping(data: SweepData, out_dir: Path) -> Plot | None:
    """One bar per trial, as long as the iterations it ran, coloured by how it ended."""
    trials = data.trials.sort_values("number")
    if trials.empty:
        return None
    height = min(12.0, max(3.0, 0.16 * len(trials) + 1.2))
    fig, (ax,) = _figure(height)
    bar_colors = [OUTCOME_COLORS.get(o, "#777") for o in trials["outcome"]]
    ax.barh(trials["number"], trials["iterations"], color=bar_colors, height=0.75)
    ax.invert_yaxis()
    if data.max_t:
        ax.axvline(data.max_t, color="#444", ls="--", lw=1)
        ax.text(data.max_t, ax.get_ylim()[1], f" max_t={data.max_t}", fontsize=8, va="bottom")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iterations run")
    ax.set_ylabel("trial number")
    counts = data.counts()
    ax.legend(handles=[Line2D([], [], color=OUTCOME_COLORS[o], lw=6, label=f"{o} ({counts[o]})")
                       for o in outcomes.REPORTED if counts[o]],
              fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("when each trial stopped")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, out_dir, Plot("early_stopping.png", "Early stopping",
                                    "How many iterations each trial ran, and whether the scheduler cut it short."))


PLOTTERS: tuple[Callable[[SweepData, Path], Plot | None], ...] = (
    plot_learning_curves, plot_best_so_far, plot_early_stopping, plot_branches, plot_metric_vs_params,
    plot_parallel_coordinates,
)


def draw_all(data: SweepData, out_dir: Path) -> list[Plot]:
    """Every picture that applies to this sweep, written into `out_dir`. Labels are drawn as plain text: a value or
    metric name such as `$DATA_ROOT/x_$V` is not read as mathtext (which would fail or garble it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with rc_context({"text.parse_math": False}):
        return [plot for plot in (draw(data, out_dir) for draw in PLOTTERS) if plot is not None]
