"""log of expected improvement, computed without underflow (LogEI, Ament et al., NeurIPS 2023).

EI = std * h(z) with z = improvement / std and h(z) = phi(z) + z Phi(z). In float64 h(z)
underflows to 0 below z ~ -38, so far from the incumbent every candidate ties at EI = 0 and
the ranking is lost; log h(z) stays finite and ordered there (an asymptotic form with `erfcx`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfcx
from scipy.stats import norm

_C1 = 0.5 * np.log(2 * np.pi)
_C2 = 0.5 * np.log(np.pi / 2)
_TAIL = -1 / np.sqrt(np.finfo(float).eps)  # below this, log h(z) ~ -z^2/2 - C1 - 2 log|z|


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -log 2."""
    return np.where(x > -np.log(2), np.log(-np.expm1(np.minimum(x, -1e-300))), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z Phi(z)), finite for every finite z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    near = z > -1
    out[near] = np.log(norm.pdf(z[near]) + z[near] * norm.cdf(z[near]))
    mid = ~near & (z > _TAIL)
    zm = z[mid]
    out[mid] = -0.5 * zm**2 - _C1 + _log1mexp(np.log(erfcx(-zm / np.sqrt(2)) * np.abs(zm)) + _C2)
    tail = z <= _TAIL
    out[tail] = -0.5 * z[tail] ** 2 - _C1 - 2 * np.log(np.abs(z[tail]))
    return out


def log_expected_improvement(improve: np.ndarray, std: np.ndarray) -> np.ndarray:
    """log EI for improvement `improve` (y_opt - xi - mean) and predicted `std`; where std is 0, the log of
    the certain improvement (-inf where there is none)."""
    improve, std = np.asarray(improve, dtype=float), np.asarray(std, dtype=float)
    positive = std > 0
    safe_std = np.where(positive, std, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(positive, log_h(improve / safe_std) + np.log(safe_std), np.log(np.maximum(improve, 0.0)))
