"""The leaderboard: trials ranked by the best value of the metric they reported."""
from __future__ import annotations

import pandas as pd

from orchestrator.report.sweep_data import SweepData

LEADERBOARD_SIZE = 10


def leaderboard(data: SweepData, top: int = LEADERBOARD_SIZE) -> pd.DataFrame:
    """The `top` trials by best metric value (ties by trial number), with their varying hyperparameters.

    Columns: rank, trial_id, best_value, best_iteration, iterations, outcome, then one per hyperparameter.
    Trials that never reported the metric are left out.
    """
    scored = data.trials[data.trials["best_value"].notna()]
    ranked = scored.sort_values(["best_value", "number"], ascending=[data.mode == "min", True]).head(top)
    board = ranked[["trial_id", "best_value", "best_iteration", "iterations", "outcome"]].copy()
    board.insert(0, "rank", range(1, len(board) + 1))
    params = data.hyperparameters()
    if params:
        board = board.join(data.configs[params], how="left")
    return board.reset_index(drop=True)
