"""Acquisition optimisation over a mixed space, in the encoder's unit coordinates.

1. Score quasi-random (scrambled Sobol) candidates plus local perturbations of the best
   observed configurations; keep the best few as starts.
2. Multi-start L-BFGS-B on the continuous dimensions (and on integer / stepped dimensions
   with many levels, snapped to their grid afterwards). All starts are optimised in one
   batched problem (the objective is their sum, so the gradient separates); gradients are
   central differences evaluated for every start and coordinate in one vectorised call.
3. Discrete coordinate search: every categorical and small discrete dimension tries all of
   its values, large discrete dimensions their grid neighbours, for all starts at once
   (two sweeps). When the categorical choice sets are small in product, the best point
   also tries every combination exhaustively.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from slimtune.space import SpaceEncoder

__all__ = ["optimize_acquisition"]

_MAX_EXHAUSTIVE_LEVELS = 32
_MAX_PRODUCT = 256


def _levels(enc: SpaceEncoder) -> np.ndarray:
    """Number of values of each dimension (0 for continuous)."""
    out = np.zeros(enc.dim, dtype=np.int64)
    for j in range(enc.dim):
        if enc.is_categorical[j]:
            out[j] = enc.n_choices[j]
        elif enc.is_discrete[j]:
            out[j] = int(round((enc.grid_high[j] - enc.grid_low[j]) / enc.step[j])) + 1
    return out


def snap(enc: SpaceEncoder, U: np.ndarray) -> np.ndarray:
    """Move rows onto the exact grid (cell centres for discrete, indices for categoricals)."""
    return enc.to_unit(enc.from_unit(U))


def random_points(enc: SpaceEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` scrambled-Sobol points of the space, snapped to the grid."""
    d = enc.dim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S = qmc.Sobol(d, scramble=True, seed=rng).random(n)
    U = S.copy()
    cat = enc.is_categorical
    if cat.any():
        U[:, cat] = np.minimum(np.floor(S[:, cat] * enc.n_choices[cat]), enc.n_choices[cat] - 1)
    return snap(enc, U)


