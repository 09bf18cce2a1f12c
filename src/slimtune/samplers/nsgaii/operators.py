"""Crossover and mutation operators of ``NSGAIISampler`` (Optuna's names and signatures).

Operators work on the numeric parameters in the unit cube of
:class:`~slimtune.space.SpaceEncoder` (log parameters on the log scale), so
``search_space_bounds`` is ``[[0, 1], ...]``; categorical parameters are swapped between
two parents instead. ``rng`` is a ``numpy.random.RandomState``, as in Optuna, so that a
user's own operator written for Optuna runs unchanged.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "BaseCrossover",
    "UniformCrossover",
    "BLXAlphaCrossover",
    "SBXCrossover",
    "SPXCrossover",
    "UNDXCrossover",
    "BaseMutation",
    "PolynomialMutation",
]


class BaseCrossover(abc.ABC):
    """A crossover: ``n_parents`` parent vectors -> one child vector."""

    @property
    @abc.abstractmethod
    def n_parents(self) -> int: ...

    @abc.abstractmethod
    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        """``parents_params`` (n_parents, d) -> the child (d,)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class UniformCrossover(BaseCrossover):
    """Each gene from the second parent with probability ``swapping_prob``."""

    def __init__(self, swapping_prob: float = 0.5) -> None:
        if not 0.0 <= swapping_prob <= 1.0:
            raise ValueError(f"swapping_prob must be in [0, 1], got {swapping_prob!r}.")
        self._swapping_prob = float(swapping_prob)

    @property
    def n_parents(self) -> int:
        return 2

    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        swap = rng.rand(parents_params.shape[1]) < self._swapping_prob
        return np.where(swap, parents_params[1], parents_params[0])


class BLXAlphaCrossover(BaseCrossover):
    """Uniform in the parents' box widened by ``alpha`` times its width on each side
    (Eshelman & Schaffer 1993)."""

    def __init__(self, alpha: float = 0.5) -> None:
        if not alpha >= 0.0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}.")
        self._alpha = float(alpha)

    @property
    def n_parents(self) -> int:
        return 2

    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        lo, hi = parents_params.min(axis=0), parents_params.max(axis=0)
        width = hi - lo
        return rng.uniform(lo - self._alpha * width, hi + self._alpha * width)


