"""Which hyperparameters mattered: Optuna's ``optuna.importance`` under the same names.

>>> import slimtune as st
>>> from slimtune.importance import get_param_importances
>>> st.logging.set_verbosity(st.logging.WARNING)
>>> study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
>>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1),
...                n_trials=60)
>>> imp = get_param_importances(study)
>>> list(imp)[0], round(sum(imp.values()), 6)
('x', 1.0)
>>> st.logging.set_verbosity(st.logging.INFO)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slimtune.importance.base import BaseImportanceEvaluator, Target
from slimtune.importance.fanova import FanovaImportanceEvaluator
from slimtune.importance.mdi import MeanDecreaseImpurityImportanceEvaluator
from slimtune.importance.ped_anova import PedAnovaImportanceEvaluator

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "BaseImportanceEvaluator",
    "FanovaImportanceEvaluator",
    "MeanDecreaseImpurityImportanceEvaluator",
    "PedAnovaImportanceEvaluator",
    "get_param_importances",
]


def get_param_importances(
    study: Study,
    *,
    evaluator: BaseImportanceEvaluator | None = None,
    params: list[str] | None = None,
    target: Target | None = None,
    normalize: bool = True,
) -> dict[str, float]:
    """Importance of each parameter from the study's complete trials, largest first.

    The default evaluator is :class:`PedAnovaImportanceEvaluator` (as in Optuna 5), which
    needs no extra and covers conditional parameters; the forest-based evaluators assess
    the parameters all complete trials share. With ``normalize`` (the default) the values
    sum to 1 (equal shares when they are all 0)."""
    if evaluator is None:
        evaluator = PedAnovaImportanceEvaluator()
    if not isinstance(evaluator, BaseImportanceEvaluator):
        raise TypeError(
            f"evaluator must be a slimtune.importance evaluator (a BaseImportanceEvaluator), "
            f"got {type(evaluator).__name__}."
        )
    res = evaluator.evaluate(study, params=params, target=target)
    if not normalize:
        return res
    s = sum(res.values())
    if s == 0.0:
        return {k: 1.0 / len(res) for k in res}
    return {k: v / s for k, v in res.items()}
