"""fANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014) on a random forest.

Each tree of the forest is a piecewise-constant function: its leaves are boxes of the
search space. Under the uniform measure of the space (log-uniform for log parameters; each
choice of a categorical equally likely) the tree's variance and the variance of its
marginal over one parameter are exact finite sums over those boxes, so no sampling is
involved. The importance of a parameter is, per tree, the share of the tree's variance that
the parameter's main effect explains, averaged over the trees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.importance.base import (
    BaseImportanceEvaluator,
    Encoding,
    Target,
    fixed_space_distributions,
    require_target_if_multi,
    sklearn_forest,
    sort_by_importance,
    target_values,
    usable_trials,
)

if TYPE_CHECKING:
    from slimtune.study import Study


def leaf_boxes(
    children_left: np.ndarray,
    children_right: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    n_columns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box ``(lower, upper]`` of every leaf of a binary tree given as arrays in the
    layout of scikit-learn's ``tree_`` (a child has a larger index than its parent; leaves
    have ``children_left == -1``; ``x[feature] <= threshold`` goes left).
    Returns ``(leaf_ids, lower, upper)`` with bounds of shape (n_leaves, n_columns)."""
    n = len(children_left)
    lower = np.full((n, n_columns), -np.inf)
    upper = np.full((n, n_columns), np.inf)
    internal = np.flatnonzero(children_left >= 0)
    # Level by level from the root: a node's box is its parent's, cut at the split.
    parent = np.full(n, -1)
    parent[children_left[internal]] = internal
    parent[children_right[internal]] = internal
    depth = np.zeros(n, dtype=int)
    for i in range(1, n):  # parents come first in this layout
        depth[i] = depth[parent[i]] + 1
    for d in range(1, int(depth.max(initial=0)) + 1):
        nodes = np.flatnonzero(depth == d)
        p = parent[nodes]
        lower[nodes] = lower[p]
        upper[nodes] = upper[p]
        f = feature[p]
        t = threshold[p]
        left = children_left[p] == nodes
        upper[nodes[left], f[left]] = np.minimum(upper[nodes[left], f[left]], t[left])
        lower[nodes[~left], f[~left]] = np.maximum(lower[nodes[~left], f[~left]], t[~left])
    leaves = np.flatnonzero(children_left < 0)
    return leaves, lower[leaves], upper[leaves]


