"""The harder synthetic objectives of `search_quality.py`: noise, integer/categorical-heavy, high-dimensional.

Each has a known optimum, so simple regret is exact. Noise is a deterministic function of the
config (a hash seeds it), so every method sees the same noisy value for the same config.
"""
from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
from ray import tune

#: Standard deviation of the Gaussian noise added to Hartmann6 (its range is about 3.3).
H6_NOISE = 0.1

_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(c: dict) -> float:
    """Hartmann 6-D on the unit cube, minimum -3.32237."""
    x = np.array([c[f"x{i}"] for i in range(6)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def config_noise(c: dict, scale: float) -> float:
    """N(0, scale^2) noise fixed by the config's values (same config, same noise, for every method)."""
    seed = zlib.crc32(repr(sorted((k, round(float(v), 12)) for k, v in c.items())).encode())
    return float(np.random.RandomState(seed).normal(0.0, scale))


def noisy_hartmann6(c: dict) -> float:
    """Hartmann6 observed with N(0, H6_NOISE^2) noise; regret is read on the noiseless value."""
    return hartmann6(c) + config_noise(c, H6_NOISE)


# ---- integer / categorical heavy --------------------------------------------------------

MIXED_TARGETS = (3, 11, 17, 7)
_MIXED_CAT_COST = ({"a": 0.6, "b": 0.0, "c": 0.3, "d": 0.9},
                   {"a": 0.2, "b": 0.5, "c": 0.0, "d": 0.4},
                   {"a": 0.0, "b": 0.3, "c": 0.7, "d": 0.1})
MIXED_SPACE = {
    **{f"n{i}": tune.randint(0, 20) for i in range(4)},
    **{f"c{i}": tune.choice(["a", "b", "c", "d"]) for i in range(3)},
    "r": tune.uniform(0.0, 1.0),
}


def _mixed_cats(c0: str, c1: str, c2: str) -> float:
    """Categorical part: a cost per level plus an interaction (c1 and c2 equal costs 0.4, c0 == 'a' with c2 == 'd' saves 0.5)."""
    cost = _MIXED_CAT_COST[0][c0] + _MIXED_CAT_COST[1][c1] + _MIXED_CAT_COST[2][c2]
    return cost + 0.4 * (c1 == c2) - 0.5 * (c0 == "a" and c2 == "d")


def mixed(c: dict) -> float:
    """Four integers in 0..19 with a coupled quadratic bowl, three 4-level categoricals, one real."""
    d = [(c[f"n{i}"] - t) / 10.0 for i, t in enumerate(MIXED_TARGETS)]
    bowl = sum(v * v for v in d) + 0.5 * d[0] * d[1] - 0.4 * d[2] * d[3]
    return bowl + _mixed_cats(c["c0"], c["c1"], c["c2"]) + 0.5 * (c["r"] - 0.3) ** 2


MIXED_BEST = min(_mixed_cats(*cats) for cats in itertools.product("abcd", repeat=3))


# ---- high-dimensional, few effective dimensions -------------------------------------------

LEVY_DIMS, LEVY_EFFECTIVE = 20, 4
LEVY_SPACE = {f"x{i}": tune.uniform(-10.0, 10.0) for i in range(LEVY_DIMS)}


def levy20(c: dict) -> float:
    """Levy on x0..x3 of a 20-D space (the other 16 do nothing), minimum 0 at x0..x3 = 1."""
    w = 1 + (np.array([c[f"x{i}"] for i in range(LEVY_EFFECTIVE)]) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    middle = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + middle + tail)