class SBXCrossover(BaseCrossover):
    """Simulated binary crossover (Deb & Agrawal 1995), bounded form.

    Args:
        eta: distribution index; larger keeps children closer to the parents
            (``None``: 2 for one objective, 20 for several, as in Optuna).
        uniform_crossover_prob: probability that a gene is crossed at all (else it is
            the first parent's).
        use_child_gene_prob: probability of taking the first of the two children's gene.
    """

    def __init__(
        self,
        eta: float | None = None,
        uniform_crossover_prob: float = 0.5,
        use_child_gene_prob: float = 0.5,
    ) -> None:
        if eta is not None and not eta >= 0:
            raise ValueError(f"eta must be >= 0 or None, got {eta!r}.")
        for name, p in (("uniform_crossover_prob", uniform_crossover_prob),
                        ("use_child_gene_prob", use_child_gene_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p!r}.")
        self._eta = eta
        self._uniform_crossover_prob = float(uniform_crossover_prob)
        self._use_child_gene_prob = float(use_child_gene_prob)

    @property
    def n_parents(self) -> int:
        return 2

    def children(
        self, p0: np.ndarray, p1: np.ndarray, rng: np.random.RandomState, study: Study,
        bounds: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        eta = self._eta if self._eta is not None else (2.0 if len(study.directions) == 1 else 20.0)
        lo, hi = bounds[:, 0], bounds[:, 1]
        x1, x2 = np.minimum(p0, p1), np.maximum(p0, p1)
        gap = np.maximum(x2 - x1, 1e-14)
        u = rng.rand(len(p0))

        def beta_q(beta: np.ndarray) -> np.ndarray:
            alpha = 2.0 - np.power(beta, -(eta + 1.0))
            return np.where(
                u <= 1.0 / alpha,
                np.power(u * alpha, 1.0 / (eta + 1.0)),
                np.power(1.0 / np.maximum(2.0 - u * alpha, 1e-14), 1.0 / (eta + 1.0)),
            )

        b1 = 1.0 + 2.0 * (x1 - lo) / gap
        b2 = 1.0 + 2.0 * (hi - x2) / gap
        c1 = 0.5 * ((x1 + x2) - beta_q(b1) * gap)
        c2 = 0.5 * ((x1 + x2) + beta_q(b2) * gap)
        return np.clip(c1, lo, hi), np.clip(c2, lo, hi)

    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        p0, p1 = parents_params[0], parents_params[1]
        c1, c2 = self.children(p0, p1, rng, study, search_space_bounds)
        pick = np.where(rng.rand(len(p0)) < self._use_child_gene_prob, c1, c2)
        crossed = rng.rand(len(p0)) < self._uniform_crossover_prob
        return np.where(crossed, pick, p0)


class SPXCrossover(BaseCrossover):
    """Simplex crossover (Tsutsui et al. 1999): three parents, the simplex they span
    expanded by ``epsilon`` (``None``: ``sqrt(d + 2)``) around its centre."""

    def __init__(self, epsilon: float | None = None) -> None:
        if epsilon is not None and not epsilon > 0:
            raise ValueError(f"epsilon must be > 0 or None, got {epsilon!r}.")
        self._epsilon = epsilon

    @property
    def n_parents(self) -> int:
        return 3

    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        n = len(parents_params)
        d = parents_params.shape[1]
        eps = self._epsilon if self._epsilon is not None else math.sqrt(d + 2)
        g = parents_params.mean(axis=0)
        xs = g + eps * (parents_params - g)
        r = [rng.rand() ** (1.0 / (k + 1)) for k in range(n - 1)]
        c = np.zeros(d)
        for k in range(1, n):
            c = r[k - 1] * (xs[k - 1] - xs[k] + c)
        return xs[-1] + c


class UNDXCrossover(BaseCrossover):
    """Unimodal normal distribution crossover (Ono et al. 1997): a Gaussian around the
    midpoint of two parents, along their axis (``sigma_xi``) and across it, scaled by the
    third parent's distance (``sigma_eta``, ``None``: ``0.35 / sqrt(d)``)."""

    def __init__(self, sigma_xi: float = 0.5, sigma_eta: float | None = None) -> None:
        if not sigma_xi > 0 or (sigma_eta is not None and not sigma_eta > 0):
            raise ValueError("sigma_xi and sigma_eta must be > 0.")
        self._sigma_xi = float(sigma_xi)
        self._sigma_eta = sigma_eta

    @property
    def n_parents(self) -> int:
        return 3

    def crossover(
        self,
        parents_params: np.ndarray,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> np.ndarray:
        p0, p1, p2 = parents_params[0], parents_params[1], parents_params[2]
        d = len(p0)
        eta = self._sigma_eta if self._sigma_eta is not None else 0.35 / math.sqrt(d)
        mid = 0.5 * (p0 + p1)
        axis = p1 - p0
        length = float(np.linalg.norm(axis))
        if length < 1e-14 or d == 1:
            return mid + self._sigma_xi * rng.randn(d) * max(length, 1e-3)
        e = axis / length
        v = p2 - p0
        dist = float(np.linalg.norm(v - (v @ e) * e))
        z = rng.randn(d) * eta * dist
        z -= (z @ e) * e  # the component across the axis
        return mid + rng.randn() * self._sigma_xi * axis + z


class BaseMutation(abc.ABC):
    """A mutation of one numeric gene (unit coordinates)."""

    @abc.abstractmethod
    def mutation(
        self,
        param: float,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> float:
        """The mutated value of ``param`` within ``search_space_bounds`` (shape (2,))."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PolynomialMutation(BaseMutation):
    """Polynomial mutation (Deb & Goyal 1996): a perturbation whose spread shrinks as
    ``eta`` grows, bounded by the range."""

    def __init__(self, eta: float = 20.0) -> None:
        if not eta >= 0:
            raise ValueError(f"eta must be >= 0, got {eta!r}.")
        self._eta = float(eta)

    def mutation(
        self,
        param: float,
        rng: np.random.RandomState,
        study: Study,
        search_space_bounds: np.ndarray,
    ) -> float:
        lo, hi = float(search_space_bounds[0]), float(search_space_bounds[1])
        span = hi - lo
        if span <= 0:
            return param
        d1, d2 = (param - lo) / span, (hi - param) / span
        u = rng.rand()
        m = 1.0 / (self._eta + 1.0)
        if u < 0.5:
            xy = 1.0 - d1
            val = 2.0 * u + (1.0 - 2.0 * u) * xy ** (self._eta + 1.0)
            delta = val**m - 1.0
        else:
            xy = 1.0 - d2
            val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy ** (self._eta + 1.0)
            delta = 1.0 - val**m
        return float(min(max(param + delta * span, lo), hi))


