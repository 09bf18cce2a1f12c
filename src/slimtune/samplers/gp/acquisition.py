"""Acquisition functions on GP posteriors (all in the *minimisation* convention).

* ``log_ei``: log expected improvement, numerically stable far into the tail (Ament et
  al. 2023, "Unexpected improvements to expected improvement").
* ``ucb``: the optimistic bound ``-(mean - sqrt(beta) * std)`` (larger is better).
* ``log_ehvi``: log expected hypervolume improvement for independent GPs per objective,
  exact, through a box decomposition of the non-dominated region: within a box
  ``[l, u)`` the expected improvement factorises over objectives into
  ``sigma (h(z_u) - h(z_l))`` with ``h(z) = phi(z) + z Phi(z)``.
* ``log_pof``: log probability that every constraint is ``<= 0``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

from slimtune.multiobjective import is_pareto_front

__all__ = ["log_h", "log_ei", "ucb", "log_pof", "log_ehvi", "nondominated_boxes"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF_PI = np.sqrt(np.pi / 2)


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, accurate for very negative ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(np.exp(-0.5 * zb**2 - _LOG_SQRT_2PI) + zb * np.exp(log_ndtr(zb)))
    zs = np.maximum(z[~big], -1e6)
    # h(z) = phi(z) (1 + z Phi(z)/phi(z)),  Phi/phi = sqrt(pi/2) erfcx(-z/sqrt2).
    ratio = _SQRT_HALF_PI * erfcx(-zs / np.sqrt(2.0))
    out[~big] = -0.5 * zs**2 - _LOG_SQRT_2PI + np.log(np.maximum(1.0 + zs * ratio, 1e-300))
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Log expected improvement below ``best``."""
    sd = np.sqrt(var)
    return np.log(sd) + log_h((best - mean) / sd)


def ucb(mean: np.ndarray, var: np.ndarray, beta: float) -> np.ndarray:
    """Negated lower confidence bound ``-(mean - sqrt(beta) sd)``."""
    return -(mean - np.sqrt(beta * var))


def log_pof(means: list[np.ndarray], variances: list[np.ndarray]) -> np.ndarray:
    """Log probability that all constraints (independent GPs) are ``<= 0``."""
    out = np.zeros_like(means[0])
    for m, v in zip(means, variances):
        out += log_ndtr(-m / np.sqrt(v))
    return out


def nondominated_boxes(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``[lower, upper)`` covering the region below ``ref`` not dominated by
    ``front`` (minimisation). Two objectives: ``k + 1`` boxes; more: the grid cells of the
    front's coordinates whose lower corner no front point weakly dominates.
    """
    front = np.asarray(front, dtype=float)
    front = front[np.all(front < ref, axis=1)]
    m = len(ref)
    if len(front) == 0:
        return np.full((1, m), -np.inf), ref[None, :].copy()
    front = np.unique(front[is_pareto_front(front)], axis=0)
    if m == 2:
        s = front[np.argsort(front[:, 0])]
        x = np.concatenate([[-np.inf], s[:, 0], [ref[0]]])
        top = np.concatenate([[ref[1]], s[:, 1]])
        lower = np.stack([x[:-1], np.full(len(top), -np.inf)], axis=1)
        upper = np.stack([x[1:], top], axis=1)
        keep = upper[:, 0] > lower[:, 0]
        return lower[keep], upper[keep]
    grids = [np.unique(np.concatenate([[-np.inf], front[:, j], [ref[j]]])) for j in range(m)]
    lows = np.stack(np.meshgrid(*[g[:-1] for g in grids], indexing="ij"), -1).reshape(-1, m)
    ups = np.stack(np.meshgrid(*[g[1:] for g in grids], indexing="ij"), -1).reshape(-1, m)
    dominated = np.zeros(len(lows), dtype=bool)
    for p in front:  # few front points; each test is vectorised over all cells
        dominated |= np.all(lows >= p, axis=1)
    return lows[~dominated], ups[~dominated]


def log_ehvi(
    means: np.ndarray, variances: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Log EHVI of points with independent Gaussian objectives ``means``/``variances``
    (B, m) over the boxes ``lower``/``upper`` (C, m)."""
    sd = np.sqrt(variances)
    B, m = means.shape
    C = len(lower)
    lhu = np.empty((B, C, m))
    lhl = np.empty((B, C, m))
    for j in range(m):  # log_h only on the few distinct box coordinates of each objective
        for bound, out in ((upper[:, j], lhu), (lower[:, j], lhl)):
            vals, inv = np.unique(bound, return_inverse=True)
            fin = np.isfinite(vals)
            lv = np.full((B, len(vals)), -np.inf)
            if fin.any():
                lv[:, fin] = log_h((vals[fin][None, :] - means[:, j : j + 1]) / sd[:, j : j + 1])
            out[:, :, j] = lv[:, inv.ravel()]
    sd = sd[:, None, :]
    # log(h(zu) - h(zl)) = lhu + log1p(-exp(lhl - lhu)); h is increasing so lhl <= lhu.
    diff = np.minimum(lhl - lhu, -1e-12)
    term = lhu + np.log(-np.expm1(diff)) + np.log(sd)
    per_box = term.sum(axis=2)  # (B, C)
    mx = per_box.max(axis=1, keepdims=True)
    return (mx + np.log(np.exp(per_box - mx).sum(axis=1, keepdims=True)))[:, 0]
