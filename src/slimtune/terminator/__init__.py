"""``optuna.terminator`` (its submodules too, under the same names): stop a study when
the room left for improvement is smaller than the noise of the objective (Makarova et al.,
"Automatic termination for hyperparameter optimization", AutoML 2022).

A :class:`Terminator` compares two numbers after each trial: an *improvement* evaluator's
estimate of how much better the best value could still get, and an *error* evaluator's
estimate of the objective's statistical error. When the first is below the second, more
trials cannot be told apart from noise, and :class:`TerminatorCallback` stops the study.

* :class:`RegretBoundEvaluator`: a high-probability upper bound on the regret of the best
  trial, from a Gaussian process (slimtune's GP, :mod:`slimtune.samplers.gp`) fitted to the
  best trials: ``min over observed x of UCB(x) - min over the space of LCB(x)``.
* :class:`BestValueStagnationEvaluator`: trials left before ``max_stagnation_trials``
  trials without a new best (pair with ``StaticErrorEvaluator(0)``, the default for it).
* :class:`CrossValidationErrorEvaluator`: the standard error of the best trial's k-fold
  scores (reported with :func:`report_cross_validation_scores`), with the
  Nadeau-Bengio correction for overlapping training folds.
* :class:`StaticErrorEvaluator`, :class:`MedianErrorEvaluator`: a constant threshold; a
  fraction of the median improvement of the first trials.
* ``EMMREvaluator`` is not provided (it raises, naming the evaluators above).
"""

from slimtune.terminator.callback import TerminatorCallback
from slimtune.terminator.erroreval import (
    BaseErrorEvaluator,
    CrossValidationErrorEvaluator,
    StaticErrorEvaluator,
    report_cross_validation_scores,
)
from slimtune.terminator.improvement.emmr import EMMREvaluator
from slimtune.terminator.improvement.evaluator import (
    BaseImprovementEvaluator,
    BestValueStagnationEvaluator,
    RegretBoundEvaluator,
)
from slimtune.terminator.median_erroreval import MedianErrorEvaluator
from slimtune.terminator.terminator import BaseTerminator, Terminator

__all__ = [
    "BaseErrorEvaluator",
    "BaseImprovementEvaluator",
    "BaseTerminator",
    "BestValueStagnationEvaluator",
    "CrossValidationErrorEvaluator",
    "EMMREvaluator",
    "MedianErrorEvaluator",
    "RegretBoundEvaluator",
    "StaticErrorEvaluator",
    "Terminator",
    "TerminatorCallback",
    "report_cross_validation_scores",
]