def local_points(
    enc: SpaceEncoder, centers: np.ndarray, n_per: int, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian perturbations of ``centers`` (two scales); categoricals resampled w.p. 1/d."""
    if len(centers) == 0:
        return np.zeros((0, enc.dim))
    d = enc.dim
    U = np.repeat(centers, n_per, axis=0)
    scale = np.where(np.arange(len(U)) % 2 == 0, 0.02, 0.12)[:, None]
    num = enc.numeric
    U[:, num] = np.clip(U[:, num] + rng.normal(size=(len(U), int(num.sum()))) * scale, 0, 1)
    cat = enc.is_categorical
    if cat.any():
        flip = rng.random((len(U), int(cat.sum()))) < 1.0 / d
        new = np.floor(rng.random((len(U), int(cat.sum()))) * enc.n_choices[cat])
        U[:, cat] = np.where(flip, new, U[:, cat])
    return snap(enc, U)


def _lbfgs(
    score: Callable[[np.ndarray], np.ndarray], U0: np.ndarray, cont: np.ndarray, maxiter: int
) -> np.ndarray:
    k, dc = len(U0), int(cont.sum())
    h = 1e-4

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        Xc = x.reshape(k, dc)
        plus = np.repeat(Xc[:, None, :], dc, axis=1)  # (k, dc, dc)
        minus = plus.copy()
        eye = np.eye(dc, dtype=bool)[None]
        plus = np.where(eye, np.minimum(plus + h, 1.0), plus)
        minus = np.where(eye, np.maximum(minus - h, 0.0), minus)
        batch = np.concatenate([Xc[:, None, :], plus, minus], axis=1).reshape(-1, dc)
        U = np.repeat(U0, 2 * dc + 1, axis=0)
        U[:, cont] = batch
        s = score(U).reshape(k, 2 * dc + 1)
        s = np.where(np.isfinite(s), s, -1e10)
        step = (np.diagonal(plus, axis1=1, axis2=2) - np.diagonal(minus, axis1=1, axis2=2))
        grad = (s[:, 1 : dc + 1] - s[:, dc + 1 :]) / np.maximum(step, 1e-12)
        return -float(s[:, 0].sum()), -grad.ravel()

    x0 = U0[:, cont].ravel()
    res = scipy.optimize.minimize(
        fg, x0, jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(x0),
        options={"maxiter": maxiter},
    )
    U = U0.copy()
    U[:, cont] = res.x.reshape(k, dc)
    return U


def _alternatives(enc: SpaceEncoder, levels: np.ndarray, j: int, V: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Internal values to try for dimension ``j`` at each row of ``V`` -> (k, L)."""
    k = len(V)
    if enc.is_categorical[j]:
        n = int(enc.n_choices[j])
        alts = np.arange(n) if n <= _MAX_EXHAUSTIVE_LEVELS else rng.choice(n, 32, replace=False)
        return np.tile(alts.astype(float), (k, 1))
    lo, hi, step = enc.grid_low[j], enc.grid_high[j], enc.step[j]
    if levels[j] <= _MAX_EXHAUSTIVE_LEVELS:
        return np.tile(lo + step * np.arange(levels[j]), (k, 1))
    offs = np.array([-8, -4, -2, -1, 1, 2, 4, 8], dtype=float)
    if enc.is_log[j]:
        # Neighbours on the log scale: multiplicative moves, at least one step.
        mult = np.exp(np.log(1.15) * offs)
        raw = V[:, j : j + 1] * mult[None, :]
        raw = np.where(offs > 0, np.maximum(raw, V[:, j : j + 1] + step),
                       np.minimum(raw, V[:, j : j + 1] - step))
    else:
        raw = V[:, j : j + 1] + offs[None, :] * step
    raw = lo + np.round((raw - lo) / step) * step
    return np.clip(raw, lo, hi)


def _sweep(score: Callable[[np.ndarray], np.ndarray], enc: SpaceEncoder, U: np.ndarray,
           s: np.ndarray, levels: np.ndarray, rng: np.random.Generator,
           ) -> tuple[np.ndarray, np.ndarray]:
    dims = np.flatnonzero(enc.is_categorical | enc.is_discrete)
    for _ in range(2):
        improved = False
        for j in rng.permutation(dims):
            V = enc.from_unit(U)
            alts = _alternatives(enc, levels, j, V, rng)
            L = alts.shape[1]
            Va = np.repeat(V, L, axis=0)
            Va[:, j] = alts.ravel()
            Ua = enc.to_unit(Va)
            sa = score(Ua).reshape(len(U), L)
            sa = np.where(np.isfinite(sa), sa, -np.inf)
            best = sa.argmax(axis=1)
            better = sa[np.arange(len(U)), best] > s + 1e-12
            if better.any():
                improved = True
                U[better] = Ua.reshape(len(U), L, -1)[better, best[better]]
                s[better] = sa[better, best[better]]
        if not improved:
            break
    return U, s


def _exhaustive_categoricals(score: Callable[[np.ndarray], np.ndarray], enc: SpaceEncoder,
                             u: np.ndarray, s: float) -> tuple[np.ndarray, float]:
    cat = enc.categorical_idx
    if len(cat) < 2 or int(np.prod(enc.n_choices[cat])) > _MAX_PRODUCT:
        return u, s
    grids = np.meshgrid(*[np.arange(enc.n_choices[j]) for j in cat], indexing="ij")
    combos = np.stack([g.ravel() for g in grids], axis=1).astype(float)
    U = np.repeat(u[None, :], len(combos), axis=0)
    U[:, cat] = combos
    sc = score(U)
    i = int(np.nanargmax(np.where(np.isfinite(sc), sc, -np.inf)))
    if sc[i] > s:
        return U[i], float(sc[i])
    return u, s


def optimize_acquisition(
    score: Callable[[np.ndarray], np.ndarray],
    enc: SpaceEncoder,
    rng: np.random.Generator,
    centers: np.ndarray,
    n_candidates: int = 1024,
    n_starts: int = 4,
    maxiter: int = 40,
) -> tuple[np.ndarray, float]:
    """Maximise ``score`` (rows of unit coordinates -> values); return (best row, value)."""
    levels = _levels(enc)
    cand = np.concatenate(
        [random_points(enc, n_candidates, rng), local_points(enc, centers, 32, rng)]
    )
    sc = score(cand)
    sc = np.where(np.isfinite(sc), sc, -np.inf)
    order = np.argsort(-sc, kind="stable")
    # Distinct starts.
    _, first = np.unique(np.round(cand[order], 9), axis=0, return_index=True)
    starts = order[np.sort(first)[:n_starts]]
    U, s = cand[starts].copy(), sc[starts].copy()
    cont = enc.numeric & (~enc.is_discrete | (levels > _MAX_EXHAUSTIVE_LEVELS))
    if cont.any() and maxiter > 0:
        U_opt = snap(enc, _lbfgs(score, U, cont, maxiter))
        s_opt = score(U_opt)
        take = np.isfinite(s_opt) & (s_opt > s)
        U[take], s[take] = U_opt[take], s_opt[take]
    if (enc.is_categorical | enc.is_discrete).any():
        U, s = _sweep(score, enc, U, s, levels, rng)
    i = int(np.argmax(s))
    return _exhaustive_categoricals(score, enc, U[i].copy(), float(s[i]))