class TreeDecomposition:
    """The functional ANOVA of one piecewise-constant tree over a product domain.

    ``groups[j]`` are the columns of parameter ``j``; a numeric parameter's column ranges
    over ``bounds`` uniformly, a categorical parameter's columns are one-hot (its domain is
    its choices, each of mass ``1/k``)."""

    def __init__(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        values: np.ndarray,
        bounds: np.ndarray,
        groups: list[np.ndarray],
        categorical: list[bool],
    ) -> None:
        self.values = np.asarray(values, dtype=float)
        self.groups = groups
        self.categorical = categorical
        n_leaves = len(self.values)
        # fraction[l, j]: the share of parameter j's domain inside leaf l;
        # cells[j]: the cells of j's domain no split of the tree cuts, with their masses
        # and which leaves contain each (covers[j], shape (n_leaves, n_cells)).
        self.fraction = np.ones((n_leaves, len(groups)))
        self.cell_mass: list[np.ndarray] = []
        self.covers: list[np.ndarray] = []
        for j, cols in enumerate(groups):
            lo, up = lower[:, cols], upper[:, cols]
            if categorical[j]:
                zero_in = (lo < 0.0) & (up >= 0.0)
                one_in = (lo < 1.0) & (up >= 1.0)
                k = len(cols)
                others_zero = zero_in.sum(axis=1, keepdims=True) - zero_in == k - 1
                member = one_in & others_zero  # choice c lies in the leaf
                self.fraction[:, j] = member.mean(axis=1)
                self.cell_mass.append(np.full(k, 1.0 / k))
                self.covers.append(member)
            else:
                b_lo, b_hi = bounds[cols[0]]
                a = np.clip(lo[:, 0], b_lo, b_hi)
                b = np.clip(up[:, 0], b_lo, b_hi)
                width = b_hi - b_lo
                self.fraction[:, j] = (b - a) / width
                edges = np.unique(np.concatenate([[b_lo, b_hi], a, b]))
                c_lo, c_hi = edges[:-1], edges[1:]
                self.cell_mass.append((c_hi - c_lo) / width)
                self.covers.append((a[:, None] <= c_lo[None, :]) & (c_hi[None, :] <= b[:, None]))
        self.mass = self.fraction.prod(axis=1)
        self.mean = float(self.mass @ self.values)
        self.variance = float(self.mass @ (self.values - self.mean) ** 2)

    def marginal(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """The marginal of parameter ``j`` (the tree averaged over every other parameter)
        on each cell of j's domain, and the cells' masses."""
        others = np.delete(self.fraction, j, axis=1).prod(axis=1)
        return (self.values * others) @ self.covers[j], self.cell_mass[j]

    def main_effect_variance(self, j: int) -> float:
        """Variance of parameter j's main effect (its marginal minus the mean)."""
        m, w = self.marginal(j)
        return float(max(w @ (m - self.mean) ** 2, 0.0))


def forest_decompositions(forest: Any, enc: Encoding) -> list[TreeDecomposition]:
    """One :class:`TreeDecomposition` per tree of a fitted scikit-learn forest."""
    out = []
    for est in forest.estimators_:
        tr = est.tree_
        leaves, lo, up = leaf_boxes(
            tr.children_left, tr.children_right, tr.feature, tr.threshold, len(enc.bounds)
        )
        values = tr.value[leaves, 0, 0]
        out.append(TreeDecomposition(lo, up, values, enc.bounds, enc.groups, enc.categorical))
    return out


class FanovaImportanceEvaluator(BaseImportanceEvaluator):
    """fANOVA importances (Hutter et al., 2014) from a random forest fitted on the complete
    trials: per tree, the share of variance explained by each parameter's main effect,
    averaged over the trees. Needs scikit-learn (the `importance` extra) for the forest;
    the decomposition is our own exact computation over the trees' leaf boxes.

    Same arguments as Optuna's. Differences: log parameters are measured in log space
    (Optuna measures them on the raw scale), and a categorical parameter's domain is its
    choices, not the unit cube of its one-hot columns.
    """

    def __init__(self, *, n_trees: int = 64, max_depth: int = 64, seed: int | None = None):
        if int(n_trees) < 1 or int(max_depth) < 1:
            raise ValueError(
                f"FanovaImportanceEvaluator: n_trees={n_trees} and max_depth={max_depth} "
                "must both be >= 1."
            )
        self.n_trees = int(n_trees)
        self.max_depth = int(max_depth)
        self.seed = seed
        self.std_: dict[str, float] = {}

    def evaluate(
        self,
        study: Study,
        params: list[str] | None = None,
        *,
        target: Target | None = None,
    ) -> dict[str, float]:
        """Importances of ``params`` (default: the parameters all trials share)."""
        require_target_if_multi(study, target, "FanovaImportanceEvaluator")
        dists = fixed_space_distributions(study, params)
        names = list(dists)
        varying = {k: d for k, d in dists.items() if not d.single()}
        result = {k: 0.0 for k in names}
        trials = usable_trials(study, names, target)
        if not varying or len(trials) <= 1:
            return sort_by_importance(result)
        enc = Encoding(varying)
        X = enc.transform(trials)
        y = target_values(trials, target)
        forest = sklearn_forest(
            self.n_trees, self.max_depth, self.seed, "FanovaImportanceEvaluator"
        )
        forest.fit(X, y)  # type: ignore[attr-defined]
        trees = [t for t in forest_decompositions(forest, enc) if t.variance > 0.0]
        if not trees:
            raise RuntimeError(
                "FanovaImportanceEvaluator: every tree is constant (the target does not "
                "vary over the trials); importances are undefined."
            )
        shares = np.array(
            [[t.main_effect_variance(j) / t.variance for j in range(len(enc.names))] for t in trees]
        )
        self.std_ = dict(zip(enc.names, shares.std(axis=0).tolist()))
        result.update(dict(zip(enc.names, shares.mean(axis=0).tolist())))
        return sort_by_importance(result)
