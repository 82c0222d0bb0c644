"""Greedy ensemble selection with replacement (Caruana et al. 2004, "Ensemble selection from libraries of models"):
starting from nothing, add the candidate whose addition scores best on the validation rows, again and again (a
candidate may be added many times), and keep the round that scored best; a candidate's weight is the share of the
additions it got. Chosen on validation rows, so the test split stays unseen."""
from __future__ import annotations

from typing import Sequence

import numpy as np

ROUNDS = 25   # additions tried; weights are multiples of 1/rounds of the best round


def greedy_weights(outputs: Sequence[np.ndarray], y_val: np.ndarray, task: str, rounds: int = ROUNDS) -> list[float]:
    """Each candidate's weight (summing to 1; 0 for those never added) from its validation `outputs` (class
    probabilities, or values for a regression). Ties go to the candidate listed first (the better by the sweep)."""
    counts = np.zeros(len(outputs))
    total = np.zeros_like(outputs[0], dtype=float)
    best_score, best_counts = None, counts.copy()
    for added in range(1, rounds + 1):
        scores = [_validation_score(task, y_val, (total + output) / added) for output in outputs]
        pick = max(range(len(outputs)), key=lambda i: (scores[i], -i))
        counts[pick] += 1
        total += outputs[pick]
        if best_score is None or scores[pick] > best_score:
            best_score, best_counts = scores[pick], counts.copy()
    return [float(w) for w in best_counts / best_counts.sum()]


def _validation_score(task: str, y_val: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Higher is better: (accuracy, mean log-probability of the true class) for classifiers, the log-probability
    breaking accuracy's many ties on a few hundred rows; (-mean squared error, 0) for regressors."""
    if task == "regression":
        return -float(np.mean((y_val - predicted) ** 2)), 0.0
    rows = np.arange(len(y_val))
    accuracy = float(np.mean(predicted.argmax(axis=1) == y_val))
    return accuracy, float(np.mean(np.log(np.clip(predicted[rows, np.asarray(y_val, dtype=int)], 1e-12, None))))
