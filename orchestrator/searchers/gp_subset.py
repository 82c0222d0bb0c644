"""Which observations an arm's GP is fitted on: all of them up to a cap, then the best plus a spread.

An exact GP costs O(n^3) to fit and O(n) per candidate to predict: past a few hundred
observations it dominates a suggest. Past `max_points` the GP sees the `max_points // 3` best
observations (where the optimum is refined) and a greedy farthest-point spread of the rest
(the shape of the landscape everywhere else), so suggest cost stops growing with the sweep.
"""
from __future__ import annotations

import numpy as np


def fit_subset(X: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the rows of (X, y) to fit on: all if there are at most `max_points`, else the best third
    of `max_points` plus the farthest-point spread of the others (X in the GP's normalised space)."""
    n = len(y)
    if max_points <= 0 or n <= max_points:
        return np.arange(n)
    order = np.argsort(y, kind="stable")
    chosen = list(order[: max(1, max_points // 3)])
    rest = order[len(chosen):]
    # distance of every remaining row to its nearest chosen row, updated as rows are added
    nearest = np.min(((X[rest, None, :] - X[None, chosen, :]) ** 2).sum(axis=2), axis=1)
    for _ in range(max_points - len(chosen)):
        pick = int(np.argmax(nearest))
        chosen.append(rest[pick])
        nearest = np.minimum(nearest, ((X[rest] - X[rest[pick]]) ** 2).sum(axis=1))
        nearest[pick] = -1.0
    return np.sort(np.asarray(chosen))
