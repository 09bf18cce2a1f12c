"""Mean decrease in impurity: the random forest's own feature importances, summed over
the one-hot columns of each categorical parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


class MeanDecreaseImpurityImportanceEvaluator(BaseImportanceEvaluator):
    """Importances as a random forest's mean decrease in impurity (scikit-learn's
    ``feature_importances_``), per parameter. Needs the `importance` extra (scikit-learn).
    Same arguments as Optuna's."""

    def __init__(self, *, n_trees: int = 64, max_depth: int = 64, seed: int | None = None):
        if int(n_trees) < 1 or int(max_depth) < 1:
            raise ValueError(
                f"MeanDecreaseImpurityImportanceEvaluator: n_trees={n_trees} and "
                f"max_depth={max_depth} must both be >= 1."
            )
        self.n_trees = int(n_trees)
        self.max_depth = int(max_depth)
        self.seed = seed

    def evaluate(
        self,
        study: Study,
        params: list[str] | None = None,
        *,
        target: Target | None = None,
    ) -> dict[str, float]:
        """Importances of ``params`` (default: the parameters all trials share)."""
        require_target_if_multi(study, target, "MeanDecreaseImpurityImportanceEvaluator")
        dists = fixed_space_distributions(study, params)
        if not dists:
            return {}
        names = list(dists)
        trials = usable_trials(study, names, target)
        if len(trials) <= 1:
            return {k: 0.0 for k in names}
        enc = Encoding(dists)
        forest = sklearn_forest(
            self.n_trees, self.max_depth, self.seed, "MeanDecreaseImpurityImportanceEvaluator"
        )
        forest.fit(enc.transform(trials), target_values(trials, target))  # type: ignore[attr-defined]
        per_param = np.zeros(len(names))
        np.add.at(per_param, enc.column_to_param, forest.feature_importances_)  # type: ignore[attr-defined]
        return sort_by_importance(dict(zip(names, per_param.tolist())))
